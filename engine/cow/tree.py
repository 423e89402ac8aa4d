"""The digest tree of a backing file, as its record keeps it.

Three levels, BLAKE3 throughout (a 256-bit cryptographic hash, 2-3 times
sha256's speed here):

  leaf   BLAKE3 of each 64 KiB of the file (the last one may be shorter)
  chunk  BLAKE3 of "partwright chunk" + the leaf digests of each 4 MiB
  root   BLAKE3 of "partwright root" + the file size + every chunk digest

A change to any byte changes its leaf, so its chunk and the root, exactly as
a per-chunk sha256 did; what the tree adds is that rewriting some bytes needs
only their leaves hashed again (64 KiB each, not 4 MiB), the other leaves of
the chunk coming from the record. Leaves in holes get the digest of zeros
without being read. The prefixes keep the levels apart.

Records written before the tree (version 1) hold a sha256 per 4 MiB chunk:
`legacy_chunk` hashes those, so they are still checked, and one pass can
hash both ways to upgrade a record.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from engine.cow.files import WORKERS, bounded_map, read_exact
from engine.host.progress import Counter, Progress
from engine.host.sparse import data_extents

LEAF = 64 << 10
CHUNK = 4 << 20
LEAVES = CHUNK // LEAF
BATCH = 1 << 20  # bytes of leaves a thread hashes again per task (rehash_leaves)
DIGEST = 32
ALGORITHM = "blake3"
LEGACY_ALGORITHM = "sha256"
_CHUNK_TAG = b"partwright chunk\0"
_ROOT_TAG = b"partwright root\0"


def leaf_digest(data: bytes | memoryview) -> bytes:
    import blake3  # imported when hashing, not when the command line starts

    return blake3.blake3(data).digest()


@functools.lru_cache(maxsize=16)
def zero_leaf(length: int) -> bytes:
    return leaf_digest(bytes(length))


def leaf_count(length: int) -> int:
    return -(-length // LEAF)


@functools.lru_cache(maxsize=16)
def zero_leaves(length: int) -> bytes:
    """The leaf digests of a chunk of length bytes of zeros (or a hole)."""
    full, rest = divmod(length, LEAF)
    return zero_leaf(LEAF) * full + (zero_leaf(rest) if rest else b"")


def chunk_digest(leaves: bytes) -> str:
    import blake3

    h = blake3.blake3(_CHUNK_TAG)
    h.update(leaves)
    return h.hexdigest()


@functools.lru_cache(maxsize=16)
def zero_chunk(length: int) -> str:
    """The chunk digest of length bytes of zeros (or a hole)."""
    return chunk_digest(zero_leaves(length))


def root_digest(size: int, digests: Iterable[str]) -> str:
    import blake3

    h = blake3.blake3(_ROOT_TAG + size.to_bytes(8, "big"))
    for d in digests:
        h.update(bytes.fromhex(d))
    return h.hexdigest()


def hash_leaves(buf: bytes | bytearray | memoryview, data: Iterable[tuple[int, int]] | None = None,
                first: int = 0, count: int | None = None) -> bytes:
    """Leaf digests of buf (a chunk or a run of whole leaves from it; first
    and count select leaves). data: (offset, length) extents within buf that
    hold data; leaves outside them are holes and get the zero digest unread."""
    import blake3

    mv = memoryview(buf)
    total = leaf_count(len(mv))
    count = total - first if count is None else count
    wanted: set[int] | None = None
    if data is not None:
        wanted = set()
        for off, length in data:
            wanted.update(range(off // LEAF, (off + length - 1) // LEAF + 1))
    out = bytearray()
    for k in range(first, first + count):
        piece = mv[k * LEAF:(k + 1) * LEAF]
        if wanted is not None and k not in wanted:
            out += zero_leaf(len(piece))
        else:
            out += blake3.blake3(piece).digest()
    return bytes(out)


def legacy_chunk(buf: bytes | bytearray | memoryview) -> str:
    """A version 1 record's chunk digest: sha256 of the 4 MiB."""
    return hashlib.sha256(buf).hexdigest()


@functools.lru_cache(maxsize=8)
def legacy_zero(length: int) -> str:
    return legacy_chunk(bytes(length))


def legacy_root(digests: Iterable[str]) -> str:
    h = hashlib.sha256()
    for d in digests:
        h.update(bytes.fromhex(d))
    return h.hexdigest()


def leaf_of(leaves: bytes, k: int) -> bytes:
    return leaves[k * DIGEST:(k + 1) * DIGEST]


def first_leaf_difference(a: bytes, b: bytes) -> int:
    """Index of the first leaf where two leaf-digest strings differ."""
    n = min(len(a), len(b)) // DIGEST
    return next((k for k in range(n) if leaf_of(a, k) != leaf_of(b, k)), n)


@dataclass(frozen=True)
class Hashed:
    """One chunk of a file, hashed: its digest, its leaf digests and (when
    asked for, to check a version 1 record) its sha256."""

    digest: str
    leaves: bytes
    legacy: str | None = None


def chunk_len(size: int, i: int) -> int:
    return min(CHUNK, size - i * CHUNK)


def chunk_extents(extents: list[tuple[int, int]], wanted: Iterable[int],
                  size: int) -> Iterator[tuple[int, list[tuple[int, int]]]]:
    """For each of the sorted chunk indexes wanted, the data extents of the
    file (sorted (offset, length)) inside it, relative to the chunk."""
    j = 0
    for i in wanted:
        start, length = i * CHUNK, chunk_len(size, i)
        while j < len(extents) and extents[j][0] + extents[j][1] <= start:
            j += 1
        inside = []
        for off, n in extents[j:]:
            if off >= start + length:
                break
            lo, hi = max(off, start), min(off + n, start + length)
            inside.append((lo - start, hi - lo))
        yield i, inside


def hash_file(fd: int, size: int, chunks: Iterable[int] | None = None,
              progress: Progress | None = None, legacy: bool = False,
              name: str = "the file") -> dict[int, Hashed]:
    """Hash each chunk index (all when chunks is None) of an open file of the
    given size, reading each chunk once; leaves in holes are not read. A
    file cut short meanwhile is a CowError naming it (name)."""
    count = -(-size // CHUNK)
    wanted = list(range(count)) if chunks is None else sorted(set(chunks))
    out: dict[int, Hashed] = {}
    todo: list[tuple[int, list[tuple[int, int]]]] = []
    for i, inside in chunk_extents(list(data_extents(fd, 0, size)), wanted, size):
        if inside:
            todo.append((i, inside))
        else:
            length = chunk_len(size, i)
            out[i] = Hashed(zero_chunk(length), zero_leaves(length),
                            legacy_zero(length) if legacy else None)
    total = sum(chunk_len(size, i) for i in wanted)
    counter = Counter(progress, "hashing", total,
                      total - sum(chunk_len(size, i) for i, _ in todo))

    buffers = threading.local()

    def one(job: tuple[int, list[tuple[int, int]]]) -> tuple[int, Hashed]:
        i, inside = job
        length = chunk_len(size, i)
        if not hasattr(buffers, "buf"):
            buffers.buf = bytearray(CHUNK)  # one per thread, reused
        buf = memoryview(buffers.buf)[:length]
        read_exact(fd, buf, i * CHUNK, f"{name} changed while it was hashed")
        leaves = hash_leaves(buf, inside)
        return i, Hashed(chunk_digest(leaves), leaves, legacy_chunk(buf) if legacy else None)

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(WORKERS) as pool:
        for i, h in bounded_map(pool, one, todo):
            out[i] = h
            counter.add(chunk_len(size, i))
    return out


def rehash_leaves(fd: int, size: int, leaves: Callable[[int], bytes],
                  ranges: Iterable[tuple[int, int]], name: str = "the file") -> dict[int, bytes]:
    """Hash the leaves in ranges ([first, end) leaf indexes, sorted) again
    after they were rewritten, reading only them; leaves(i) gives chunk i's
    leaf digests as they were. The new leaf digests of every chunk touched.
    Runs of leaves go to WORKERS threads in batches of about BATCH bytes."""
    pieces: list[tuple[int, int]] = []  # [first, end) leaves, none across a chunk
    for a, b in ranges:
        while a < b:
            end = min(b, (a // LEAVES + 1) * LEAVES)
            if min(end * LEAF, size) <= a * LEAF:
                break
            pieces.append((a, end))
            a = end
    batches: list[list[tuple[int, int]]] = []
    held = BATCH
    for a, end in pieces:
        if held >= BATCH:
            batches.append([])
            held = 0
        batches[-1].append((a, end))
        held += (end - a) * LEAF
    changed = f"{name} changed while it was hashed"

    def one(batch: list[tuple[int, int]]) -> list[tuple[int, bytes]]:
        out = []
        for a, end in batch:
            start = a * LEAF
            buf = bytearray(min(end * LEAF, size) - start)
            read_exact(fd, memoryview(buf), start, changed)
            out.append((a, hash_leaves(buf)))
        return out

    touched: dict[int, bytearray] = {}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(WORKERS) as pool:
        for done in bounded_map(pool, one, batches):
            for a, digests in done:
                i = a // LEAVES
                if i not in touched:
                    touched[i] = bytearray(leaves(i))
                k = a - i * LEAVES
                touched[i][k * DIGEST:k * DIGEST + len(digests)] = digests
    return {i: bytes(new) for i, new in touched.items()}
