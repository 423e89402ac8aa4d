"""Re-share diverged flat images: one base file plus a small UML COW per image.

Each image is compared with the base 4 MiB at a time (memcmp); only chunks
that differ are drilled down to 64 KiB, 4 KiB and 512-byte sectors. Regions
that are holes in both files are never read. The differing sectors go to a
v3 COW over the base (zero sectors stay holes: a set bit over a hole reads
as zeros). Every COW is then verified by merging it back, chunk by chunk
from the file on disk, and comparing per-chunk CRC-32 checksums with the
image's, before it is renamed into place.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from engine.cow import sidecar
from engine.cow.files import (
    WORKERS,
    AtomicOutput,
    absolutize,
    bounded_map,
    file_size,
    lock,
    open_existing,
    same_file,
)
from engine.cow.format import CowHeader, bitmap_bytes, header_for, runs_in_bitmap
from engine.cow.sidecar import CHUNK, zero_digest
from engine.errors import CowError
from engine.host.atomic import StrPath
from engine.host.progress import Counter, Progress
from engine.host.sparse import data_extents, is_zero

SECTOR = 512
LEVELS = (64 << 10, 4 << 10, SECTOR)


@dataclass(frozen=True)
class RebaseItem:
    image: str
    cow: str
    sectors: int  # sectors that differ from the base
    allocated: int  # bytes the COW file occupies on disk
    changed_chunks: int  # 4 MiB chunks that differ, each verified by checksum


@dataclass(frozen=True)
class RebaseResult:
    base: str
    items: tuple[RebaseItem, ...]
    costs: tuple[tuple[str, int], ...] = ()  # --pick-base: candidate -> differing bytes


def diff_runs(a: bytes, b: bytes, offset: int, length: int) -> list[tuple[int, int]]:
    """(sector, count) runs where a and b (both length bytes, starting at
    image byte offset, a multiple of SECTOR) differ; the sector size is 512.
    Iterative (a recursive closure would form a reference cycle that keeps
    both 4 MiB buffers alive until the garbage collector runs)."""
    out: list[tuple[int, int]] = []
    stack = [(0, length, 0)]
    while stack:
        start, end, level = stack.pop()
        step = LEVELS[level]
        differing = [pos for pos in range(start, end, step)
                     if a[pos:min(pos + step, end)] != b[pos:min(pos + step, end)]]
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


def _chunks_with_data(fd: int, size: int) -> set[int]:
    found: set[int] = set()
    for off, length in data_extents(fd, 0, size):
        found.update(range(off // CHUNK, (off + length - 1) // CHUNK + 1))
    return found


def _read(fd: int, offset: int, length: int) -> bytes:
    buf = os.pread(fd, length, offset)
    return buf if len(buf) == length else buf + bytes(length - len(buf))


def _count(runs: list[tuple[int, int]]) -> int:
    return sum(n for _, n in runs)


def pick_base(candidates: Sequence[str], images: Sequence[str], size: int,
              progress: Progress | None = None) -> list[tuple[str, int]]:
    """Differing bytes in total if each candidate were the base of all images,
    computed in one pass over every file."""
    files = list(dict.fromkeys([*candidates, *images]))
    fds = [open_existing(p, os.O_RDONLY, "image") for p in files]
    try:
        data: set[int] = set()
        for fd in fds:
            data |= _chunks_with_data(fd, size)
        pair: dict[tuple[int, int], int] = {}
        counter = Counter(progress, "choosing the base", len(data))
        for i in sorted(data):
            off = i * CHUNK
            length = min(CHUNK, size - off)
            bufs = [_read(fd, off, length) for fd in fds]
            for p in range(len(files)):
                for q in range(p + 1, len(files)):
                    if bufs[p] != bufs[q]:
                        n = _count(diff_runs(bufs[p], bufs[q], off, length))
                        pair[p, q] = pair.get((p, q), 0) + n
            counter.add(1)
    finally:
        for fd in fds:
            os.close(fd)
    index = {p: k for k, p in enumerate(files)}

    def dist(x: str, y: str) -> int:
        p, q = sorted((index[x], index[y]))
        return 0 if p == q else pair.get((p, q), 0)

    return [(c, sum(dist(c, img) for img in images) * SECTOR) for c in candidates]


def _verify(pool: ThreadPoolExecutor, cfd: int, header: CowHeader, bfd: int,
            img_sums: dict[int, int], where: str) -> None:
    """Merge the COW on disk back chunk by chunk: chunks with bits must give
    the image's checksum, chunks without must be ones equal to the base."""
    size = header.size
    per_chunk = CHUNK // SECTOR // 8  # bitmap bytes per chunk

    def merged(job: tuple[int, list[tuple[int, int]]]) -> tuple[int, int]:
        i, runs = job
        off = i * CHUNK
        length = min(CHUNK, size - off)
        buf = bytearray(_read(bfd, off, length))
        for s, count in runs:
            start = s * SECTOR - off
            end = min(start + count * SECTOR, length)
            buf[start:end] = _read(cfd, header.data_offset + off + start, end - start)
        return i, zlib.crc32(buf)

    def jobs() -> Iterator[tuple[int, list[tuple[int, int]]]]:
        for i in range(-(-size // CHUNK)):
            piece_len = min(per_chunk, header.bitmap_len - i * per_chunk)
            piece = os.pread(cfd, piece_len, header.bitmap_offset + i * per_chunk)
            if piece.strip(b"\0"):
                yield i, list(runs_in_bitmap(piece, i * per_chunk * 8))
            elif i in img_sums:
                _fail(where, i)

    for i, crc in bounded_map(pool, merged, jobs()):
        if img_sums.get(i) != crc:
            _fail(where, i)


def _fail(where: str, i: int) -> None:
    raise CowError(f"{where}: verification failed: merging the new COW back differs "
                   f"from the image in the 4 MiB block at offset {i * CHUNK}")


@dataclass(frozen=True)
class _ChunkDiff:
    index: int
    base_digest: str | None  # sha256 for the backing record, if asked for
    img_sum: int | None  # CRC-32 of the image chunk; None: equal to the base
    runs: list[tuple[int, int]]
    pieces: list[tuple[int, bytes]]  # (image offset, non-zero data) to store


def _diff_one(pool: ThreadPoolExecutor, bfd: int, image: str, dst: AtomicOutput,
              header_raw: bytes, header: CowHeader, base_digests: dict[int, str],
              base_data: set[int], counter: Counter) -> tuple[int, dict[int, int]]:
    size = header.size
    ifd = open_existing(image, os.O_RDONLY, "image")

    def compare(job: tuple[int, bool]) -> _ChunkDiff:
        i, need_base = job
        off = i * CHUNK
        length = min(CHUNK, size - off)
        b = _read(bfd, off, length)
        a = _read(ifd, off, length)
        base_digest = hashlib.sha256(b).hexdigest() if need_base else None
        if a == b:
            return _ChunkDiff(i, base_digest, None, [], [])
        runs = diff_runs(a, b, off, length)
        pieces = []
        for s, count in runs:
            start = s * SECTOR - off
            piece = a[start:start + count * SECTOR]
            if not is_zero(piece):
                pieces.append((off + start, piece))
        return _ChunkDiff(i, base_digest, zlib.crc32(a), runs, pieces)

    try:
        lock(ifd, False, "image", image)
        os.pwrite(dst.fd, header_raw, 0)
        os.ftruncate(dst.fd, header.file_len)
        todo = base_data | _chunks_with_data(ifd, size)
        img_sums: dict[int, int] = {}
        sectors = 0
        per_chunk = CHUNK // SECTOR // 8
        nchunks = -(-size // CHUNK)
        counter.add(sum(min(CHUNK, size - i * CHUNK) for i in range(nchunks) if i not in todo))
        jobs = ((i, i not in base_digests) for i in sorted(todo) if i < nchunks)
        for d in bounded_map(pool, compare, jobs):
            i = d.index
            if d.base_digest is not None:
                base_digests[i] = d.base_digest
            if d.img_sum is not None:
                img_sums[i] = d.img_sum
                sectors += _count(d.runs)
                for off, piece in d.pieces:
                    os.pwrite(dst.fd, piece, header.data_offset + off)
                nbytes = min(per_chunk, header.bitmap_len - i * per_chunk)
                os.pwrite(dst.fd, bitmap_bytes(d.runs, i * per_chunk * 8, nbytes),
                          header.bitmap_offset + i * per_chunk)
            counter.add(min(CHUNK, size - i * CHUNK))
    finally:
        os.close(ifd)
    return sectors, img_sums


def cow_name(image: StrPath) -> str:
    return Path(image).stem + ".cow"


def rebase_images(base: StrPath, images: Sequence[StrPath], out_dir: StrPath, choose: bool = False,
                  force: bool = False, progress: Progress | None = None) -> RebaseResult:
    """Write out_dir/<image stem>.cow over base for every image (with choose,
    over whichever of base and the images minimises the total COW bytes).
    out_dir is made when it does not exist (and removed again if the
    rebase fails before a COW is in it)."""
    made = not os.path.isdir(out_dir)
    try:
        return _rebase(base, images, out_dir, choose, force, progress)
    except BaseException:
        if made and os.path.isdir(out_dir):
            with contextlib.suppress(OSError):
                os.rmdir(out_dir)
        raise


def _rebase(base: StrPath, images: Sequence[StrPath], out_dir: StrPath, choose: bool,
            force: bool, progress: Progress | None) -> RebaseResult:
    if not images:
        raise CowError("rebase needs at least one image")
    base_s = os.fspath(base)
    image_s = [os.fspath(p) for p in images]
    sizes: dict[str, int] = {}
    for p in [base_s, *image_s]:
        fd = open_existing(p, os.O_RDONLY, "base file" if p == base_s else "image")
        try:
            sizes[p] = file_size(fd)
        finally:
            os.close(fd)
    size = sizes[base_s]
    for p in image_s:
        if sizes[p] != size:
            raise CowError(f"image {p} is {sizes[p]} bytes but base {base_s} is {size}: "
                           "a COW must be the size of its backing file")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise CowError(f"output directory {out} is not a directory")
    if not out.parent.is_dir():
        raise CowError(f"output directory {out}: its parent {out.parent} does not exist")
    names = [out / cow_name(p) for p in image_s]
    if len(set(names)) != len(names):
        raise CowError("two images would get the same COW name in "
                       f"{out}: {', '.join(sorted(str(n) for n in names if names.count(n) > 1))}")
    for n in names:
        if os.path.lexists(n) and not force:
            raise CowError(f"{n} already exists (use --force to replace it)")
        if os.path.lexists(n) and any(same_file(n, p) for p in [base_s, *image_s]):
            raise CowError(f"{n} is one of the input files")
    if not out.is_dir():
        try:
            out.mkdir()
        except OSError as exc:
            raise CowError(f"output directory {out} cannot be made: {exc.strerror}") from None
    counter = Counter(progress, "rebasing", size * (len(image_s) + (1 if choose else 0)))

    costs: list[tuple[str, int]] = []
    if choose:
        costs = pick_base([base_s, *image_s], image_s, size)
        best = min(costs, key=lambda c: c[1])
        if best[1] < costs[0][1]:
            base_s = best[0]
        counter.add(size)
    backing = absolutize(base_s)
    bfd = open_existing(base_s, os.O_RDONLY, "base file")
    items: list[RebaseItem] = []
    try:
        lock(bfd, False, "base file", base_s)
        st = os.fstat(bfd)
        header_raw, header = header_for(3, backing, int(st.st_mtime), size)
        base_digests: dict[int, str] = {}
        known = sidecar.current_record(base_s, bfd, [str(out), os.path.dirname(backing)])
        if known is not None:  # the base is recorded and unchanged: no need to hash it again
            base_digests = dict(enumerate(known.digests))
        base_data = _chunks_with_data(bfd, size)
        for image, name in zip(image_s, names, strict=True):
            with AtomicOutput(name, force=force) as dst, ThreadPoolExecutor(WORKERS) as pool:
                sectors, img_sums = _diff_one(pool, bfd, image, dst, header_raw, header,
                                              base_digests, base_data, counter)
                _verify(pool, dst.fd, header, bfd, img_sums, image)
                now = os.fstat(bfd)
                if (now.st_mtime_ns, now.st_ctime_ns) != (st.st_mtime_ns, st.st_ctime_ns):
                    raise CowError(f"base file {base_s} changed during the rebase")
                digests = [base_digests.get(i, zero_digest(min(CHUNK, size - i * CHUNK)))
                           for i in range(-(-size // CHUNK))]
                dst.commit()
            sidecar.write(name, sidecar.record(backing, bfd, digests))
            items.append(RebaseItem(image, str(name), sectors, os.stat(name).st_blocks * 512,
                                    len(img_sums)))
    finally:
        os.close(bfd)
    counter.finish()
    return RebaseResult(base_s, tuple(items), tuple(costs))
