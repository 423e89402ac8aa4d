"""Sparse-aware block copies for the image engine, on engine.cow.sparse's
primitives (data_extents: SEEK_DATA/SEEK_HOLE, copy_range: copy_file_range,
punch_hole: fallocate PUNCH_HOLE).

Only the data extents of the source are copied and the target range is
punched first, so a copy allocates exactly what the source allocates, inside
one image file (origin -> clone) or between files (temp -> image). Data
extents of 1 MiB and more are scanned for zero-filled MiBs, which stay holes.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from engine.cow.sparse import allocated_bytes, data_extents, is_zero, punch_hole
from engine.cow.sparse import copy_range as _copy_bytes

ZERO_SCAN = 1 << 20  # zero-filled chunks of this size inside data extents stay holes

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
    progress: Callable[[int], None] | None = None,
) -> int:
    """Copy [src_off, src_off+length) of src to dst_off of dst, data extents
    only (the two may be one file if the ranges do not overlap). Returns the
    bytes copied: the source's data, not its length."""
    if punch:
        punch_hole(dst_fd, dst_off, length)
    copied = 0
    for start, size in extents(src_fd, src_off, length):
        for run_start, run_size in _nonzero_runs(src_fd, start, size):
            _copy_bytes(src_fd, run_start, dst_fd, dst_off + (run_start - src_off), run_size)
            copied += run_size
        if progress is not None:
            progress(copied)
    return copied


def _nonzero_runs(fd: int, start: int, size: int) -> list[tuple[int, int]]:
    """Split a data extent of at least ZERO_SCAN bytes around its zero-filled
    ZERO_SCAN-sized chunks (tools that write zeros instead of punching: an
    xfs log, mkswap's page). Small extents are copied whole."""
    if size < ZERO_SCAN:
        return [(start, size)]
    runs: list[tuple[int, int]] = []
    pos, end = start, start + size
    run_start: int | None = None
    while pos < end:
        step = min(ZERO_SCAN, end - pos)
        if is_zero(os.pread(fd, step, pos)):
            if run_start is not None:
                runs.append((run_start, pos - run_start))
                run_start = None
        elif run_start is None:
            run_start = pos
        pos += step
    if run_start is not None:
        runs.append((run_start, end - run_start))
    return runs


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
