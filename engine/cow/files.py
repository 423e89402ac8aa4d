"""File helpers: COW outputs (on engine.host.atomic), advisory locks, sizes,
backing paths, a bounded thread map."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

from engine.errors import CowError
from engine.host.atomic import AtomicFile, StrPath

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor


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


def stamp(fd: int) -> tuple[int, int, int]:
    """(size, mtime_ns, ctime_ns) of an open file: any write or truncation
    by anyone moves one of them."""
    st = os.fstat(fd)
    return file_size(fd), st.st_mtime_ns, st.st_ctime_ns


def read_exact(fd: int, view: memoryview, offset: int, changed: str) -> None:
    """Fill view with fd's bytes at offset (pread into a reused buffer, never
    a mapping: a file truncated meanwhile ends a mapping's reader with
    SIGBUS, a read just comes back short). A file that ends before the
    view is full was cut while we read it: CowError(changed + where)."""
    done, n = 0, len(view)
    while done < n:
        got = os.preadv(fd, [view[done:]], offset + done)
        if got == 0:
            raise CowError(f"{changed} (it is now shorter: nothing at byte {offset + done})")
        done += got


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


class AtomicOutput(AtomicFile):
    """A COW output (engine.host.atomic): an existing target is refused
    unless forced, and every failure is one CowError line naming it."""

    def __init__(self, target: StrPath, force: bool = False, mode: int = 0o644) -> None:
        super().__init__(target, replace=force, mode=mode)

    def open(self) -> AtomicOutput:
        with self._worded():
            super().open()
        return self

    def __enter__(self) -> AtomicOutput:
        return self.open()

    def commit(self) -> None:
        with self._worded(appeared=True):
            super().commit()

    @contextlib.contextmanager
    def _worded(self, appeared: bool = False) -> Iterator[None]:
        try:
            yield
        except FileExistsError:
            what = "appeared while writing" if appeared else "already exists"
            raise CowError(f"{self.target} {what} (use --force to replace it)") from None
        except IsADirectoryError:
            raise CowError(f"{self.target} is a directory: give the path of the file to"
                           " write in it") from None
        except FileNotFoundError:
            raise CowError(f"{self.directory}: directory does not exist") from None
        except OSError as exc:
            raise CowError(f"cannot write {self.target}: {exc.strerror or exc}") from None


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
