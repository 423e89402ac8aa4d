"""The backing-file record next to every COW partwright writes.

`COW.backing.json` holds the backing file's path, size, mtime_ns, ctime_ns,
dev, ino and a sha256 digest per 4 MiB chunk (chunks that are holes get the
precomputed digest of zeros, so sparse files hash fast) plus a root digest
over that list. UML itself checks only size and whole-second mtime, which a
`touch -d` restores; ctime cannot be restored, and the digests tell a real
change from a harmless copy.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from engine.cow.files import (
    WORKERS,
    AtomicOutput,
    absolutize,
    bounded_map,
    file_size,
    resolve_backing,
    same_file,
)
from engine.cow.format import PATH_LEN, CowHeader, pack_mtime
from engine.errors import CowError
from engine.host.atomic import StrPath
from engine.host.progress import Counter, Progress
from engine.host.sparse import data_extents

ALGORITHM = "sha256"
CHUNK = 4 << 20
SUFFIX = ".backing.json"
SIDECAR_VERSION = 1



@dataclass(frozen=True)
class Sidecar:
    path: str
    size: int
    mtime_ns: int
    ctime_ns: int
    dev: int
    ino: int
    digests: tuple[str, ...]
    algorithm: str = ALGORITHM
    chunk: int = CHUNK

    @property
    def root(self) -> str:
        return root_digest(self.digests)


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


@functools.lru_cache(maxsize=8)
def zero_digest(length: int) -> str:
    return hashlib.sha256(bytes(length)).hexdigest()


def root_digest(digests: Iterable[str]) -> str:
    h = hashlib.sha256()
    for d in digests:
        h.update(bytes.fromhex(d))
    return h.hexdigest()


def hash_chunks(fd: int, size: int, chunks: Iterable[int] | None = None,
                progress: Progress | None = None, chunk: int = CHUNK) -> dict[int, str]:
    """sha256 of each chunk index (all when chunks is None) of an open file
    of the given size, on a few threads. Chunks that lie wholly in holes are
    not read."""
    count = -(-size // chunk)
    wanted = list(range(count)) if chunks is None else sorted(set(chunks))
    extents = list(data_extents(fd, 0, size))
    total = sum(min(chunk, size - i * chunk) for i in wanted)
    out: dict[int, str] = {}
    todo: list[int] = []
    j = 0
    for i in wanted:
        start = i * chunk
        length = min(chunk, size - start)
        while j < len(extents) and extents[j][0] + extents[j][1] <= start:
            j += 1
        if j >= len(extents) or extents[j][0] >= start + length:
            out[i] = zero_digest(length)
        else:
            todo.append(i)
    counter = Counter(progress, "hashing", total, total - sum(min(chunk, size - i * chunk) for i in todo))

    def digest(i: int) -> tuple[int, str, int]:
        start = i * chunk
        length = min(chunk, size - start)
        buf = os.pread(fd, length, start)
        if len(buf) < length:
            buf += bytes(length - len(buf))
        return i, hashlib.sha256(buf).hexdigest(), length

    with ThreadPoolExecutor(WORKERS) as pool:
        for i, d, length in bounded_map(pool, digest, todo):
            out[i] = d
            counter.add(length)
    return out


def record(path: StrPath, fd: int | None = None, digests: Iterable[str] | None = None,
           progress: Progress | None = None) -> Sidecar:
    """A fresh record of the backing file at path (hashing it unless the
    digests are given)."""
    own = fd is None
    if fd is None:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        size = file_size(fd)
        if digests is None:
            hashed = hash_chunks(fd, size, progress=progress)
            digest_list = tuple(hashed[i] for i in range(len(hashed)))
        else:
            digest_list = tuple(digests)
    finally:
        if own:
            os.close(fd)
    return Sidecar(os.path.abspath(os.fspath(path)), size, st.st_mtime_ns, st.st_ctime_ns,
                   st.st_dev, st.st_ino, digest_list)


def write(cow: StrPath, sc: Sidecar) -> None:
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
        "root": sc.root,
        "digests": list(sc.digests),
    }
    with AtomicOutput(sidecar_path(cow), force=True) as out:
        os.write(out.fd, (json.dumps(doc, indent=1) + "\n").encode())
        out.commit()


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
    try:
        sc = Sidecar(str(doc["path"]), int(doc["size"]), int(doc["mtime_ns"]),
                     int(doc["ctime_ns"]), int(doc["dev"]), int(doc["ino"]),
                     tuple(str(d) for d in doc["digests"]), str(doc["algorithm"]),
                     int(doc["chunk"]))
        root = str(doc["root"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CowError(f"{where}: malformed backing record ({exc})") from None
    if sc.algorithm != ALGORITHM or sc.chunk <= 0:
        raise CowError(f"{where}: unsupported backing record ({sc.algorithm}, chunk {sc.chunk})")
    if len(sc.digests) != -(-sc.size // sc.chunk):
        raise CowError(f"{where}: malformed backing record (digest count does not match size)")
    if sc.root != root:
        raise CowError(f"{where}: backing record is corrupt (root digest does not match)")
    return sc


def _uml_check(backing: str, header: CowHeader, size: int, mtime: int) -> None:
    if size != header.size:
        raise CowError(f"backing file {backing} changed: size mismatch, the COW header "
                       f"records {header.size} bytes, the file has {size}")
    if mtime & 0xFFFFFFFF != header.mtime:
        raise CowError(f"backing file {backing} changed: mtime mismatch, the COW header "
                       f"records {header.mtime}, the file has {mtime}")


def verify(cow: StrPath, backing: str, header: CowHeader | None, full: bool = False,
           refresh: bool = True, progress: Progress | None = None) -> Verdict:
    """Check that the backing file is the one the COW was made over.

    Raises CowError (naming the backing file and the first differing offset)
    when it changed. With refresh, an equal-content copy gets a new sidecar
    and, for UML COWs, the header mtime UML checks.
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
        stat_same = (size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev) == (
            sc.size, sc.mtime_ns, sc.ctime_ns, sc.ino, sc.dev)
        header_same = header is None or (
            size == header.size and int(st.st_mtime) & 0xFFFFFFFF == header.mtime)
        if stat_same and header_same and not full:
            return Verdict("fast", backing, (), sc)
        hashed = hash_chunks(fd, size, progress=progress, chunk=sc.chunk)
        new = tuple(hashed[i] for i in range(len(hashed)))
        if new != sc.digests:
            first = next((i for i, (a, b) in enumerate(zip(new, sc.digests, strict=False))
                          if a != b), min(len(new), len(sc.digests)))
            offset = first * sc.chunk
            extra = f", size {sc.size} -> {size}" if size != sc.size else ""
            raise CowError(
                f"backing file {backing} changed since the COW was made: first difference "
                f"in the {sc.chunk >> 20} MiB block at offset {offset} (sha256{extra})")
        fresh = replace(sc, path=os.path.abspath(backing), size=size, mtime_ns=st.st_mtime_ns,
                        ctime_ns=st.st_ctime_ns, dev=st.st_dev, ino=st.st_ino)
        notes: list[str] = []
        if stat_same and header_same:
            notes.append(f"backing file {backing}: full check, content unchanged")
        else:
            notes.append(f"note: backing file {backing} was replaced or touched (mtime, ctime "
                         "or inode changed) but its content is unchanged (sha256)")
            if not refresh:
                notes.append(f"note: {os.fspath(cow)} and its record were left as they are;"
                             " `partwright cow check --refresh` records the backing file as"
                             " it is now" + ("" if header_same else
                                            " (until then UML refuses the COW: the backing"
                                            " file's mtime differs from its header's)"))
            if refresh:
                write(cow, fresh)
                notes.append(f"note: refreshed {sidecar_path(cow)}")
                if header is not None:
                    notes.extend(_refresh_header(cow, header, backing, int(st.st_mtime),
                                                 header_same))
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


def update_chunks(sc: Sidecar, fd: int, chunks: Iterable[int], path: str) -> Sidecar:
    """The sidecar after the chunks given were rewritten in place."""
    st = os.fstat(fd)
    hashed = hash_chunks(fd, sc.size, chunks, chunk=sc.chunk)
    digests = list(sc.digests)
    for i, d in hashed.items():
        digests[i] = d
    return replace(sc, path=os.path.abspath(path), mtime_ns=st.st_mtime_ns,
                   ctime_ns=st.st_ctime_ns, dev=st.st_dev, ino=st.st_ino,
                   digests=tuple(digests))


def _records(backing: str, dirs: Iterable[str]) -> Iterator[tuple[str, Sidecar]]:
    """(COW, its sidecar) for every sidecar in dirs that names this backing
    file (by dev and inode, or by path) and whose COW still exists."""
    try:
        bst = os.stat(backing)
    except OSError:
        return
    for d in sorted(set(dirs)):
        try:
            names = sorted(os.listdir(d))
        except OSError:
            continue
        for name in names:
            if not name.endswith(SUFFIX):
                continue
            cow = os.path.join(d, name[: -len(SUFFIX)])
            if not os.path.exists(cow):
                continue
            try:
                sc = load(cow)
            except CowError:
                continue
            if sc is not None and ((sc.dev, sc.ino) == (bst.st_dev, bst.st_ino)
                                   or same_file(sc.path, backing)):
                yield cow, sc


def known_cows(backing: str, exclude: StrPath | None = None) -> list[str]:
    """COW files with a sidecar naming this backing file, found in the
    backing file's directory and the excluded COW's directory."""
    dirs = [os.path.dirname(os.path.abspath(backing))]
    if exclude is not None:
        dirs.append(os.path.dirname(os.path.abspath(os.fspath(exclude))))
    return [cow for cow, _ in _records(backing, dirs)
            if exclude is None or not same_file(cow, exclude)]


def current_record(backing: str, fd: int, dirs: Iterable[str]) -> Sidecar | None:
    """A record of the open backing file that is still current by the fast
    path (size, mtime_ns, ctime_ns, dev, inode unchanged): its digests can
    be reused instead of hashing the file again."""
    st = os.fstat(fd)
    now = (file_size(fd), st.st_mtime_ns, st.st_ctime_ns, st.st_dev, st.st_ino)
    for _, sc in _records(backing, dirs):
        if (sc.size, sc.mtime_ns, sc.ctime_ns, sc.dev, sc.ino) == now and sc.chunk == CHUNK:
            return sc
    return None
