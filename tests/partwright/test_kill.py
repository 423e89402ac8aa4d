"""30 builds of the seed layout with a root tree (so the tools run for a
while), killed with SIGKILL, SIGTERM, SIGHUP and SIGINT at random moments.

After each one the previous image at the target is intact (sha256, and its
partids), a build stopped by a catchable signal exits 128 + the signal with
no traceback and leaves no `.partial` file or folder and no tool process
running; after a SIGKILL, the next build removes what was left and stops
the tools the killed one left running. Two targets are worked on at once to
keep the wall time down, each with its own --seed (two filesystems with one
UUID cannot be loop-mounted at once, as the root tree's fill may do).
PARTWRIGHT_KILL_SEED replays a run.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import procs
from tests.support.image import needs_tools, sparse_sha256
from tests.support.paths import ROOT
from tests.support.seed import SEED

pytestmark = needs_tools

ROUNDS = 30
WORKERS = 2
SIGNALS = (signal.SIGKILL, signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
STARTUP = 0.35  # seconds before the command line has its handlers (interpreter start, imports)


def make_tree(top: Path, rng: random.Random) -> Path:
    for d in range(4):
        folder = top / "usr" / "share" / f"d{d}"
        folder.mkdir(parents=True)
        for f in range(20):
            (folder / f"f{f}").write_bytes(rng.randbytes(rng.randint(100, 12000)))
    (top / "home" / "user").mkdir(parents=True)
    (top / "home" / "user" / "notes").write_bytes(rng.randbytes(4000))
    (top / "boot").mkdir()
    (top / "boot" / "vmlinuz").write_bytes(rng.randbytes(512 * 1024))
    (top / "etc").mkdir()
    (top / "etc" / "hostname").write_text("seed\n")
    return top


def session_members(sid: int) -> list[str]:
    """The names of the live processes of a session (the build ran in its own)."""
    return [name for _, name in procs.session_members(sid)]


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".partial" in p.name)


def start(target: Path, tree: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "partwright", "build", str(SEED), "-o", str(target),
         "--root-tree", str(tree), "--seed", f"kill-{target.parent.name}"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def work(target: Path, tree: Path, rounds: list[tuple[signal.Signals, float]],
         problems: list[str]) -> None:
    def fail(message: str) -> None:
        problems.append(f"{target.parent.name}: {message}")

    first = start(target, tree)
    took = time.monotonic()
    _, err = first.communicate(timeout=300)
    took = time.monotonic() - took
    if first.returncode != 0:
        fail(f"the first build failed: {err.decode()}")
        return
    image, partids = sparse_sha256(target), sparse_sha256(f"{target}.partids")
    killed: list[int] = []  # SIGKILLed builds whose leftovers the next builds must clear
    for sig, share in rounds:
        proc = start(target, tree)
        time.sleep(STARTUP + share * max(took - STARTUP, 0.1))
        proc.send_signal(sig)
        _, raw = proc.communicate(timeout=300)
        err = raw.decode(errors="replace")
        rc = proc.returncode
        what = f"{sig.name} after {STARTUP + share * took:.2f} s of {took:.2f} s: rc {rc}"
        if rc == -signal.SIGKILL:
            killed.append(proc.pid)
        killed = cleared(target, killed, what, fail)
        if rc == 0:  # it finished before the signal: the new image is the previous one now
            image, partids = sparse_sha256(target), sparse_sha256(f"{target}.partids")
            continue
        if (sparse_sha256(target), sparse_sha256(f"{target}.partids")) != (image, partids):
            fail(f"{what}: the previous image changed")
        if sig == signal.SIGKILL:
            if rc != -signal.SIGKILL:
                fail(f"{what}: expected -9")
            continue
        if rc not in (128 + sig, -sig):  # -sig: stopped before its handlers were in place
            fail(f"{what}: expected {128 + sig}")
        lines = [ln for ln in err.splitlines() if ln.strip()]
        notes = [ln for ln in lines[:-1] if ln.startswith("partwright: note: removed ")]
        if rc > 0 and ("Traceback" in err or lines[-1:] != ["partwright: interrupted"]
                       or len(notes) != len(lines) - 1):
            fail(f"{what}: stderr {err!r}")
        if session_members(proc.pid):
            fail(f"{what}: tools still run: {session_members(proc.pid)}")
    final = start(target, tree)  # the run after the last kill clears what is left
    _, err = final.communicate(timeout=300)
    if final.returncode != 0:
        fail(f"the last build failed: {err.decode()}")
    if cleared(target, killed, "after the last build", fail):
        fail(f"after the last build: left {leftovers(target.parent)}")


def cleared(target: Path, killed: list[int], what: str, fail: Callable[[str], None]) -> list[int]:
    """Check what is left next to `target` after a run: at most the scratch
    folder of a SIGKILLed build (when this run stopped before it got to
    remove it); the tools of every SIGKILLed build whose folder is gone have
    been stopped. Returns the killed builds still to be cleared."""
    left = leftovers(target.parent)
    owner = None
    if left == [f"{target.name}.partial.d"]:
        lock = target.parent / left[0] / "partwright.lock"
        with contextlib.suppress(OSError, ValueError):
            owner = int(lock.read_text().split()[0])
    if left and owner not in killed:
        fail(f"{what}: left {left} (owner {owner})")
    for sid in killed:
        if sid != owner and session_members(sid):
            fail(f"{what}: the tools of SIGKILLed build {sid} still run: {session_members(sid)}")
    return [sid for sid in killed if sid == owner]


def test_builds_killed_at_random_moments(tmp_path: Path) -> None:
    seed = int(os.environ.get("PARTWRIGHT_KILL_SEED") or random.randrange(1 << 30))
    rng = random.Random(seed)
    tree = make_tree(tmp_path / "tree", rng)
    plan = [(SIGNALS[i % len(SIGNALS)], rng.random()) for i in range(ROUNDS)]
    problems: list[str] = []
    threads = []
    for w in range(WORKERS):
        folder = tmp_path / f"out{w}"
        folder.mkdir()
        thread = threading.Thread(target=work, args=(folder / "disk.img", tree,
                                                     plan[w::WORKERS], problems))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    assert not problems, f"PARTWRIGHT_KILL_SEED={seed}:\n" + "\n".join(problems)
    if not any(sig == signal.SIGKILL for sig, _ in plan):  # pragma: no cover - by construction
        pytest.fail("no SIGKILL round")
