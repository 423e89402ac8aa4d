"""Median plan time: the seed layout and a 128-partition layout, in-process.

Targets: the seed under 1 ms, 128 partitions under 2 ms (CPU time shown too,
so other load on the machine shows in the wall time only). For comparison,
in the same run: `systemd-repart --dry-run` on a 4-partition definition (the
nearest tool a user would otherwise ask for a table preview), when it is
installed; that is a whole process, so bench/speed.py compares it with
`partwright preview` as a whole process too.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from engine.layout.example import EXAMPLE_LAYOUT  # noqa: E402
from engine.layout.model import Layout  # noqa: E402
from engine.plan.planner import plan  # noqa: E402

SEED_TARGET_MS = 1.0
BIG_TARGET_MS = 2.0


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def cpu_ms(fn: Callable[[], object], repeat: int) -> float:
    """Mean CPU time of this process per call."""
    t0 = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - t0) / repeat * 1000


def big_layout() -> Layout:
    """The seed with home cloned 121 times: 9 - 2 + 121 = 128 partitions."""
    big = EXAMPLE_LAYOUT.with_partition("home", clone=121)
    result = plan(big)
    assert len(result.entries) == 128 and not result.errors
    return big


def plan_times() -> dict[str, float]:
    """Median wall and mean CPU ms of planning the seed and 128 partitions."""
    big = big_layout()
    plan(EXAMPLE_LAYOUT)
    return {"seed": median_ms(lambda: plan(EXAMPLE_LAYOUT), 200),
            "seed_cpu": cpu_ms(lambda: plan(EXAMPLE_LAYOUT), 200),
            "big": median_ms(lambda: plan(big), 100),
            "big_cpu": cpu_ms(lambda: plan(big), 100)}


def repart_command(folder: str) -> list[str]:
    """`systemd-repart --dry-run` over 4 definitions (ESP, two 300 MiB, a 2 GiB
    root) and an empty 100 GiB sparse disk, both made in `folder`."""
    d = os.path.join(folder, "repart.d")
    os.makedirs(d, exist_ok=True)
    for i, (t, size) in enumerate((("esp", "20M"), ("linux-generic", "300M"),
                                   ("linux-generic", "300M"), ("root", "2G"))):
        with open(os.path.join(d, f"{i:02d}.conf"), "w") as f:
            f.write(f"[Partition]\nType={t}\nSizeMinBytes={size}\nSizeMaxBytes={size}\n")
    img = os.path.join(folder, "disk.img")
    with open(img, "wb") as f:
        f.truncate(100 << 30)
    return ["systemd-repart", f"--definitions={d}", "--empty=allow", "--dry-run=yes",
            "--no-pager", "--json=short", img]


def repart_ms() -> float | None:
    if not shutil.which("systemd-repart"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        cmd = repart_command(tmp)
        return median_ms(lambda: subprocess.run(cmd, capture_output=True, check=False), 5)


def main() -> None:
    t = plan_times()
    print(f"plan seed layout        median {t['seed']:8.3f} ms  (CPU {t['seed_cpu']:.3f} ms;"
          f" target < {SEED_TARGET_MS:g} ms)")
    print(f"plan 128 partitions     median {t['big']:8.3f} ms  (CPU {t['big_cpu']:.3f} ms;"
          f" target < {BIG_TARGET_MS:g} ms)")
    rep = repart_ms()
    if rep is not None:
        print(f"systemd-repart dry run  median {rep:8.3f} ms  (4 partitions, whole process)")
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
