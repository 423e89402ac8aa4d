"""Median plan time: the seed layout and a 128-partition layout.

Targets: under 1 ms and under 10 ms. For comparison, in the same run:
`systemd-repart --dry-run` on a 4-partition definition (the nearest tool a
user would otherwise ask for a table preview), when it is installed.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from engine.layout.example import EXAMPLE_LAYOUT  # noqa: E402
from engine.plan.planner import plan  # noqa: E402


def median_ms(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def repart_ms() -> float | None:
    if not shutil.which("systemd-repart"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        d = os.path.join(tmp, "repart.d")
        os.mkdir(d)
        for i, (t, size) in enumerate((("esp", "20M"), ("linux-generic", "300M"),
                                       ("linux-generic", "300M"), ("root", "2G"))):
            with open(os.path.join(d, f"{i:02d}.conf"), "w") as f:
                f.write(f"[Partition]\nType={t}\nSizeMinBytes={size}\nSizeMaxBytes={size}\n")
        img = os.path.join(tmp, "disk.img")
        with open(img, "wb") as f:
            f.truncate(100 << 30)
        cmd = ["systemd-repart", f"--definitions={d}", "--empty=allow", "--dry-run=yes",
               "--no-pager", "--json=short", img]
        return median_ms(lambda: subprocess.run(cmd, capture_output=True, check=False), 5)


def main() -> None:
    seed = median_ms(lambda: plan(EXAMPLE_LAYOUT), 200)
    big = EXAMPLE_LAYOUT.with_partition("home", clone=121)  # 9 - 2 + 121 = 128 partitions
    assert len(plan(big).entries) == 128 and not plan(big).errors
    large = median_ms(lambda: plan(big), 50)
    print(f"plan seed layout        median {seed:8.3f} ms  (target < 1 ms)")
    print(f"plan 128 partitions     median {large:8.3f} ms  (target < 10 ms)")
    rep = repart_ms()
    if rep is not None:
        print(f"systemd-repart dry run  median {rep:8.3f} ms  (4 partitions)")
        print(f"ratio repart / partwright (seed): {rep / seed:8.1f}x")


if __name__ == "__main__":
    main()
