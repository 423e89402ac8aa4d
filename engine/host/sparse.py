"""Sparse files: data extents, copies, hole punching, allocated extents.

The one place partwright's image and COW code moves bytes between files:

    data_extents / extents / data_bytes   what holds data (SEEK_DATA/SEEK_HOLE)
    holes                                  what does not
    allocated_extents                      what is allocated, written or not (FIEMAP)
    copy_bytes                             every byte of a range (copy_file_range)
    copy_range                             only the non-zero data of a range, the target
                                           punched first: a copy allocates what
                                           `cp --sparse=always` would
    extract                                a range into a new sparse file
    punch_hole, sparsify, write_zeros      make a range read as zeros

Everything works on plain file descriptors and falls back gracefully where
the kernel or the file system says no (block devices have no SEEK_DATA,
copy_file_range may refuse cross-device copies, some file systems cannot
punch holes, tmpfs has no FIEMAP).
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ctypes

# bytes moved per syscall: big enough that syscalls do not matter
COPY_STEP = 64 << 20
IO_STEP = 1 << 20
ZEROS = bytes(IO_STEP)
ZERO_BLOCK = 4 << 10  # copy_range: zero-filled blocks of this size stay holes (as cp's)
ZERO_SCAN = 64 << 10  # ... tested this many bytes at a time first
READ_STEP = 4 << 20  # copy_range reads this much at a time
_ZERO_CHUNK = bytes(ZERO_SCAN)
_ZERO_BLOCK = bytes(ZERO_BLOCK)

_FALLOC_FL_KEEP_SIZE = 0x01
_FALLOC_FL_PUNCH_HOLE = 0x02
_FICLONE = 0x40049409
_SYNC_FILE_RANGE_WRITE = 0x02

_libc: ctypes.CDLL | None = None


def _libc_func(name: str) -> Any:
    """A libc function through the process's own symbols (dlopen(NULL): no
    ctypes.util, whose find_library runs ldconfig; ctypes itself loaded on
    first use, so a copy that punches nothing never imports it)."""
    import ctypes

    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(None, use_errno=True)
        except OSError:  # pragma: no cover - a static interpreter
            return None
    return getattr(_libc, name, None)


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing [offset, offset+length) to disk now
    (sync_file_range SYNC_FILE_RANGE_WRITE, not waiting): the final fsync then
    finds little left, and copying overlaps the disk writes."""
    func = _libc_func("sync_file_range")
    if func is None or length <= 0:
        return
    import ctypes

    func.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    func(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


def _fallocate() -> Callable[[int, int, int, int], int] | None:
    func = _libc_func("fallocate")
    if func is None:  # pragma: no cover
        return None
    import ctypes

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


def copy_bytes(
    src: int,
    src_off: int,
    dst: int,
    dst_off: int,
    length: int,
    tick: Callable[[int], None] | None = None,
) -> None:
    """Copy every one of length bytes between descriptors at the given offsets.

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
        import ctypes

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


def is_zero(buf: bytes | bytearray | memoryview) -> bool:
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


def extents(fd: int, start: int, length: int) -> list[tuple[int, int]]:
    """The (offset, length) runs of [start, start+length) that hold data."""
    return list(data_extents(fd, start, start + length))


def data_bytes(fd: int, start: int, length: int) -> int:
    """How many bytes of [start, start+length) hold data."""
    return sum(size for _, size in data_extents(fd, start, start + length))


def holes(fd: int, start: int, length: int) -> list[tuple[int, int]]:
    """The (offset, length) runs of [start, start+length) that SEEK_DATA
    calls holes (the complement of `extents`)."""
    found: list[tuple[int, int]] = []
    pos = start
    for data, size in data_extents(fd, start, start + length):
        if data > pos:
            found.append((pos, data - pos))
        pos = data + size
    if pos < start + length:
        found.append((pos, start + length - pos))
    return found


def copy_range(src_fd: int, src_off: int, dst_fd: int, dst_off: int, length: int, *,
               punch: bool = True, progress: Callable[[int], None] | None = None) -> int:
    """Copy [src_off, src_off+length) of src to dst_off of dst so that dst
    allocates no more than `cp --sparse=always` would (the two may be one
    file if the ranges do not overlap). Returns the bytes of source data
    visited.

    Holes (SEEK_DATA) are skipped; the data is read once, and 4 KiB blocks
    that hold only zeros are not written: tools write zeros instead of
    leaving holes (mkfs.xfs's log, which tmpfs reports as data; xfs_admin's
    rewritten log), and those stay holes. The runs that hold data go through
    copy_file_range (a kernel copy, or a reflink where the filesystem shares
    blocks). The target range is punched first; with punch=False it must
    already read as zeros (a new file, a fresh image)."""
    if punch:
        punch_hole(dst_fd, dst_off, length)
    buf = bytearray(READ_STEP)
    copied = 0
    for start, size in data_extents(src_fd, src_off, src_off + length):
        _copy_nonzero(src_fd, start, dst_fd, dst_off + (start - src_off), size, buf)
        copied += size
        if progress is not None:
            progress(copied)
    return copied


def _zero(buf: bytearray, at: int, end: int) -> bool:
    """buf[at:end] holds only zeros (memcmp, no copy)."""
    zeros = _ZERO_CHUNK if end - at == ZERO_SCAN else _ZERO_BLOCK if end - at == ZERO_BLOCK else None
    return buf.startswith(zeros, at, end) if zeros else buf.count(0, at, end) == end - at


def nonzero_runs(buf: bytearray, length: int) -> Iterator[tuple[int, int]]:
    """The (offset, length) runs of buf[:length] whose ZERO_BLOCK blocks are
    not all zeros, as `cp --sparse=always` finds them. A ZERO_SCAN chunk is
    tested whole first; in one that is not all zeros, only the blocks whose
    first byte is zero can be zero blocks (one strided slice finds them)."""
    run = -1  # where the current run of data started
    for at in range(0, length, ZERO_SCAN):
        end = min(at + ZERO_SCAN, length)
        if _zero(buf, at, end):
            if run >= 0:
                yield run, at - run
                run = -1
            continue
        heads = buf[at:end:ZERO_BLOCK]
        if 0 not in heads:
            if run < 0:
                run = at
            continue
        for i, head in enumerate(heads):
            block = at + i * ZERO_BLOCK
            if head == 0 and _zero(buf, block, min(block + ZERO_BLOCK, end)):
                if run >= 0:
                    yield run, block - run
                    run = -1
            elif run < 0:
                run = block
    if run >= 0:
        yield run, length - run


def _copy_nonzero(src_fd: int, start: int, dst_fd: int, target: int, size: int,
                  buf: bytearray) -> None:
    view = memoryview(buf)
    pos = 0
    while pos < size:
        step = min(len(buf), size - pos)
        got = os.preadv(src_fd, [view[:step]], start + pos)
        if got == 0:  # past the source's end (a device's size): zeros, left as holes
            return
        for at, run in nonzero_runs(buf, got):
            copy_bytes(src_fd, start + pos + at, dst_fd, target + pos + at, run)
        pos += got


def sparsify(fd: int, start: int, length: int) -> None:
    """Deallocate whatever in [start, start+length) SEEK_DATA calls a hole:
    extents allocated but never written (mke2fs and mkfs.xfs reserve journals
    and logs with fallocate) read as zeros, so `du` need not count them."""
    for hole, size in holes(fd, start, length):
        punch_hole(fd, hole, size)


def extract(src_fd: int, offset: int, length: int, path: str) -> int:
    """Write [offset, offset+length) of src into a new sparse file `path`."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.ftruncate(fd, length)
        return copy_range(src_fd, offset, fd, 0, length, punch=False)
    finally:
        os.close(fd)


_FS_IOC_FIEMAP = 0xC020660B
_FIEMAP_FLAG_SYNC = 0x1
_FIEMAP_EXTENT_LAST = 0x1
_FIEMAP_BATCH = 256  # extents asked for per ioctl
_FIEMAP_HEAD = 32  # struct fiemap
_FIEMAP_EXTENT = 56  # struct fiemap_extent


def allocated_extents(fd: int, start: int, length: int) -> list[tuple[int, int]] | None:
    """The (offset, length) runs of [start, start+length) that the file
    system has allocated, written or not (FIEMAP after a sync), or None when
    FIEMAP is not supported (tmpfs, for one). SEEK_DATA calls an allocated
    but unwritten extent (fallocate) a hole; this does not."""
    end = start + length
    found: list[tuple[int, int]] = []
    pos = start
    while pos < end:
        request = bytearray(_FIEMAP_HEAD + _FIEMAP_EXTENT * _FIEMAP_BATCH)
        struct.pack_into("=QQIIII", request, 0, pos, end - pos, _FIEMAP_FLAG_SYNC, 0,
                         _FIEMAP_BATCH, 0)
        try:
            fcntl.ioctl(fd, _FS_IOC_FIEMAP, request)
        except OSError:
            return None
        mapped = struct.unpack_from("=I", request, 20)[0]
        if mapped == 0:
            break
        last = False
        for index in range(mapped):
            at = _FIEMAP_HEAD + _FIEMAP_EXTENT * index
            logical, _physical, size = struct.unpack_from("=QQQ", request, at)
            flags = struct.unpack_from("=I", request, at + 40)[0]
            run_start, run_end = max(logical, start), min(logical + size, end)
            if run_end > run_start:
                if found and found[-1][0] + found[-1][1] >= run_start:
                    prev = found[-1]
                    found[-1] = (prev[0], max(prev[0] + prev[1], run_end) - prev[0])
                else:
                    found.append((run_start, run_end - run_start))
            pos = max(pos, logical + size)
            last = last or bool(flags & _FIEMAP_EXTENT_LAST)
        if last:
            break
    return found
