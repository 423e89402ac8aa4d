"""Every row of the README's speed table in one run.

Whole process against whole process where the alternative is a process, and
both durable where one is (partwright fsyncs what it writes; the other tool
gets `sync FILE`, run and timed after it). Each sample runs the command
under a small `python -I -S` helper that posix_spawns it and reports its
wall time, CPU time (user + sys) and peak RSS from wait4 (a direct child of
this process would carry this process's RSS as its own high-water mark).
partwright and its alternative run in turn (a, b, a, b ...) so that a noisy
moment hits both; medians of --repeat samples.

  start    `partwright preview seed.xml --json` vs `systemd-repart --dry-run`
           (4 partitions); `partwright --help`; `python -c pass` and
           `python -I -S -c pass`, the interpreter's own start, and
           `python -c 'import lxml.etree'`, the floor of a KIWI reader
  cow      bench/cow.py's rows (1 GiB base, ~8 MiB changed touching every 4 MiB
           chunk): `partwright cow merge --in-place` vs `uml_moo -d` + sync;
           `cow rebase` (base not recorded, and recorded) vs `qemu-img create`
           + `rebase` + sync; `cow merge -o` vs `uml_moo` + sync and
           `cp --sparse=always` + sync
  memory   bench/cow.py: peak RSS of `cow rebase` and `cow merge -o` at 1 GiB and
           16 GiB (sparse)
  clone    bench/build.py's clone copy of an empty 2 GiB xfs, a process of its
           own, vs `cp --sparse=always`, both fsynced
  tui      bench/tui.py: `+` to the updated table (in-process; no alternative)
  planner  bench/planner.py: 128 partitions (in-process; no alternative)

Python files are byte-compiled first (an installed partwright has its .pyc
files; PYTHONDONTWRITEBYTECODE, if set, would otherwise make every process
compile the sources), and one `preview` run with bytecode writing on leaves
the compiled dataclass methods (engine/_dataclass_code.py) as any first run
of an installed partwright does. Usage: python bench/speed.py [--repeat N] [--only
start,cow,memory,clone,tui,planner] [--dir DIR]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

BIN = Path(sys.executable).parent
PARTWRIGHT = str(BIN / "partwright") if (BIN / "partwright").exists() else None
SEED = ROOT / "tests" / "data" / "oracle" / "seed.xml"
MIB, GIB = 1 << 20, 1 << 30

# spawns argv[1:] with stdout and stderr to /dev/null; prints wall, cpu, maxrss
HELPER = """
import os, sys, time
fa = [(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
      (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0)]
t0 = time.perf_counter()
pid = os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ, file_actions=fa)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t0
print(wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, os.waitstatus_to_exitcode(status))
"""

Cmd = Sequence[str | Path]
Step = Cmd | Callable[[], object]


def sample(cmd: Cmd) -> tuple[float, float, int]:
    """(wall s, CPU s, peak RSS KiB) of one run of `cmd`, which must succeed."""
    out = subprocess.run([sys.executable, "-I", "-S", "-c", HELPER, *map(str, cmd)],
                         capture_output=True, text=True, check=True).stdout.split()
    if out[3] != "0":
        raise SystemExit(f"bench/speed.py: {' '.join(map(str, cmd))} exited {out[3]}")
    return float(out[0]), float(out[1]), int(out[2])


def run_steps(steps: Sequence[Step]) -> tuple[float, float, int]:
    """A sequence of commands timed one after another (a tool and its sync)."""
    wall = cpu = 0.0
    rss = 0
    for step in steps:
        if callable(step):
            step()
            continue
        w, c, r = sample(step)
        wall, cpu, rss = wall + w, cpu + c, max(rss, r)
    return wall, cpu, rss


def interleaved(cases: dict[str, Sequence[Step]], repeat: int,
                setup: Callable[[], object] | None = None) -> dict[str, tuple[float, float, int]]:
    """Median wall and CPU, and max RSS, of each case, run in turn; `setup`
    (not timed) before every run, its writes made durable first."""
    got: dict[str, list[tuple[float, float, int]]] = {k: [] for k in cases}
    for _ in range(repeat):
        for name, steps in cases.items():
            if setup:
                setup()
            os.sync()
            got[name].append(run_steps(steps))
    return {k: (statistics.median(s[0] for s in v), statistics.median(s[1] for s in v),
                max(s[2] for s in v)) for k, v in got.items()}


ROWS: list[dict[str, str]] = []


def row(what: str, ours: str, theirs: str, ratio: str, goal: str, met: bool | None) -> None:
    ROWS.append({"what": what, "partwright": ours, "alternative": theirs, "ratio": ratio,
                 "goal": goal, "met": "-" if met is None else "yes" if met else "no",
                 "load": f"{os.getloadavg()[0]:.1f}"})
    print(f"{what}\n    partwright  {ours}\n    alternative {theirs}\n    ratio {ratio};"
          f" goal {goal}: {ROWS[-1]['met']} (load {ROWS[-1]['load']})", flush=True)


def ms(t: tuple[float, float, int]) -> str:
    return f"{t[0] * 1000:.1f} ms (CPU {t[1] * 1000:.1f} ms)"


def sec(t: tuple[float, float, int]) -> str:
    return f"{t[0]:.3f} s (CPU {t[1]:.3f} s)"


def pw(*args: str | Path) -> list[str | Path]:
    assert PARTWRIGHT is not None
    return [PARTWRIGHT, *args]


def bench_start(work: Path, repeat: int) -> None:
    from planner import repart_command  # bench/planner.py

    py = str(BIN / "python") if (BIN / "python").exists() else sys.executable
    cases: dict[str, Sequence[Step]] = {
        "preview": [pw("preview", SEED, "--json")],
        "help": [pw("--help")],
        "pass": [[py, "-c", "pass"]],
        "pass_is": [[py, "-I", "-S", "-c", "pass"]],
        "lxml": [[py, "-c", "import lxml.etree"]],  # what the KIWI reader cannot do without
    }
    if shutil.which("systemd-repart"):
        cases["repart"] = [repart_command(str(work))]
    t = interleaved(cases, max(repeat, 11))
    if "repart" in t:
        over = t["preview"][0] / t["repart"][0]
        row("`partwright preview seed.xml --json`, whole process", ms(t["preview"]),
            f"`systemd-repart --dry-run` (4 partitions) {ms(t['repart'])}",
            f"{over:.1f}x repart's time", "<= 3x repart's", over <= 3)
    row("`partwright --help`, whole process", ms(t["help"]),
        f"`python -c pass` {ms(t['pass'])}; `python -I -S -c pass` {ms(t['pass_is'])}",
        f"{t['help'][0] / t['pass'][0]:.1f}x the interpreter's start", "< 100 ms",
        t["help"][0] < 0.1)
    if "repart" in t:
        row("the interpreter alone: `python -c pass` (this venv)", ms(t["pass"]),
            f"`systemd-repart --dry-run` {ms(t['repart'])}",
            f"{t['pass'][0] / t['repart'][0]:.1f}x repart's time (-I -S:"
            f" {t['pass_is'][0] / t['repart'][0]:.1f}x)", "(the floor of any Python process)",
            None)
        row("the interpreter and lxml: `python -c 'import lxml.etree'`", ms(t["lxml"]),
            f"`systemd-repart --dry-run` {ms(t['repart'])}",
            f"{t['lxml'][0] / t['repart'][0]:.1f}x repart's time; preview spends"
            f" {(t['preview'][0] - t['lxml'][0]) * 1000:.0f} ms beyond it",
            "(the floor of `preview`, which reads XML with lxml)", None)


def run_of(r: object) -> tuple[float, float, int]:
    """bench/cow.py's Run as (wall, CPU, RSS)."""
    return r.wall, r.cpu, r.rss  # type: ignore[attr-defined]


def bench_cow(work: Path, repeat: int) -> None:
    """bench/cow.py's rows (whole processes, both durable), as table rows."""
    import cow  # bench/cow.py

    base, cow_file, host = cow.make_data(work)
    for p in (base, cow_file, host):
        subprocess.run(["cat", str(p)], stdout=subprocess.DEVNULL, check=True)
    r = cow.row_in_place(work, base, cow_file, host, repeat)
    o, m = run_of(r.ours), run_of(r.theirs["moo_s"])
    row("merge in place, tamper record kept (every 4 MiB chunk touched)", sec(o),
        f"`uml_moo -d` + sync {sec(m)}", f"{m[0] / o[0]:.2f}x", ">= 1x", m[0] >= o[0])
    cold, warm = cow.row_rebase(work, base, cow_file, host, repeat)
    oc, qc = run_of(cold.ours), run_of(cold.theirs["qemu"])
    ow, qw = run_of(warm.ours), run_of(warm.theirs["qemu"])
    row("rebase (record + verify), base not recorded", sec(oc),
        f"`qemu-img create` + `rebase` + sync {sec(qc)}", f"{qc[0] / oc[0]:.2f}x", ">= 1x",
        qc[0] >= oc[0])
    row("rebase, base already recorded", sec(ow), f"`qemu-img create` + `rebase` + sync {sec(qw)}",
        f"{qw[0] / ow[0]:.2f}x; {ow[0] / oc[0]:.2f}x the unrecorded time",
        ">= 1x, never slower than unrecorded", qw[0] >= ow[0] and ow[0] <= oc[0])
    r = cow.row_merge(work, base, cow_file, host, repeat)
    o, m, c = run_of(r.ours), run_of(r.theirs["moo_s"]), run_of(r.theirs["cp_s"])
    vs_moo, vs_cp = m[0] / o[0], o[0] / c[0]
    row("merge to a new file, durable", sec(o),
        f"`uml_moo` + sync {sec(m)}; `cp --sparse=always` + sync {sec(c)}",
        f"{vs_moo:.1f}x faster than uml_moo; {vs_cp:.2f}x cp's time", ">= 4x uml_moo, <= 1.0x cp",
        vs_moo >= 4 and vs_cp <= 1.0)
    for p in (base, cow_file, host):
        cow.rm(p)


def bench_memory(work: Path) -> None:
    import cow  # bench/cow.py

    got = {k: run_of(v)[2] for k, v in cow.row_memory(work).items()}
    row("peak RSS, merge and rebase, 1 GiB and 16 GiB (sparse), whole process",
        "; ".join(f"{k} {v / 1024:.1f} MiB" for k, v in got.items()), "", "", "< 64 MiB",
        max(got.values()) / 1024 < 64)


def bench_clone(work: Path, repeat: int) -> None:
    import build  # bench/build.py

    rows = build.copy_bench(work, max(repeat, 5))
    try:  # (source, method, seconds, CPU seconds, allocated)
        ours = next(r for r in rows if r[0] == "empty" and "whole process" in r[1])
        cp = next(r for r in rows if r[0] == "empty" and r[1].startswith("cp"))
    except StopIteration:
        print(f"clone row skipped: bench/build.py's rows changed: {rows}")
        return
    py = next((r for r in rows if r[0] == "empty" and "pass" in r[1]), None)
    ratio = ours[2] / cp[2]
    row("clone copy of an empty 2 GiB xfs, fsynced, whole process",
        f"{ours[2]:.3f} s (CPU {ours[3]:.3f} s), {ours[-1] / MIB:.2f} MiB allocated"
        + (f" (of it `python -c pass` {py[2]:.3f} s)" if py else ""),
        f"`cp --sparse=always` + fsync {cp[2]:.3f} s, {cp[-1] / MIB:.2f} MiB allocated",
        f"{ratio:.1f}x cp's time", "<= 2x cp, allocating what cp does",
        ratio <= 2 and ours[-1] <= max(cp[-1], MIB) * 1.5)
    for r in rows:
        if r[0] != "empty" and r[1].startswith(("partwright", "cp")):
            print(f"    ({r[0]}: {r[1]} {r[2]:.3f} s, {r[-1] / MIB:.2f} MiB allocated)")


def bench_tui() -> None:
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "tui.py")], capture_output=True,
                         text=True, check=False, cwd=ROOT)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("tui")]
    for line in lines:
        print("  " + line)
    cells = []
    met = bool(lines)
    for line in lines:  # "tui '+' ..., LABEL median X ms  max Y ms  CPU median Z ms ..."
        label = line.split(",", 1)[1].split("median")[0].strip()
        med = float(line.split("median")[1].split()[0])
        cpu = float(line.split("CPU median")[1].split()[0])
        worst = float(line.split("max")[1].split()[0])
        cells.append(f"{label}: {med:.0f} ms median, {worst:.0f} ms max (CPU {cpu:.0f} ms)")
        met = met and med < 16 and worst < 50
    row("designer, `+` to the updated table (in-process)", "; ".join(cells) or res.stderr[-200:],
        "one 60 Hz frame, 16 ms", "", "median < 16 ms, max < 50 ms", met)


def bench_planner() -> None:
    from planner import BIG_TARGET_MS, plan_times  # bench/planner.py

    t = plan_times()
    row("planner, 128 partitions (in-process)", f"{t['big']:.2f} ms (CPU {t['big_cpu']:.2f} ms);"
        f" seed {t['seed']:.3f} ms", "", "", f"< {BIG_TARGET_MS:g} ms", t["big"] < BIG_TARGET_MS)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dir", help="scratch directory (default: a temporary one)")
    ap.add_argument("--only", default="start,cow,memory,clone,tui,planner")
    ap.add_argument("--json", metavar="FILE", help="also write the rows as JSON to FILE")
    ap.add_argument("--markdown", action="store_true",
                    help="end with the rows as a Markdown table (the README's)")
    args = ap.parse_args()
    only = set(args.only.split(","))
    if PARTWRIGHT is None:
        sys.exit("bench/speed.py: run it with the venv's python (.venv/bin/python)")
    for folder in ("engine", "partwright", "tui"):
        compileall.compile_dir(str(ROOT / folder), quiet=1)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([PARTWRIGHT, "preview", str(SEED), "--json"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    load0 = os.getloadavg()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs,"
          f" load {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}; median of {args.repeat}",
          flush=True)
    work = Path(tempfile.mkdtemp(prefix="speed-bench-", dir=args.dir))
    try:
        for name, func in (("start", lambda: bench_start(work, args.repeat)),
                           ("cow", lambda: bench_cow(work, args.repeat)),
                           ("memory", lambda: bench_memory(work)),
                           ("clone", lambda: bench_clone(work, args.repeat)),
                           ("tui", bench_tui), ("planner", bench_planner)):
            if name in only:
                func()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load1 = os.getloadavg()
    print(f"load at the end {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"load": [load0, load1], "rows": ROWS}, indent=1))
    if args.markdown:
        print("\n| what | partwright | the alternative | ratio | goal | met | load |")
        print("|---|---|---|---|---|---|---|")
        for r in ROWS:
            print("| " + " | ".join(r[k] or "-" for k in ("what", "partwright", "alternative",
                                                         "ratio", "goal", "met", "load")) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
