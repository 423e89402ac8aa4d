"""Running the external tools the engine drives (mkfs, tune2fs, blkid, cryptsetup ...).

Every failure becomes a one-line `ToolError` (exit status 3) that names the
tool, what it was doing (the partition) and the tool's own reason: the first
line of its output that names a problem, before any usage text and past
version banners (`reason_line`). A missing tool says which package has it.
Output is decoded as UTF-8 with surrogate escapes, so names that are not
UTF-8 come back as the bytes they were.

`execute` is the one place a tool process starts. Each runs in a process
group of its own, so a signal meant for partwright (Ctrl-C, a closed
terminal) does not reach it half-way; when the wait for it ends in an
exception (SIGTERM turned into one, a cancel), the whole group is killed
before the exception goes on: no mkfs keeps running orphaned. A `ToolWatch`
set with `watched(...)` hears of every tool started and ended in this
thread (a build's scratch directory records them, so that the next run can
stop the tools of a process that was killed with SIGKILL; the designer
kills them when its build is stopped). Blocks nest: every watch of the
enclosing blocks hears; one whose `started` raises has the tool killed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Protocol

from engine.errors import ToolError
from engine.host.signals import held

# tool -> Debian package, for the message when it is missing
PACKAGES: dict[str, str] = {
    "mkfs.ext2": "e2fsprogs", "mkfs.ext3": "e2fsprogs", "mkfs.ext4": "e2fsprogs",
    "tune2fs": "e2fsprogs", "e2fsck": "e2fsprogs", "debugfs": "e2fsprogs",
    "mkfs.xfs": "xfsprogs", "xfs_admin": "xfsprogs", "xfs_repair": "xfsprogs",
    "xfs_db": "xfsprogs",
    "mkfs.btrfs": "btrfs-progs", "btrfstune": "btrfs-progs", "btrfs": "btrfs-progs",
    "mkfs.vfat": "dosfstools", "fsck.vfat": "dosfstools",
    "mcopy": "mtools", "mmd": "mtools",
    "mksquashfs": "squashfs-tools", "unsquashfs": "squashfs-tools",
    "mount": "mount", "umount": "mount",
    "mkswap": "util-linux", "swaplabel": "util-linux", "blkid": "util-linux",
    "sfdisk": "fdisk", "sgdisk": "gdisk", "qemu-img": "qemu-utils",
}


def which(tool: str) -> str:
    """The full path of `tool`, or a ToolError naming the package to install."""
    path = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin:/usr/bin:/bin")
    if path is None:
        package = PACKAGES.get(tool)
        hint = f" (install the Debian package {package})" if package else ""
        raise ToolError(f"{tool} is not installed{hint}")
    return path


class ToolWatch(Protocol):
    """Told of every tool process started and ended (see `watched`)."""

    def started(self, pid: int) -> None: ...

    def ended(self, pid: int) -> None: ...


_watch: ContextVar[tuple[ToolWatch, ...]] = ContextVar("partwright_tool_watch", default=())


@contextlib.contextmanager
def watched(watch: ToolWatch) -> Iterator[None]:
    """Tell `watch` (and the watches of the enclosing blocks) of every tool
    this thread runs inside the block."""
    token = _watch.set((*_watch.get(), watch))
    try:
        yield
    finally:
        _watch.reset(token)


def execute(argv: Sequence[str], *, input: bytes | None = None,
            env: Mapping[str, str] | None = None,
            pass_fds: Sequence[int] = ()) -> subprocess.CompletedProcess[bytes]:
    """Run `argv` (its output captured) in a process group of its own, with
    `input` on its standard input (or /dev/null) and `env` (or ours) as its
    environment; if the wait is interrupted, kill the group and wait for
    every process in it to be gone before the exception goes on.

    A stop signal is held while the process starts (`signals.held`): one
    raised between the fork and `proc` being known here would leave the
    tool running with no one to kill it."""
    watches = _watch.get()
    proc: subprocess.Popen[bytes] | None = None
    try:
        with held():
            proc = subprocess.Popen(
                list(argv), stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=None if env is None else dict(env),
                pass_fds=tuple(pass_fds), process_group=0,
            )
            for watch in watches:
                watch.started(proc.pid)
        out, err = proc.communicate(input)
    except BaseException:
        if proc is not None:
            kill_group(proc.pid)
            proc.wait()
            group_gone(proc.pid)
        raise
    finally:
        if proc is not None:
            for watch in reversed(watches):
                watch.ended(proc.pid)
    return subprocess.CompletedProcess(list(argv), proc.returncode, out, err)


def kill_group(pgid: int) -> bool:
    """SIGKILL to process group `pgid` (False: no such group, or not ours)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


class Stopped(Exception):
    """A tool was to start after its `Stopper` was stopped (it is killed at once)."""


class Stopper:
    """A ToolWatch another thread can stop (a designer's build runs in a
    worker thread, its stop signals come to the main one): `stop()` kills
    the process groups of the tools running now, and every tool started
    after it (`started` raises Stopped, and `execute` kills the tool)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pids: set[int] = set()
        self.stopped = False

    def started(self, pid: int) -> None:
        with self._lock:
            if self.stopped:
                raise Stopped()
            self._pids.add(pid)

    def ended(self, pid: int) -> None:
        with self._lock:
            self._pids.discard(pid)

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            for pid in self._pids:
                kill_group(pid)


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group `pgid`."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                fields = fh.read().rpartition(b")")[2].split()
        except OSError:
            continue
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            found.append(int(name))
    return found


def group_gone(pgid: int, timeout: float = 5.0) -> bool:
    """Wait (at most `timeout` seconds) until the processes of a group that
    was sent SIGKILL are gone: a tool's own children (xfs_admin runs
    xfs_db) die with it, but one busy in the kernel goes a moment later."""
    deadline = time.monotonic() + timeout
    while group_members(pgid):
        if time.monotonic() > deadline:
            return False
        kill_group(pgid)
        time.sleep(0.01)
    return True


def run(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    check: bool = True,
    what: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a tool; on failure raise a one-line ToolError (unless check=False)."""
    argv = [which(args[0]), *args[1:]]
    full_env = dict(os.environ)
    full_env["LC_ALL"] = "C"
    if env:
        full_env.update(env)
    try:
        done = execute(argv, env=full_env,
                       input=None if input_text is None
                       else input_text.encode("utf-8", "surrogateescape"))
    except OSError as exc:
        raise ToolError(f"{args[0]} could not run: {exc.strerror or exc}") from exc
    proc = subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode("utf-8", "surrogateescape"),
        done.stderr.decode("utf-8", "surrogateescape"))
    if check and proc.returncode != 0:
        raise ToolError(failure_message(args[0], proc, what))
    return proc


USAGE = re.compile(r"^(usage|Usage|USAGE)\b")
NOISE = re.compile(r"^(\S+ \d+(\.\d+)+[a-z]* \(\d+-\w+-\d+\)$|btrfs-progs v|See https?:|"
                   r"Warning: block count mismatch|Allowing write of corrupted data)")
PROBLEM = re.compile(r"error|must|too (small|large|big|long|many|few)|invalid|cannot|can't|"
                     r"could not|couldn't|not enough|failed|refus|no space|no such|not allowed|"
                     r"no directory slots|denied|not supported|unknown|bad |corrupt|exceeds",
                     re.IGNORECASE)


def reason_line(text: str) -> str:
    """The line of a tool's output that says what went wrong."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    before_usage = []
    for line in lines:
        if USAGE.match(line):
            break
        before_usage.append(line)
    candidates = [ln for ln in (before_usage or lines) if not NOISE.match(ln)]
    for line in candidates:
        if PROBLEM.search(line):
            return line
    if candidates:
        return candidates[0]
    return lines[-1] if lines else "no message"


def failure_message(tool: str, proc: subprocess.CompletedProcess[str], what: str | None) -> str:
    detail = reason_line((proc.stderr or "") + "\n" + (proc.stdout or ""))
    doing = f" ({what})" if what else ""
    return f"{tool} failed with status {proc.returncode}{doing}: {detail}"
