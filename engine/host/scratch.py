"""Scratch directories next to an output, that never outlive their owner
for long.

`Scratch(path)` makes the directory `path` (mode 0700) with a lock file in
it that the owning process holds (flock) for as long as it runs, and that
names it (pid and start time); the tools the owner runs meanwhile are
recorded under `tools/` (engine.host.tools.watched). On exit the directory
is removed.

A process killed with SIGKILL (or a machine that lost power) cannot remove
its scratch. The next `Scratch` made in the same directory finds it (any
`*.partial.d` holding that lock file), sees that nobody holds the lock any
more, stops the tools it recorded that still run (each in its own process
group, checked by start time so that a reused pid is left alone), removes
it, and logs a warning saying so (logger `engine.host.scratch`; the command
line prints it). A scratch whose owner is alive is never touched: a second
`Scratch` at the same path is refused with a `ScratchBusy` error.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import shutil
import signal
import time
from types import TracebackType

from engine.errors import PartwrightError
from engine.host.mount import unmount_below
from engine.host.signals import STOP_SIGNALS
from engine.host.tools import group_gone, kill_group, watched

log = logging.getLogger(__name__)

SUFFIX = ".partial.d"
LOCK = "partwright.lock"
TOOLS = "tools"
SETUP_SECONDS = 30  # a lock file this young with no owner written is still being set up
GONE_SECONDS = 2.0  # how long to wait for killed tools to go


class ScratchBusy(PartwrightError):
    """Another live process owns the scratch directory (exit status 2)."""


def start_time(pid: int) -> int | None:
    """The process's start time (clock ticks after boot, /proc/PID/stat), or
    None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # fields[0] is the state (field 3 of stat); the start time is field 22
    return int(fields[19]) if len(fields) > 19 and fields[0] not in ("Z", "X") else None


def _identity(pid: int) -> str:
    return f"{pid} {start_time(pid) or 0}\n"


def _read_identity(path: str) -> tuple[int, int] | None:
    try:
        with open(path, encoding="ascii") as fh:
            pid, started = fh.read().split()
        return int(pid), int(started)
    except (OSError, ValueError):
        return None


class Scratch:
    """A private working directory owned by this process (module docstring)."""

    def __init__(self, path: str, what: str = "") -> None:
        self.path = os.path.abspath(path)
        self.what = what or self.path
        self._lock = -1
        self._watching: contextlib.AbstractContextManager[None] | None = None

    def __enter__(self) -> Scratch:
        sweep(os.path.dirname(self.path))
        # the stop signals wait while the directory and its lock are made: a
        # directory without its lock would look like another run's
        held = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        made = False
        try:
            try:
                made = self._make()
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a held signal raises here
            self._watching = watched(self)
            self._watching.__enter__()
        except BaseException:
            if made:
                self._remove()
            raise
        return self

    def _make(self) -> bool:
        try:
            os.mkdir(self.path, 0o700)
        except FileExistsError:
            if not _unlocked_leftover(self.path):
                owner = _owner(self.path)
                where = f" (pid {owner})" if owner else ""
                raise ScratchBusy(f"{self.what} is in use by another partwright run{where}"
                                  f" ({self.path} exists): wait for it to end") from None
            os.mkdir(self.path, 0o700)
        try:
            self._lock = os.open(os.path.join(self.path, LOCK),
                                 os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            fcntl.flock(self._lock, fcntl.LOCK_EX)
            os.write(self._lock, _identity(os.getpid()).encode())
            os.mkdir(os.path.join(self.path, TOOLS), 0o700)
        except BaseException:
            self._remove()
            raise
        return True

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._watching is not None:
            self._watching.__exit__(kind, exc, trace)
            self._watching = None
        self._remove()

    def _remove(self) -> None:
        _remove_tree(self.path)
        if self._lock >= 0:
            os.close(self._lock)
            self._lock = -1

    # engine.host.tools.ToolWatch
    def started(self, pid: int) -> None:
        record = os.path.join(self.path, TOOLS, str(pid))
        with contextlib.suppress(OSError):  # written whole, then named: never read half-made
            with open(f"{record}.new", "w", encoding="ascii") as fh:
                fh.write(_identity(pid))
            os.replace(f"{record}.new", record)

    def ended(self, pid: int) -> None:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(self.path, TOOLS, str(pid)))


def _unlocked_leftover(path: str) -> bool:
    """Remove `path` when it is a scratch directory without a lock file that
    nobody has touched for a while (an older partwright's), and say so."""
    if os.path.islink(path) or not os.path.isdir(path) or os.path.exists(os.path.join(path, LOCK)):
        return False
    if time.time() - os.stat(path).st_mtime < SETUP_SECONDS:
        return False
    shutil.rmtree(path, ignore_errors=True)
    log.warning("removed %s, left behind by a build that ended without cleaning up", path)
    return not os.path.lexists(path)


def _remove_tree(path: str) -> None:
    """Remove a scratch directory: what is mounted in it first (a loop mount
    of a kernel-filled xfs or btrfs), its lock file last, so that a removal
    that fails half-way leaves a directory the next sweep still knows."""
    unmount_below(path)
    try:
        names = os.listdir(path)
    except OSError:
        return
    for name in names:
        if name != LOCK:
            where = os.path.join(path, name)
            if os.path.isdir(where) and not os.path.islink(where):
                shutil.rmtree(where, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(where)
    with contextlib.suppress(OSError):
        os.unlink(os.path.join(path, LOCK))
        os.rmdir(path)


def _owner(path: str) -> int | None:
    found = _read_identity(os.path.join(path, LOCK))
    return found[0] if found else None


def sweep(directory: str) -> list[str]:
    """Remove every scratch directory in `directory` whose owner is dead
    (module docstring); returns the ones removed."""
    removed: list[str] = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in sorted(names):
        path = os.path.join(directory, name)
        if name.endswith(SUFFIX) and os.path.isfile(os.path.join(path, LOCK)) \
                and not os.path.islink(path) and _remove_if_abandoned(path):
            removed.append(path)
    return removed


def _remove_if_abandoned(path: str) -> bool:
    lock_path = os.path.join(path, LOCK)
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EACCES):
                return False  # its owner is alive
            raise
        owner = _read_identity(lock_path)
        if owner is None:
            if time.time() - os.fstat(fd).st_mtime < SETUP_SECONDS:
                return False  # being set up by a process that has not written itself yet
        elif start_time(owner[0]) == owner[1]:
            return False  # its owner is alive and removing it right now
        stopped = _stop_tools(os.path.join(path, TOOLS))
        _remove_tree(path)
        who = f"pid {owner[0]}" if owner else "a process"
        tools = f"; stopped {stopped} tool process(es) it left running" if stopped else ""
        log.warning("removed %s, left behind by %s that ended without cleaning up%s",
                    path, who, tools)
        return True
    finally:
        os.close(fd)


def _stop_tools(directory: str) -> int:
    """Kill the process group of every recorded tool that still runs."""
    killed: list[int] = []
    try:
        names = os.listdir(directory)
    except OSError:
        return 0
    for name in names:
        if not name.isdigit():
            continue
        found = _read_identity(os.path.join(directory, name))
        if found is None or start_time(found[0]) != found[1]:
            continue
        if kill_group(found[0]):
            killed.append(found[0])
    deadline = time.monotonic() + GONE_SECONDS
    for pgid in killed:  # the group, not only its leader: xfs_admin runs xfs_db
        group_gone(pgid, max(deadline - time.monotonic(), 0.0))
    return len(killed)
