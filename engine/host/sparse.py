"""Sparse-file primitives: data extents, kernel-side copies, hole punching.

Everything here works on plain file descriptors and falls back gracefully
where the kernel or the file system says no (block devices have no
SEEK_DATA, copy_file_range may refuse cross-device copies, some file
systems cannot punch holes).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import os
from collections.abc import Callable, Iterator
from typing import Any

Progress = Callable[[int, int], None]

# bytes moved per syscall: big enough that syscalls do not matter
COPY_STEP = 64 << 20
IO_STEP = 1 << 20
ZEROS = bytes(IO_STEP)

_FALLOC_FL_KEEP_SIZE = 0x01
_FALLOC_FL_PUNCH_HOLE = 0x02
_FICLONE = 0x40049409
_SYNC_FILE_RANGE_WRITE = 0x02

_libc: ctypes.CDLL | None = None


def _libc_func(name: str) -> Any:
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        except OSError:  # pragma: no cover - no libc
            return None
    return getattr(_libc, name, None)


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing [offset, offset+length) to disk now
    (sync_file_range SYNC_FILE_RANGE_WRITE, not waiting): the final fsync then
    finds little left, and copying overlaps the disk writes."""
    func = _libc_func("sync_file_range")
    if func is None or length <= 0:
        return
    func.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    func(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


def _fallocate() -> Callable[[int, int, int, int], int] | None:
    func = _libc_func("fallocate")
    if func is None:  # pragma: no cover
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    func.restype = ctypes.c_int
    result: Callable[[int, int, int, int], int] = func
    return result


def data_extents(fd: int, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Yield (offset, length) of the data regions of fd within [start, end).

    Holes are skipped. Where SEEK_DATA is not supported (block devices,
    some file systems) the whole range is reported as data.
    """
    if start >= end:
        return
    pos = start
    while pos < end:
        try:
            data = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # only a hole up to EOF
                return
            if exc.errno in (errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTTY):
                yield pos, end - pos
                return
            raise
        if data >= end:
            return
        try:
            hole = os.lseek(fd, data, os.SEEK_HOLE)
        except OSError:  # pragma: no cover - SEEK_DATA worked, so this does
            hole = end
        hole = min(hole, end)
        yield data, hole - data
        pos = hole


def subtract(extents: list[tuple[int, int]], cuts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of sorted, disjoint (offset, length) extents not covered by
    sorted, disjoint cuts."""
    out: list[tuple[int, int]] = []
    j = 0
    for off, length in extents:
        cur, end = off, off + length
        while j < len(cuts) and cuts[j][0] + cuts[j][1] <= cur:
            j += 1
        k = j
        while cur < end and k < len(cuts) and cuts[k][0] < end:
            c_off, c_end = cuts[k][0], cuts[k][0] + cuts[k][1]
            if c_off > cur:
                out.append((cur, c_off - cur))
            cur = max(cur, c_end)
            k += 1
        if cur < end:
            out.append((cur, end - cur))
    return out


def copy_range(
    src: int,
    src_off: int,
    dst: int,
    dst_off: int,
    length: int,
    tick: Callable[[int], None] | None = None,
) -> None:
    """Copy length bytes between descriptors at the given offsets.

    Uses copy_file_range (an in-kernel copy); falls back to pread/pwrite when
    the kernel refuses. Bytes past the source's end of file read as zeros.
    """
    done = 0
    use_cfr = True
    while done < length:
        step = min(COPY_STEP, length - done)
        n = 0
        if use_cfr:
            try:
                n = os.copy_file_range(src, dst, step, src_off + done, dst_off + done)
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP,
                                     errno.EBADF, errno.ETXTBSY):
                    raise
                use_cfr = False
                continue
            if n == 0:  # source EOF: the rest reads as zeros
                write_zeros(dst, dst_off + done, length - done)
                if tick:
                    tick(length - done)
                return
        else:
            buf = os.pread(src, min(step, IO_STEP), src_off + done)
            if not buf:
                write_zeros(dst, dst_off + done, length - done)
                if tick:
                    tick(length - done)
                return
            n = os.pwrite(dst, buf, dst_off + done)
        done += n
        if tick:
            tick(n)


def write_zeros(fd: int, offset: int, length: int) -> None:
    """Write explicit zeros (for files and devices that cannot punch holes)."""
    done = 0
    while done < length:
        step = min(IO_STEP, length - done)
        done += os.pwrite(fd, ZEROS[:step], offset + done)


def punch_hole(fd: int, offset: int, length: int) -> None:
    """Make [offset, offset+length) read as zeros, deallocating it if the file
    system can; never changes the file size."""
    if length <= 0:
        return
    func = _fallocate()
    if func is not None:
        if func(fd, _FALLOC_FL_PUNCH_HOLE | _FALLOC_FL_KEEP_SIZE, offset, length) == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL, errno.ENODEV):
            raise OSError(err, os.strerror(err))
    write_zeros(fd, offset, length)


def try_clone(src: int, dst: int) -> bool:
    """Reflink the whole of src into dst (XFS, btrfs). False if unsupported."""
    try:
        fcntl.ioctl(dst, _FICLONE, src)
    except OSError:
        return False
    return True


def is_zero(buf: bytes | bytearray) -> bool:
    """True if buf holds only zero bytes (memcmp speed)."""
    n = len(buf)
    pos = 0
    while pos < n:
        step = min(IO_STEP, n - pos)
        if buf[pos : pos + step] != ZEROS[:step]:
            return False
        pos += step
    return True


def allocated_bytes(path: str | os.PathLike[str]) -> int:
    """Bytes the file system has allocated for path."""
    return os.stat(path).st_blocks * 512
