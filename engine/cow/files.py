"""File helpers: atomic outputs, advisory locks, sizes, backing paths."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from engine.errors import CowError

StrPath = str | os.PathLike[str]


def absolutize(path: StrPath) -> str:
    """The absolute path UML's absolutize() records: the directory resolved
    (symlinks followed, as chdir + getcwd does), the last name kept."""
    p = os.path.abspath(os.fspath(path))
    head, tail = os.path.split(p)
    return os.path.join(os.path.realpath(head), tail)


def resolve_backing(backing_file: str, cow_path: StrPath) -> str:
    """The backing path a COW header names, relative ones taken from the
    COW's directory."""
    if os.path.isabs(backing_file):
        return backing_file
    return os.path.join(os.path.dirname(os.path.abspath(os.fspath(cow_path))), backing_file)


def file_size(fd: int) -> int:
    """Size of a regular file or block device."""
    st = os.fstat(fd)
    if stat.S_ISBLK(st.st_mode):
        return os.lseek(fd, 0, os.SEEK_END)
    return st.st_size


def open_existing(path: StrPath, flags: int, what: str) -> int:
    """Open path or raise a one-line CowError naming it as what."""
    try:
        return os.open(path, flags | os.O_CLOEXEC)
    except FileNotFoundError:
        raise CowError(f"{what} {os.fspath(path)} does not exist") from None
    except IsADirectoryError:
        raise CowError(f"{what} {os.fspath(path)} is a directory") from None
    except PermissionError:
        raise CowError(f"{what} {os.fspath(path)}: permission denied") from None
    except OSError as exc:
        raise CowError(f"{what} {os.fspath(path)}: {exc.strerror}") from None


def lock(fd: int, exclusive: bool, what: str, path: StrPath) -> None:
    """Take a POSIX advisory lock over the whole file, as UML does (it holds a
    write lock on the COW and a read lock on the backing file)."""
    try:
        fcntl.lockf(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EAGAIN):
            raise CowError(f"{what} {os.fspath(path)} is locked by another process "
                           "(a running UML or qemu?)") from None
        if exc.errno in (errno.ENOLCK, errno.EINVAL, errno.EOPNOTSUPP):
            return
        raise


def same_file(a: StrPath, b: StrPath) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(os.fspath(a)) == os.path.abspath(os.fspath(b))


class AtomicOutput:
    """A temporary file in the target's directory, renamed over the target on
    commit and removed otherwise. Nothing half-written is ever at target."""

    def __init__(self, target: StrPath, force: bool = False, mode: int = 0o644) -> None:
        self.target = Path(target)
        self.force = force
        self.mode = mode
        self.fd = -1
        self.tmp = ""

    def __enter__(self) -> AtomicOutput:
        if not self.force and os.path.lexists(self.target):
            raise CowError(f"{self.target} already exists (use --force to replace it)")
        directory = self.target.parent
        if not directory.is_dir():
            raise CowError(f"{directory}: directory does not exist")
        try:
            self.fd, self.tmp = tempfile.mkstemp(
                dir=directory, prefix=f".{self.target.name}.", suffix=".part")
        except OSError as exc:
            raise CowError(f"cannot write in {directory}: {exc.strerror}") from None
        os.fchmod(self.fd, self.mode & ~_umask())
        return self

    def reopen(self) -> None:
        """Reopen the temporary file after another program rewrote it."""
        if self.fd >= 0:
            os.close(self.fd)
        self.fd = os.open(self.tmp, os.O_RDWR | os.O_CLOEXEC)

    def commit(self) -> None:
        os.fsync(self.fd)
        os.close(self.fd)
        self.fd = -1
        if not self.force and os.path.lexists(self.target):
            raise CowError(f"{self.target} appeared while writing (use --force to replace it)")
        os.rename(self.tmp, self.target)
        self.tmp = ""
        with contextlib.suppress(OSError):
            dfd = os.open(self.target.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

    def __exit__(self, *exc: object) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.tmp:
            with contextlib.suppress(OSError):
                os.unlink(self.tmp)
            self.tmp = ""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def opened(path: StrPath, flags: int, what: str) -> Iterator[int]:
    fd = open_existing(path, flags, what)
    try:
        yield fd
    finally:
        os.close(fd)


T = TypeVar("T")
R = TypeVar("R")
WORKERS = max(1, min(4, os.cpu_count() or 1))


def bounded_map(pool: ThreadPoolExecutor, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
    """pool.map in order, with at most 2 * WORKERS tasks (and their buffers)
    in flight. hashlib and pread release the GIL, so hashing runs on every
    core while the caller consumes results."""
    pending: deque[Future[R]] = deque()
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) >= 2 * WORKERS:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
