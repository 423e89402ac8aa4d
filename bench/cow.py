"""COW benchmark: the `partwright cow` command line against uml_moo, cp and
qemu-img, whole process against whole process, both durable where one is.

Data: a 1 GiB pseudo-random backing file; ~8 MiB changed: 1024 random 4 KiB
writes (they touch nearly every 4 MiB chunk), one 4 MiB run and one 4 KiB run
of zeros. Page cache warm. partwright fsyncs what it writes; the other tools
get `sync FILE` after them. Each row runs the commands in turn (a, b, a, b
...) so a noisy moment on a shared machine hits both, and prints the median
wall time, the CPU time (user+sys of the processes), the ratio (their time /
ours: above 1 means partwright is faster) and partwright's peak RSS.

  merge     cow merge COW -o NEW       vs uml_moo COW NEW + sync; cp --sparse=always + sync
  inplace   cow merge --in-place COW   vs uml_moo -d -b BASE COW + sync BASE
  rebase    cow rebase BASE IMG        vs qemu-img create -b IMG + rebase -b BASE + sync;
            with no record of BASE anywhere, and with BASE already recorded
  memory    peak RSS of cow merge and cow rebase on 1 GiB and 16 GiB sparse images

Each row is a function (row_merge, row_in_place, row_rebase, row_memory) that
returns its numbers, so other benchmarks can call them.
Usage: python bench/cow.py [--repeat N] [--dir DIR] [--only merge,inplace,rebase,memory] [-v]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.cow.format import header_for, mark_sectors, set_sectors  # noqa: E402

VERBOSE = False
GIB = 1 << 30
MIB = 1 << 20
CLI = (sys.executable, "-m", "partwright", "cow")


@dataclass(frozen=True)
class Run:
    wall: float  # seconds
    cpu: float  # user + sys of the processes, seconds
    rss: int  # peak RSS of the largest process, KiB


@dataclass(frozen=True)
class Row:
    name: str
    ours: Run
    theirs: dict[str, Run]
    load: tuple[float, float]  # 1-minute load average before and after


def run(cmd: Sequence[str | Path]) -> Run:
    """One process: wall time, user+sys and peak RSS (wait4's rusage)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed: {err.decode(errors='replace')}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)


def chain(*cmds: Sequence[str | Path]) -> Run:
    """Commands one after the other (a tool, then `sync FILE`)."""
    runs = [run(c) for c in cmds]
    return Run(sum(r.wall for r in runs), sum(r.cpu for r in runs), max(r.rss for r in runs))


def median(runs: list[Run]) -> Run:
    return Run(statistics.median(r.wall for r in runs), statistics.median(r.cpu for r in runs),
               max(r.rss for r in runs))


def interleaved(fns: dict[str, Callable[[], Run]], repeat: int,
                setup: Callable[[], object] | None = None,
                cleanup: Callable[[], object] | None = None) -> dict[str, Run]:
    """Median of each command, run in turn; setup and cleanup are not timed,
    and what they wrote is on disk (os.sync) before the clock starts."""
    times: dict[str, list[Run]] = {k: [] for k in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            if setup:
                setup()
            os.sync()
            times[name].append(fn())
            if cleanup:
                cleanup()
    if VERBOSE:
        for k, v in times.items():
            print(f"    {k:<10} runs: {' '.join(f'{r.wall:.3f}' for r in v)}")
    return {k: median(v) for k, v in times.items()}


def rm(*paths: Path) -> None:
    for p in paths:
        for q in (p, Path(f"{p}.backing.json")):
            if q.exists():
                q.unlink()


def cli(*args: str | Path) -> list[str | Path]:
    return [*CLI, *args]


def make_data(d: Path) -> tuple[Path, Path, Path]:
    """base.img (1 GiB random), c.cow (a v3 COW with ~8 MiB of sector writes,
    recorded by the CLI), host.img (base with the same changes, flat)."""
    base, cow, host = d / "base.img", d / "c.cow", d / "host.img"
    r = random.Random(42)
    with open(base, "wb") as f:
        for _ in range(GIB // (4 * MIB)):  # small pieces: this process stays small (see hwm)
            f.write(r.randbytes(4 * MIB))
    run(cli("create", "--backing", base, cow))
    from engine.cow.format import read_header

    h = read_header(cow)
    changes: list[tuple[int, bytes]] = []
    for _ in range(1024):
        changes.append((r.randrange(0, GIB // 4096) * 4096, r.randbytes(4096)))
    changes.append((r.randrange(0, (GIB - 4 * MIB) // 4096) * 4096, r.randbytes(4 * MIB)))
    fd = os.open(cow, os.O_RDWR)
    try:
        for off, data in changes:
            set_sectors(fd, h, off // 512, data)
        zero_at = r.randrange(0, GIB // 4096) * 4096
        mark_sectors(fd, h, zero_at // 512, 8)  # a 4 KiB run of zeros (discard)
        os.fsync(fd)
    finally:
        os.close(fd)
    shutil.copyfile(base, host)
    with open(host, "r+b") as f:
        for off, data in changes:
            f.seek(off)
            f.write(data)
        f.seek(zero_at)
        f.write(bytes(4096))
    os.sync()
    return base, cow, host


def show(row: Row, labels: dict[str, str]) -> None:
    o = row.ours
    print(f"{row.name}: load {row.load[0]:.2f} -> {row.load[1]:.2f}")
    print(f"  partwright {o.wall:7.3f} s (CPU {o.cpu:.3f} s, peak RSS {o.rss / 1024:.1f} MiB)")
    for key, label in labels.items():
        t = row.theirs[key]
        ratio = t.wall / o.wall if o.wall else float("inf")
        print(f"  {label:<38} {t.wall:7.3f} s (CPU {t.cpu:.3f} s)   ratio {ratio:5.2f}x")


def row_merge(d: Path, base: Path, cow: Path, host: Path, n: int) -> Row:
    """cow merge to a new file (fsynced) vs uml_moo + sync and cp + sync."""
    out = d / "out.img"
    load0 = os.getloadavg()[0]
    fast = interleaved({
        "ours": lambda: run(cli("merge", cow, "-o", out)),
        "cp_s": lambda: chain(("cp", "--sparse=always", base, out), ("sync", out)),
    }, repeat=max(n, 3), cleanup=lambda: rm(out))
    slow = interleaved({
        "moo_s": lambda: chain(("uml_moo", cow, out), ("sync", out)),
    }, repeat=max(1, n - 2), cleanup=lambda: rm(out))
    run(cli("merge", cow, "-o", out))
    run(("uml_moo", cow, d / "moo.img"))
    run(("cmp", out, d / "moo.img"))
    run(("cmp", out, host))
    rm(out, d / "moo.img")
    row = Row("merge to a new file, durable", fast["ours"], {**fast, **slow},
              (load0, os.getloadavg()[0]))
    show(row, {"moo_s": "uml_moo + sync", "cp_s": "cp --sparse=always + sync"})
    print("  outputs cmp-identical to uml_moo's and to the flat host image")
    return row


def row_in_place(d: Path, base: Path, cow: Path, host: Path, n: int) -> Row:
    """cow merge --in-place (the tamper record kept) vs uml_moo -d + sync,
    each into a fresh copy of the base."""
    copy, cow_ip = d / "copy.img", d / "ip.cow"

    def fresh() -> None:
        rm(copy, cow_ip)
        shutil.copy2(base, copy)
        run(cli("create", "--backing", copy, cow_ip))  # the same COW over the copy, recorded
        from engine.cow.format import read_header

        h = read_header(cow_ip)
        with open(cow, "rb") as src, open(cow_ip, "r+b") as dst:
            src.seek(h.bitmap_offset)
            dst.seek(h.bitmap_offset)
            shutil.copyfileobj(src, dst, MIB)

    load0 = os.getloadavg()[0]
    res = interleaved({
        "ours": lambda: run(cli("merge", "--in-place", cow_ip)),
        "moo_s": lambda: chain(("uml_moo", "-d", "-b", copy, cow), ("sync", copy)),
    }, repeat=n, setup=fresh)
    fresh()
    floor = median([run(cli("info", cow_ip)) for _ in range(max(n, 3))])
    run(cli("merge", "--in-place", cow_ip))
    run(("cmp", copy, host))
    run(cli("check", "--full", cow_ip))
    rm(copy, cow_ip)
    row = Row("merge in place, tamper record kept", res["ours"], res,
              (load0, os.getloadavg()[0]))
    show(row, {"moo_s": "uml_moo -d + sync"})
    print(f"  start-up floor: `partwright cow info COW` {floor.wall:.3f} s (CPU {floor.cpu:.3f} s),"
          f" `python -c pass` {python_start().wall:.3f} s")
    print("  changes touch 256 of 256 4 MiB chunks; result cmp-identical to the flat host "
          "image; the record it leaves passes `cow check --full`")
    return row


def row_rebase(d: Path, base: Path, cow: Path, host: Path, n: int) -> tuple[Row, Row]:
    """cow rebase (record + verify) vs qemu-img create + rebase + sync: with
    no record of the base anywhere, and with a current record of it."""
    cows = d / "cows"
    cows.mkdir(exist_ok=True)
    side, hidden = Path(f"{cow}.backing.json"), d / "hidden.json"
    qc = d / "d.qcow2"

    def unrecorded() -> None:  # no current record of the base anywhere: it must be hashed
        if side.exists():
            side.rename(hidden)
        for p in cows.iterdir():
            p.unlink()

    def recorded() -> None:
        if hidden.exists():
            hidden.rename(side)
        for p in cows.iterdir():
            p.unlink()

    def qemu() -> Run:
        r = chain(("qemu-img", "create", "-q", "-f", "qcow2", "-b", host, "-F", "raw", qc),
                  ("qemu-img", "rebase", "-b", base, "-F", "raw", qc), ("sync", qc))
        rm(qc)
        return r

    ours = cli("rebase", base, host, "--out-dir", cows, "--force")
    rows = []
    for label, setup in (("rebase (record + verify), base not recorded", unrecorded),
                         ("rebase, base already recorded", recorded)):
        load0 = os.getloadavg()[0]
        res = interleaved({"ours": lambda: run(ours), "qemu": qemu}, repeat=n, setup=setup)
        row = Row(label, res["ours"], res, (load0, os.getloadavg()[0]))
        show(row, {"qemu": "qemu-img create + rebase + sync"})
        rows.append(row)
    recorded()
    run(ours)
    run(cli("merge", cows / "host.cow", "-o", d / "back.img"))
    run(("cmp", d / "back.img", host))
    rm(d / "back.img")
    run(("qemu-img", "create", "-q", "-f", "qcow2", "-b", host, "-F", "raw", qc))
    run(("qemu-img", "rebase", "-b", base, "-F", "raw", qc))
    ours_alloc = os.stat(cows / "host.cow").st_blocks * 512
    print(f"  COW {ours_alloc / MIB:.1f} MiB allocated (merged back: cmp-identical to the "
          f"image); qcow2 {os.stat(qc).st_blocks * 512 / MIB:.1f} MiB (64 KiB clusters)")
    rm(qc)
    return rows[0], rows[1]


def row_memory(d: Path) -> dict[str, Run]:
    """Peak RSS of whole `cow merge` and `cow rebase` processes on sparse
    1 GiB and 16 GiB images (64 MiB of data, 256 changed 4 KiB blocks)."""
    print("peak memory, whole process (sparse images, 64 MiB of data, 1 MiB changed):")
    found: dict[str, Run] = {}
    for gib in (1, 16):
        size = gib * GIB
        sub = d / f"peak-{gib}"
        sub.mkdir()
        base, cow, host = sub / "pb.img", sub / "pc.cow", sub / "ph.img"
        r = random.Random(gib)
        with open(base, "wb") as f:
            f.truncate(size)
            for k in range(64):
                f.seek(k * (size // 64))
                f.write(r.randbytes(MIB))
        st = os.stat(base)
        raw, h = header_for(3, str(base), int(st.st_mtime), size)
        with open(cow, "wb") as f:
            f.write(raw)
            f.truncate(h.file_len)
        fd = os.open(cow, os.O_RDWR)
        for k in range(0, h.nsectors - 8, h.nsectors // 256):
            set_sectors(fd, h, k, r.randbytes(4096))
        os.close(fd)
        run(("cp", "--sparse=always", base, host))
        with open(host, "r+b") as f:
            for k in range(0, size - 4096, size // 256):
                f.seek(k)
                f.write(r.randbytes(4096))
        for what, cmd in (("merge", cli("merge", cow, "-o", sub / "out.img")),
                          ("rebase", cli("rebase", base, host, "--out-dir", sub / "cows"))):
            res = run(cmd)
            found[f"{what} {gib} GiB"] = res
            print(f"  {what:<6} {gib:>2} GiB: peak RSS {res.rss / 1024:6.1f} MiB, "
                  f"{res.wall:.2f} s (CPU {res.cpu:.2f} s)")
        shutil.rmtree(sub)
    return found


def machine() -> str:
    model = "?"
    with open("/proc/cpuinfo") as f:
        for ln in f:
            if ln.startswith("model name"):
                model = ln.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({model})"


def hwm() -> int:
    """This process's peak RSS in KiB. A child's ru_maxrss counts what it
    held before exec, a copy of this process: so this stays small."""
    with open("/proc/self/status") as f:
        return next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:"))


def python_start() -> Run:
    return median([run((sys.executable, "-c", "pass")) for _ in range(5)])


def main() -> None:
    global VERBOSE
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dir", help="scratch directory (default: a temporary one)")
    ap.add_argument("--only", default="merge,inplace,rebase,memory",
                    help="comma-separated rows to run (default: all)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every run's time")
    args = ap.parse_args()
    VERBOSE = args.verbose
    only = set(args.only.split(","))
    for tool in ("uml_moo", "qemu-img", "cp", "cmp"):
        if not shutil.which(tool):
            sys.exit(f"bench/cow.py needs {tool}")
    d = Path(tempfile.mkdtemp(prefix="cow-bench-", dir=args.dir))
    n = args.repeat
    try:
        t0 = time.perf_counter()
        base, cow, host = make_data(d)
        for p in (base, cow, host):  # warm the page cache for every input
            subprocess.run(["cat", str(p)], stdout=subprocess.DEVNULL, check=True)
        py = python_start()
        print(f"{machine()}, load {os.getloadavg()[0]:.2f}; 1 GiB base, COW with "
              f"{os.stat(cow).st_blocks * 512 / MIB:.1f} MiB allocated; median of {n}; "
              f"`python -c pass` {py.wall * 1000:.0f} ms")
        if "merge" in only:
            row_merge(d, base, cow, host, n)
        if "inplace" in only:
            row_in_place(d, base, cow, host, n)
        if "rebase" in only:
            row_rebase(d, base, cow, host, n)
        if "memory" in only:
            row_memory(d)
        print(f"bench process peak RSS {hwm() / 1024:.1f} MiB (a floor of the RSS figures)")
        print(f"total bench time {time.perf_counter() - t0:.0f} s, load {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
