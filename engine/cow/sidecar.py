"""The backing-file record next to every COW partwright writes.

`COW.backing.json` holds the backing file's path, size, mtime_ns, ctime_ns,
dev and ino, and the digest tree of its content (engine.cow.tree): a BLAKE3
digest per 64 KiB leaf, per 4 MiB chunk (over its leaves) and a root over
the chunks and the size. UML itself checks only size and whole-second
mtime, which a `touch -d` restores; ctime cannot be restored, and the
digests tell a real change from a harmless copy. An in-place merge updates
the record by hashing only the leaves it wrote.

Records of the previous version (a sha256 per 4 MiB chunk, no leaves) are
still checked; `cow check --refresh` upgrades them.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from engine.cow import tree
from engine.cow.files import AtomicOutput, absolutize, file_size, resolve_backing, same_file
from engine.cow.format import PATH_LEN, CowHeader, pack_mtime
from engine.errors import CowError
from engine.host.atomic import StrPath
from engine.host.progress import Progress

ALGORITHM = tree.ALGORITHM
CHUNK = tree.CHUNK
LEAF = tree.LEAF
SUFFIX = ".backing.json"
SIDECAR_VERSION = 2


@dataclass(frozen=True)
class Sidecar:
    """A backing file's record. digests: one per 4 MiB chunk; leaves: the
    64 KiB leaf digests of every chunk that is not all zeros, as bytes or
    still in the record's base64 (decoded and checked against the chunk's
    digest when first used; None in a version 1 record, whose digests are
    sha256 of the chunks)."""

    path: str
    size: int
    mtime_ns: int
    ctime_ns: int
    dev: int
    ino: int
    digests: tuple[str, ...]
    algorithm: str = ALGORITHM
    chunk: int = CHUNK
    leaves: dict[int, bytes | str] | None = field(default=None, repr=False)

    @property
    def version(self) -> int:
        return 1 if self.leaves is None else 2

    @property
    def root(self) -> str:
        if self.leaves is None:
            return tree.legacy_root(self.digests)
        return tree.root_digest(self.size, self.digests)

    def check_leaves(self) -> None:
        """Decode and check every chunk's leaves (CowError if corrupt)."""
        for i in list(self.leaves or ()):
            self.chunk_leaves(i)

    def chunk_leaves(self, i: int) -> bytes:
        """The leaf digests of chunk i; CowError if they do not give its digest."""
        assert self.leaves is not None
        got = self.leaves.get(i)
        if isinstance(got, bytes):
            return got
        if got is None:
            leaves = tree.zero_leaves(tree.chunk_len(self.size, i))
        else:
            try:
                leaves = binascii.a2b_base64(got)
            except (binascii.Error, ValueError):
                leaves = b""
        if tree.chunk_digest(leaves) != self.digests[i]:
            raise CowError(f"the backing record of {self.path} is corrupt: the leaves of the "
                           f"4 MiB block at offset {i * CHUNK} do not give its digest")
        if got is not None:
            self.leaves[i] = leaves
        return leaves


@dataclass(frozen=True)
class Verdict:
    """How the backing file was checked: "fast" (stat unchanged), "rehashed"
    (stat changed, content equal), "uml" (no sidecar: size and mtime only)."""

    how: str
    backing: str
    notes: tuple[str, ...] = ()
    sidecar: Sidecar | None = None


def sidecar_path(cow: StrPath) -> str:
    return os.fspath(cow) + SUFFIX


def zero_digest(length: int) -> str:
    """The chunk digest of length bytes of zeros (a hole)."""
    return tree.zero_chunk(length)


def from_hashed(path: StrPath, st: os.stat_result, size: int,
                hashed: dict[int, tree.Hashed]) -> Sidecar:
    """A record of the file at path from its stat and every chunk hashed."""
    count = -(-size // CHUNK)
    digests = tuple(hashed[i].digest for i in range(count))
    leaves: dict[int, bytes | str] = {i: hashed[i].leaves for i in range(count)
              if hashed[i].leaves != tree.zero_leaves(tree.chunk_len(size, i))}
    return Sidecar(os.path.abspath(os.fspath(path)), size, st.st_mtime_ns, st.st_ctime_ns,
                   st.st_dev, st.st_ino, digests, leaves=leaves)


def record(path: StrPath, fd: int | None = None, hashed: dict[int, tree.Hashed] | None = None,
           progress: Progress | None = None) -> Sidecar:
    """A fresh record of the backing file at path (hashing it unless the
    hashed chunks are given)."""
    own = fd is None
    if fd is None:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        size = file_size(fd)
        if hashed is None:
            hashed = tree.hash_file(fd, size, progress=progress, name=os.fspath(path))
    finally:
        if own:
            os.close(fd)
    return from_hashed(path, st, size, hashed)


def write(cow: StrPath, sc: Sidecar) -> None:
    if sc.leaves is None:
        raise ValueError("only version 2 records are written")
    doc = {
        "version": SIDECAR_VERSION,
        "path": sc.path,
        "size": sc.size,
        "mtime_ns": sc.mtime_ns,
        "ctime_ns": sc.ctime_ns,
        "dev": sc.dev,
        "ino": sc.ino,
        "algorithm": sc.algorithm,
        "chunk": sc.chunk,
        "leaf": LEAF,
        "root": sc.root,
        "digests": list(sc.digests),
    }
    text = json.dumps(doc, indent=1)[:-2]  # the leaves go last, one chunk a line
    parts = [f'"{i}": "{_b64(sc.leaves[i])}"' for i in sorted(sc.leaves)]
    text += ',\n "leaves": {' + (",\n  ".join(parts)) + "}\n}\n"
    with AtomicOutput(sidecar_path(cow), force=True) as out:
        os.write(out.fd, text.encode())
        out.commit()


def _b64(leaves: bytes | str) -> str:
    return leaves if isinstance(leaves, str) else base64.b64encode(leaves).decode()


def load(cow: StrPath) -> Sidecar | None:
    """The sidecar of cow, None if there is none."""
    where = sidecar_path(cow)
    try:
        with open(where, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise CowError(f"{where}: unreadable backing record: {exc}") from None
    if not isinstance(doc, dict):
        raise CowError(f"{where}: malformed backing record (not an object)")
    version = doc.get("version", 1)
    if version not in (1, 2):
        raise CowError(f"{where}: backing record version {version} was written by a newer "
                       "partwright than this one: update partwright to check it")
    try:
        sc = Sidecar(str(doc["path"]), int(doc["size"]), int(doc["mtime_ns"]),
                     int(doc["ctime_ns"]), int(doc["dev"]), int(doc["ino"]),
                     tuple(str(d) for d in doc["digests"]), str(doc["algorithm"]),
                     int(doc["chunk"]))
        root = str(doc["root"])
        if version == 2:
            leaves: dict[int, bytes | str] = {int(k): str(v)
                                              for k, v in dict(doc["leaves"]).items()}
            if int(doc["leaf"]) != LEAF:
                raise ValueError(f"leaf {doc['leaf']}")
    except (KeyError, TypeError, ValueError) as exc:
        raise CowError(f"{where}: malformed backing record ({exc})") from None
    wanted = tree.ALGORITHM if version == 2 else tree.LEGACY_ALGORITHM
    if sc.algorithm != wanted or sc.chunk != CHUNK and version == 2 or sc.chunk <= 0:
        raise CowError(f"{where}: unsupported backing record ({sc.algorithm}, chunk {sc.chunk})")
    count = -(-sc.size // sc.chunk)
    if len(sc.digests) != count:
        raise CowError(f"{where}: malformed backing record (digest count does not match size)")
    if version == 2:
        sc = replace(sc, leaves=leaves)
    if sc.root != root:
        raise CowError(f"{where}: backing record is corrupt (root digest does not match)")
    if version == 2:
        if set(leaves) - set(range(count)):
            raise CowError(f"{where}: malformed backing record (leaves past the end)")
    return sc


def _uml_check(backing: str, header: CowHeader, size: int, mtime: int) -> None:
    if size != header.size:
        raise CowError(f"backing file {backing} changed: size mismatch, the COW header "
                       f"records {header.size} bytes, the file has {size}")
    if mtime & 0xFFFFFFFF != header.mtime:
        raise CowError(f"backing file {backing} changed: mtime mismatch, the COW header "
                       f"records {header.mtime}, the file has {mtime}")


def _difference(backing: str, sc: Sidecar, size: int, hashed: dict[int, tree.Hashed]) -> str:
    """The one line naming the first chunk (and 64 KiB leaf) that differs."""
    new = [hashed[i].legacy if sc.leaves is None else hashed[i].digest
           for i in range(len(hashed))]
    first = next((i for i, (a, b) in enumerate(zip(new, sc.digests, strict=False)) if a != b),
                 min(len(new), len(sc.digests)))
    offset = first * sc.chunk
    where = f"in the {sc.chunk >> 20} MiB block at offset {offset}"
    if sc.leaves is not None and first < min(len(new), len(sc.digests)):
        k = tree.first_leaf_difference(hashed[first].leaves, sc.chunk_leaves(first))
        where += f" (its {LEAF >> 10} KiB at offset {offset + k * LEAF})"
    extra = f", size {sc.size} -> {size}" if size != sc.size else ""
    return (f"backing file {backing} changed since the COW was made: first difference "
            f"{where} ({sc.algorithm}{extra})")


def legacy_note(cow: StrPath) -> str:
    return (f"note: {sidecar_path(cow)} is a version 1 record (a sha256 per 4 MiB): "
            "`partwright cow check --refresh` upgrades it, so that in-place merges "
            "re-hash only what they write")


def verify(cow: StrPath, backing: str, header: CowHeader | None, full: bool = False,
           refresh: bool = True, progress: Progress | None = None,
           upgrade: bool = False) -> Verdict:
    """Check that the backing file is the one the COW was made over.

    Raises CowError (naming the backing file and the first differing offset)
    when it changed. With refresh, an equal-content copy gets a new sidecar
    and, for UML COWs, the header mtime UML checks. With upgrade (and
    refresh), a version 1 record is checked in full and rewritten as a tree.
    """
    try:
        fd = os.open(backing, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise CowError(f"backing file {backing} does not exist (named by {os.fspath(cow)})") from None
    except OSError as exc:
        raise CowError(f"backing file {backing}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        size = file_size(fd)
        sc = load(cow)
        if sc is None:
            if header is None:
                return Verdict("none", backing, (
                    f"note: no backing record {sidecar_path(cow)}: the backing file's "
                    "content is not checked",))
            _uml_check(backing, header, size, int(st.st_mtime))
            return Verdict("uml", backing, (
                f"note: no backing record {sidecar_path(cow)}: checked only size and mtime, "
                "as UML does (a content change with a restored mtime would go unnoticed)",))
        legacy = sc.leaves is None
        upgrading = legacy and upgrade and refresh
        stat_same = (size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev) == (
            sc.size, sc.mtime_ns, sc.ctime_ns, sc.ino, sc.dev)
        header_same = header is None or (
            size == header.size and int(st.st_mtime) & 0xFFFFFFFF == header.mtime)
        if stat_same and header_same and not full and not upgrading:
            return Verdict("fast", backing, (legacy_note(cow),) if legacy else (), sc)
        hashed = tree.hash_file(fd, size, progress=progress, legacy=legacy,
                                name=f"backing file {backing}")
        new = tuple((h.legacy if legacy else h.digest) for _, h in sorted(hashed.items()))
        if new != sc.digests:
            raise CowError(_difference(backing, sc, size, hashed))
        fresh = replace(from_hashed(backing, st, size, hashed), path=os.path.abspath(backing))
        notes: list[str] = []
        if stat_same and header_same:
            notes.append(f"backing file {backing}: full check, content unchanged")
        else:
            notes.append(f"note: backing file {backing} was replaced or touched (mtime, ctime "
                         "or inode changed) but its content is unchanged "
                         f"({sc.algorithm})")
        if not refresh and not (stat_same and header_same):
            notes.append(f"note: {os.fspath(cow)} and its record were left as they are;"
                         " `partwright cow check --refresh` records the backing file as"
                         " it is now" + ("" if header_same else
                                        " (until then UML refuses the COW: the backing"
                                        " file's mtime differs from its header's)"))
        elif refresh and (upgrading or not (stat_same and header_same)):
            write(cow, fresh)
            notes.append(f"note: refreshed {sidecar_path(cow)}" +
                         (" (upgraded to version 2, a digest tree)" if legacy else ""))
            if header is not None:
                notes.extend(_refresh_header(cow, header, backing, int(st.st_mtime),
                                             header_same))
        elif legacy:
            notes.append(legacy_note(cow))
        return Verdict("rehashed", backing, tuple(notes), fresh)
    finally:
        os.close(fd)


def _refresh_header(cow: StrPath, header: CowHeader, backing: str, mtime: int,
                    header_same: bool) -> list[str]:
    """Make the UML header agree with an equal-content backing file: its
    mtime and, when the backing file moved (v3 only, as the kernel does when
    switching backing files), its path."""
    named = resolve_backing(header.backing_file, cow)
    moved = not os.path.exists(named) or not same_file(named, backing)
    new_path = absolutize(backing)
    writes: list[tuple[bytes, int]] = []
    notes: list[str] = []
    if not header_same:
        writes.append((pack_mtime(header, mtime), header.mtime_offset))
    path_written = moved and header.version == 3 and len(os.fsencode(new_path)) < PATH_LEN
    if path_written:
        writes.append((os.fsencode(new_path).ljust(PATH_LEN, b"\0"), 36 if header.broken else 32))
    elif moved:
        notes.append(f"note: the {header.layout} COW header still names {named}; "
                     "give the backing file's new path each time")
    if not writes:
        return notes
    try:
        fd = os.open(cow, os.O_WRONLY | os.O_CLOEXEC)
    except OSError:
        return [*notes, "note: could not update the COW header (read-only); UML will refuse it"]
    try:
        for raw, offset in writes:
            os.pwrite(fd, raw, offset)
        os.fsync(fd)
    finally:
        os.close(fd)
    if not header_same:
        notes.append("note: updated the COW header mtime so UML accepts it")
    if path_written:
        notes.append(f"note: the COW header now names {new_path}")
    return notes


def update_written(sc: Sidecar, fd: int, ranges: Iterable[tuple[int, int]],
                   path: str) -> tuple[Sidecar, list[str]]:
    """The record after the leaf ranges given ([first, end) leaf indices,
    sorted) were rewritten in place: only they are
    hashed again, the rest of each chunk's leaves come from the record. A
    version 1 record has no leaves: the whole file is hashed into a tree."""
    st = os.fstat(fd)
    if sc.leaves is None:
        fresh = record(path, fd)
        return fresh, ["note: upgraded the backing record to version 2 (a digest tree): "
                       f"{path} was hashed in full once"]
    leaves = dict(sc.leaves)
    digests = list(sc.digests)
    zero = tree.zero_leaves(CHUNK)
    for i, new in tree.rehash_leaves(fd, sc.size, sc.chunk_leaves, ranges,
                                               f"backing file {path}").items():
        digests[i] = tree.chunk_digest(new)
        if new == zero[:len(new)]:
            leaves.pop(i, None)
        else:
            leaves[i] = new
    return replace(sc, path=os.path.abspath(path), mtime_ns=st.st_mtime_ns,
                   ctime_ns=st.st_ctime_ns, dev=st.st_dev, ino=st.st_ino,
                   digests=tuple(digests), leaves=leaves), []
