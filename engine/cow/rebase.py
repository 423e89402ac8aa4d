"""Re-share diverged flat images: one base file plus a small UML COW per image.

Each image is compared with the base 4 MiB at a time (memcmp); only chunks
that differ are drilled down to 64 KiB, 4 KiB and 512-byte sectors. Regions
that are holes in both files are never read. The differing sectors go to a
v3 COW over the base (zero sectors stay holes: a set bit over a hole reads
as zeros). All in one pass: each chunk of both files is read once, the
base's leaves are hashed there for its record (or taken from a current
record of it), and each chunk written is verified at once by merging it
back from the file (its bitmap bytes and sectors read back) and comparing
it with the image's; a last count of the bitmap's bits shows no bit lies
elsewhere. Only then is the COW renamed into place.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from engine.cow import records, sidecar, tree
from engine.cow.compare import SECTOR, STEP, Buffers, diff_runs, spans, units_of
from engine.cow.compare import memcmp as libc_memcmp
from engine.cow.files import (
    WORKERS,
    AtomicOutput,
    absolutize,
    bounded_map,
    file_size,
    lock,
    open_existing,
    read_exact,
    same_file,
    stamp,
)
from engine.cow.format import CowHeader, bitmap_bytes, count_sectors, header_for, runs_in_bitmap
from engine.cow.tree import CHUNK
from engine.errors import CowError
from engine.host.atomic import StrPath
from engine.host.progress import Counter, Progress
from engine.host.sparse import data_extents, is_zero


@dataclass(frozen=True)
class RebaseItem:
    image: str
    cow: str
    sectors: int  # sectors that differ from the base
    allocated: int  # bytes the COW file occupies on disk
    changed_chunks: int  # 4 MiB chunks that differ, each verified by merging it back


@dataclass(frozen=True)
class RebaseResult:
    base: str
    items: tuple[RebaseItem, ...]
    costs: tuple[tuple[str, int], ...] = ()  # --pick-base: candidate -> differing bytes


def _chunks_with_data(fd: int, size: int) -> set[int]:
    return units_of(list(data_extents(fd, 0, size)), CHUNK)


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
            bufs = []
            for fd, name in zip(fds, files, strict=True):
                buf = bytearray(length)
                read_exact(fd, memoryview(buf), off, f"{name} changed during the rebase")
                bufs.append(buf)
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


def _fail(where: str, i: int) -> None:
    raise CowError(f"{where}: verification failed: merging the new COW back differs "
                   f"from the image in the 4 MiB block at offset {i * CHUNK}")


@dataclass(frozen=True)
class _Chunk:
    index: int
    base: tree.Hashed | None  # the base chunk hashed for the record, if asked for
    sectors: int  # sectors that differ (their bits, read back from the COW)


def _diff_one(pool: ThreadPoolExecutor, bfd: int, base: str, image: str, dst: AtomicOutput,
              header_raw: bytes, header: CowHeader, base_hashed: dict[int, tree.Hashed],
              base_extents: list[tuple[int, int]], counter: Counter) -> tuple[int, int]:
    """Diff image against the base into dst in one pass. Each 4 MiB chunk is
    read once from both files: the base's leaves are hashed (unless known),
    the differing sectors and their bitmap bytes written, then read back and
    merged over the base chunk, which must give the image chunk. Returns
    (sectors that differ, chunks that differ)."""
    size = header.size
    per_chunk = CHUNK // SECTOR // 8  # bitmap bytes per chunk
    ifd = open_existing(image, os.O_RDONLY, "image")
    fd = dst.fd

    memcmp = libc_memcmp()
    buffers = Buffers()
    image_changed = f"image {image} changed during the rebase"
    base_changed = f"base file {base} changed during the rebase"
    cow_changed = f"{dst.target} changed while it was written"

    def read(fd: int, view: memoryview, at: int, changed: str) -> None:
        if os.preadv(fd, [view], at) != len(view):
            read_exact(fd, view, at, changed)  # a short read: more to come, or a cut file

    def one(job: tuple[tuple[int, list[tuple[int, int]]], tuple[int, list[tuple[int, int]]]]
            ) -> _Chunk:
        """One chunk, a piece of at most PIECE bytes at a time: each piece
        of both files is read, compared and (the base's) hashed while it is
        in the cache; the 64 KiB blocks that differ are kept aside."""
        (i, inside), (_, in_image) = job
        off = i * CHUNK
        length = min(CHUNK, size - off)
        bufs = buffers
        pa, pb = memoryview(bufs.a), memoryview(bufs.b)
        a_addr, b_addr = bufs.a_addr, bufs.b_addr
        blocks = units_of(inside + in_image)  # with data in either file; the rest
        hashing = i not in base_hashed  # are holes in both, equal unread
        base_blocks = units_of(inside) if hashing else set()
        leaves = bytearray(tree.zero_leaves(length)) if hashing else bytearray()
        differing: dict[int, tuple[bytes, bytes]] = {}  # block -> (image's, base's)
        for lo, hi in spans(blocks, length):
            n = hi - lo
            read(bfd, pb[:n], off + lo, base_changed)
            read(ifd, pa[:n], off + lo, image_changed)
            if memcmp(a_addr, b_addr, n):
                for at in range(0, n, STEP):
                    m = min(STEP, n - at)
                    if memcmp(a_addr + at, b_addr + at, m):
                        differing[(lo + at) // STEP] = (bytes(pa[at:at + m]),
                                                        bytes(pb[at:at + m]))
            if hashing:
                for k in base_blocks.intersection(range(lo // STEP, -(-hi // STEP))):
                    at = k * STEP - lo
                    leaves[k * tree.DIGEST:(k + 1) * tree.DIGEST] = tree.leaf_digest(
                        pb[at:min(at + STEP, n)])
        hashed = None
        if hashing:
            hashed = tree.Hashed(tree.chunk_digest(bytes(leaves)), bytes(leaves))
        if not differing:
            return _Chunk(i, hashed, 0)
        return _Chunk(i, hashed, write_and_verify(i, off, length, differing))

    def write_and_verify(i: int, off: int, length: int,
                         differing: dict[int, tuple[bytes, bytes]]) -> int:
        """Write the differing sectors of a chunk and their bitmap bytes,
        then merge them back from what is on disk now over the base's bytes
        (our own copy): it must give the image's bytes. Only the blocks that
        differed can differ after it: a bit read back elsewhere fails it.
        Returns the sectors whose bits were read back."""
        runs: list[tuple[int, int]] = []
        for k in sorted(differing):
            a, b = differing[k]
            at = off + k * STEP
            for s, count in diff_runs(a, b, at, len(a), differing=[0]):
                start = s * SECTOR - at
                piece = a[start:start + count * SECTOR]
                if not is_zero(piece):
                    os.pwrite(fd, piece, header.data_offset + s * SECTOR)
                runs.append((s, count))
        nbytes = min(per_chunk, header.bitmap_len - i * per_chunk)
        where = header.bitmap_offset + i * per_chunk
        os.pwrite(fd, bitmap_bytes(runs, i * per_chunk * 8, nbytes), where)
        sectors = 0
        bits = bytearray(nbytes)
        read_exact(fd, memoryview(bits), where, cow_changed)
        merged = {k: bytearray(b) for k, (_, b) in differing.items()}
        for s, count in runs_in_bitmap(bytes(bits), i * per_chunk * 8):
            sectors += count
            pos, end = s * SECTOR - off, min((s + count) * SECTOR - off, length)
            while pos < end:  # block by block
                k = pos // STEP
                stop = min(end, (k + 1) * STEP)
                if k not in merged:
                    _fail(image, i)  # a bit in a block that was equal
                read_exact(fd, memoryview(merged[k])[pos - k * STEP:stop - k * STEP],
                           header.data_offset + off + pos, cow_changed)
                pos = stop
        if any(merged[k] != a for k, (a, _) in differing.items()):
            _fail(image, i)
        return sectors

    try:
        lock(ifd, False, "image", image)
        before = stamp(ifd)
        if before[0] != size:
            raise CowError(f"{image_changed} (it is {before[0]} bytes now, not {size})")
        for f in (bfd, ifd):  # read once, front to back: a cold cache reads ahead
            os.posix_fadvise(f, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        os.pwrite(fd, header_raw, 0)
        os.ftruncate(fd, header.file_len)
        nchunks = -(-size // CHUNK)
        image_extents = list(data_extents(ifd, 0, size))
        todo = units_of(base_extents, CHUNK) | units_of(image_extents, CHUNK)
        todo = {i for i in todo if i < nchunks}
        counter.add(sum(min(CHUNK, size - i * CHUNK) for i in range(nchunks) if i not in todo))
        sectors = changed = 0
        jobs = zip(tree.chunk_extents(base_extents, sorted(todo), size),
                   tree.chunk_extents(image_extents, sorted(todo), size), strict=True)
        for c in bounded_map(pool, one, jobs):
            if c.base is not None:
                base_hashed[c.index] = c.base
            sectors += c.sectors
            changed += c.sectors > 0
            counter.add(min(CHUNK, size - c.index * CHUNK))
        if count_sectors(fd, header) != sectors:  # no bit outside the chunks verified
            raise CowError(f"{image}: verification failed: the new COW's bitmap has bits "
                           "outside the blocks that differ")
        if stamp(ifd) != before:  # written or cut after we read some of it
            raise CowError(image_changed)
    finally:
        os.close(ifd)
    return sectors, changed


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
        before = stamp(bfd)
        if before[0] != size:
            raise CowError(f"base file {base_s} changed during the rebase "
                           f"(it is {before[0]} bytes now, not {size})")
        header_raw, header = header_for(3, backing, int(st.st_mtime), size)
        base_hashed: dict[int, tree.Hashed] = {}
        known = records.current_record(base_s, bfd, [str(out), os.path.dirname(backing)])
        if known is not None:  # the base is recorded and unchanged: no need to hash it again
            with contextlib.suppress(CowError):  # unless its leaves are corrupt
                base_hashed = {i: tree.Hashed(d, known.chunk_leaves(i))
                               for i, d in enumerate(known.digests)}
        base_extents = list(data_extents(bfd, 0, size))
        for image, name in zip(image_s, names, strict=True):
            with AtomicOutput(name, force=force) as dst, ThreadPoolExecutor(WORKERS) as pool:
                sectors, changed = _diff_one(pool, bfd, base_s, image, dst, header_raw, header,
                                             base_hashed, base_extents, counter)
                if stamp(bfd) != before:
                    raise CowError(f"base file {base_s} changed during the rebase")
                for i in range(-(-size // CHUNK)):  # holes in the base and the image
                    if i not in base_hashed:
                        length = min(CHUNK, size - i * CHUNK)
                        base_hashed[i] = tree.Hashed(tree.zero_chunk(length),
                                                     tree.zero_leaves(length))
                dst.commit()
            sidecar.write(name, sidecar.record(backing, bfd, base_hashed))
            items.append(RebaseItem(image, str(name), sectors, os.stat(name).st_blocks * 512,
                                    changed))
    finally:
        os.close(bfd)
    counter.finish()
    return RebaseResult(base_s, tuple(items), tuple(costs))
