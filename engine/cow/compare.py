"""Comparing an image with its base piece by piece, for the rebase
(engine/cow/rebase.py): the sector runs where two buffers differ, found
level by level (64 KiB, 4 KiB, 512 B blocks); libc's memcmp on reused
per-thread buffers; the blocks that data extents touch, and the byte spans
that cover them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeAlias

SECTOR = 512
LEVELS = (64 << 10, 4 << 10, SECTOR)
STEP = LEVELS[0]
PIECE = 256 << 10  # read and handled at a time: both files' pieces stay in the L2 cache


Equal: TypeAlias = Callable[[int, int], bool]
Buffer: TypeAlias = bytes | bytearray | memoryview


def diff_runs(a: Buffer, b: Buffer, offset: int, length: int,
              equal: Equal | None = None,
              differing: Sequence[int] | None = None) -> list[tuple[int, int]]:
    """(sector, count) runs where a and b (both length bytes, starting at
    image byte offset, a multiple of SECTOR) differ; the sector size is 512.
    equal(start, end) compares a range of both (default: slices, which copy).
    differing: the sorted STEP blocks known to differ, when the first level
    was compared already (every other block is equal). Iterative (a
    recursive closure would form a reference cycle that keeps both 4 MiB
    buffers alive until the garbage collector runs)."""
    same = equal or (lambda x, y: a[x:y] == b[x:y])
    out: list[tuple[int, int]] = []
    stack = [(0, length, 0)]
    if differing is not None:
        stack = [(k * STEP, min((k + 1) * STEP, length), 1) for k in reversed(differing)]
    while stack:
        start, end, level = stack.pop()
        step = LEVELS[level]
        differing = [pos for pos in range(start, end, step)
                     if not same(pos, min(pos + step, end))]
        if level + 1 < len(LEVELS):
            stack.extend((pos, min(pos + step, end), level + 1) for pos in reversed(differing))
            continue
        for pos in differing:
            s = (offset + pos) // SECTOR
            if out and out[-1][0] + out[-1][1] == s:
                out[-1] = (out[-1][0], out[-1][1] + 1)
            else:
                out.append((s, 1))
    return out


_MEMCMP: list[Any] = []


def memcmp() -> Any:
    """libc's memcmp through ctypes (the GIL released while it runs)."""
    if not _MEMCMP:
        import ctypes

        func = ctypes.CDLL(None).memcmp
        func.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        func.restype = ctypes.c_int
        _MEMCMP.append(func)
    return _MEMCMP[0]


class Buffers(threading.local):
    """Two PIECE-sized buffers per thread, reused for every piece it reads
    (a: the image's, b: the base's; small enough to stay in the cache while
    they are compared and hashed), and their addresses for memcmp. Read
    with pread, never mapped: a file that another process truncates under
    a mapping kills its reader with SIGBUS, a read just comes back short."""

    def __init__(self) -> None:
        import ctypes

        self.a = bytearray(PIECE)
        self.b = bytearray(PIECE)
        self._views: Any = [(ctypes.c_char * PIECE).from_buffer(x) for x in (self.a, self.b)]
        self.a_addr, self.b_addr = (ctypes.addressof(v) for v in self._views)


def units_of(extents: list[tuple[int, int]], unit: int = STEP) -> set[int]:
    """The unit-sized blocks (STEP by default) that (offset, length) extents touch."""
    found: set[int] = set()
    for off, length in extents:
        found.update(range(off // unit, (off + length - 1) // unit + 1))
    return found


def spans(blocks: set[int], length: int) -> Iterator[tuple[int, int]]:
    """[lo, hi) byte ranges of a chunk of length bytes covering the given
    STEP blocks, contiguous runs of them cut into pieces of PIECE bytes."""
    run: list[int] = []
    for k in sorted(blocks):
        if run and (k != run[-1] + 1 or (k - run[0] + 1) * STEP > PIECE):
            yield run[0] * STEP, min((run[-1] + 1) * STEP, length)
            run = []
        run.append(k)
    if run:
        yield run[0] * STEP, min((run[-1] + 1) * STEP, length)
