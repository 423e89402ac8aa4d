"""Sparse-aware block copies for the image engine, on engine.host.sparse's
primitives (data_extents: SEEK_DATA/SEEK_HOLE, copy_range: copy_file_range,
punch_hole: fallocate PUNCH_HOLE).

Only the data extents of the source are copied and the target range is
punched first, so a copy allocates exactly what the source allocates, inside
one image file (origin -> clone) or between files (temp -> image).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from engine.host.sparse import allocated_bytes, data_extents, is_zero, punch_hole
from engine.host.sparse import copy_range as _copy_bytes

ZERO_SCAN = 64 << 10  # with skip_zeros, zero-filled chunks of this size stay holes
READ_STEP = 4 << 20

__all__ = ["allocated_bytes", "copy_range", "data_bytes", "extents", "extract", "punch_hole",
           "sparsify"]


def extents(fd: int, start: int, length: int) -> list[tuple[int, int]]:
    """The (offset, length) runs of [start, start+length) that hold data."""
    return list(data_extents(fd, start, start + length))


def data_bytes(fd: int, start: int, length: int) -> int:
    return sum(size for _, size in data_extents(fd, start, start + length))


def copy_range(
    src_fd: int,
    src_off: int,
    dst_fd: int,
    dst_off: int,
    length: int,
    *,
    punch: bool = True,
    skip_zeros: bool = False,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Copy [src_off, src_off+length) of src to dst_off of dst, data extents
    only (the two may be one file if the ranges do not overlap). Returns the
    bytes of source data visited.

    Without skip_zeros the extents go through copy_file_range (a kernel copy,
    or a reflink where the filesystem shares blocks). With skip_zeros the data
    is read once and 64 KiB chunks that hold only zeros are not written: for
    files from tools that write zeros instead of leaving holes (xfs_admin's
    and xfs_db's rewritten log)."""
    if punch:
        punch_hole(dst_fd, dst_off, length)
    copied = 0
    for start, size in extents(src_fd, src_off, length):
        target = dst_off + (start - src_off)
        if skip_zeros:
            _write_nonzero(src_fd, start, dst_fd, target, size)
        else:
            _copy_bytes(src_fd, start, dst_fd, target, size)
        copied += size
        if progress is not None:
            progress(copied)
    return copied


def _write_nonzero(src_fd: int, start: int, dst_fd: int, target: int, size: int) -> None:
    pos = 0
    while pos < size:
        buf = os.pread(src_fd, min(READ_STEP, size - pos), start + pos)
        if not buf:
            raise OSError(f"short read at byte {start + pos}")
        view = memoryview(buf)
        for at in range(0, len(buf), ZERO_SCAN):
            chunk = view[at:at + ZERO_SCAN]
            if not is_zero(chunk.tobytes()):
                os.pwrite(dst_fd, chunk, target + pos + at)
        pos += len(buf)


def sparsify(fd: int, start: int, length: int) -> None:
    """Deallocate whatever in [start, start+length) SEEK_DATA calls a hole:
    extents allocated but never written (mke2fs and mkfs.xfs reserve journals
    and logs with fallocate) read as zeros, so `du` need not count them."""
    pos = start
    for data, size in extents(fd, start, length):
        if data > pos:
            punch_hole(fd, pos, data - pos)
        pos = data + size
    if pos < start + length:
        punch_hole(fd, pos, start + length - pos)


def extract(src_fd: int, offset: int, length: int, path: str) -> int:
    """Write [offset, offset+length) of src into a new sparse file `path`."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.ftruncate(fd, length)
        return copy_range(src_fd, offset, fd, 0, length, punch=False)
    finally:
        os.close(fd)
