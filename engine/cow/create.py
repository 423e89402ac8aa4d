"""Create UML COW files (v3, as uml_mkcow does) and describe existing ones."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from engine.cow import qcow2, sidecar
from engine.cow.files import (
    AtomicOutput,
    absolutize,
    file_size,
    lock,
    open_existing,
    resolve_backing,
    same_file,
)
from engine.cow.format import (
    DEFAULT_ALIGNMENT,
    DEFAULT_SECTORSIZE,
    CowHeader,
    count_sectors,
    header_for,
    read_header,
)
from engine.errors import CowError
from engine.host.atomic import StrPath
from engine.host.progress import Progress


@dataclass(frozen=True)
class Created:
    cow: str
    backing: str
    format: str
    size: int


def _backing_stat(backing: StrPath) -> tuple[int, os.stat_result]:
    fd = open_existing(backing, os.O_RDONLY, "backing file")
    try:
        st = os.fstat(fd)
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISBLK(st.st_mode)):
            raise CowError(f"backing file {os.fspath(backing)} is not a regular file or block device")
        return file_size(fd), st
    finally:
        os.close(fd)


def create_cow(backing: StrPath, out: StrPath, fmt: str = "uml", force: bool = False,
           record: bool = True, sectorsize: int = DEFAULT_SECTORSIZE,
           alignment: int = DEFAULT_ALIGNMENT, progress: Progress | None = None) -> Created:
    """A new, empty COW over backing at out, with its backing record."""
    _backing_stat(backing)
    if os.path.lexists(out) and same_file(out, backing):
        raise CowError(f"{os.fspath(out)} is the backing file itself")
    if fmt == "qcow2":
        return _create_qcow2(backing, out, force, record, progress)
    if fmt != "uml":
        raise CowError(f"unknown COW format {fmt!r} (uml or qcow2)")
    path = absolutize(backing)
    fd = open_existing(backing, os.O_RDONLY, "backing file")
    try:
        lock(fd, False, "backing file", backing)
        size = file_size(fd)
        before = os.fstat(fd)
        sc = sidecar.record(path, fd, progress=progress) if record else None
        after = os.fstat(fd)
    finally:
        os.close(fd)
    if (before.st_mtime_ns, before.st_ctime_ns) != (after.st_mtime_ns, after.st_ctime_ns):
        raise CowError(f"backing file {path} changed while it was being recorded")
    raw, header = header_for(3, path, int(before.st_mtime), size, sectorsize, alignment)
    with AtomicOutput(out, force=force) as dst:
        os.pwrite(dst.fd, raw, 0)
        os.ftruncate(dst.fd, header.file_len)
        dst.commit()
    _record(out, sc)
    return Created(os.fspath(out), path, "uml", size)


def _create_qcow2(backing: StrPath, out: StrPath, force: bool, record: bool,
                  progress: Progress | None) -> Created:
    path = os.path.abspath(os.fspath(backing))
    fd = open_existing(backing, os.O_RDONLY, "backing file")
    try:
        size = file_size(fd)
        sc = sidecar.record(path, fd, progress=progress) if record else None
    finally:
        os.close(fd)
    with AtomicOutput(out, force=force) as dst:
        qcow2.create(path, dst.path)
        dst.reopen()
        dst.commit()
    _record(out, sc)
    return Created(os.fspath(out), path, "qcow2", size)


def _record(out: StrPath, sc: sidecar.Sidecar | None) -> None:
    """Write the new COW's backing record (after the COW itself is in place,
    so a record never describes somebody else's file), or remove a stale one."""
    if sc is not None:
        sidecar.write(out, sc)
    elif os.path.exists(sidecar.sidecar_path(out)):
        os.unlink(sidecar.sidecar_path(out))


@dataclass(frozen=True)
class CowInfo:
    path: str
    format: str  # "uml" or "qcow2"
    version: str  # v1, v2, v3, v3-broken; qcow2's compat level
    backing: str
    backing_exists: bool
    size: int  # bytes of the image (= backing file's size when made)
    file_len: int
    allocated: int
    sectors_present: int
    bytes_present: int
    sidecar: bool
    header_mtime: int | None = None
    sectorsize: int | None = None
    alignment: int | None = None
    bitmap_offset: int | None = None
    bitmap_len: int | None = None
    data_offset: int | None = None


def cow_info(cow: StrPath) -> CowInfo:
    """Describe a COW file from its header and bitmap (the backing file is
    not read)."""
    where = os.fspath(cow)
    if qcow2.is_qcow2(cow):
        q = qcow2.info(cow)
        return CowInfo(where, "qcow2", q.compat, q.backing, os.path.exists(q.backing),
                       q.size, os.stat(cow).st_size, q.allocated, -(-q.present // 512), q.present,
                       os.path.exists(sidecar.sidecar_path(cow)))
    header: CowHeader = read_header(cow)
    fd = open_existing(cow, os.O_RDONLY, "COW file")
    try:
        st = os.fstat(fd)
        if st.st_size < header.bitmap_offset + header.bitmap_len:
            raise CowError(f"{where}: bitmap is shorter than the image: the file ends at "
                           f"{st.st_size}, the bitmap at {header.bitmap_offset + header.bitmap_len}")
        present = count_sectors(fd, header)
    finally:
        os.close(fd)
    backing = resolve_backing(header.backing_file, cow)
    return CowInfo(
        where, "uml", header.layout, backing, os.path.exists(backing), header.size,
        st.st_size, st.st_blocks * 512, present,
        min(present * header.sectorsize, header.size),
        os.path.exists(sidecar.sidecar_path(cow)), header.mtime, header.sectorsize,
        header.alignment, header.bitmap_offset, header.bitmap_len, header.data_offset)
