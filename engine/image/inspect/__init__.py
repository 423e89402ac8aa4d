"""inspect(path): read any disk image back (ours, systemd-repart's, KIWI's).

Reports the table (sfdisk --json), the filesystem in each partition
(blkid -p: TYPE, VERSION, UUID, LABEL), the containers (`containers`),
identifiers used twice, which partitions are clones of which (`clones`),
and whether `IMAGE.partids` agrees (`partids`). `warnings` says what a
careful reader must know although the image could be read: a primary or
backup GPT that is missing or corrupt (sfdisk quietly reads the other
copy), identifiers shared, IMAGE.partids disagreeing with the table.

What is read, never written: a regular file (raw; qcow2 and every other
format qemu-img reads, converted to a sparse raw temporary file first, the
backing chain included), a UML COW file (merged with its backing file into
a sparse raw temporary file, the backing file's record checked but not
refreshed), or a block device.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile

from engine.errors import PartwrightError, ToolError
from engine.host import sparse
from engine.image import gpt
from engine.image.clone import Region, probe
from engine.image.inspect.clones import duplicates, find_clones
from engine.image.inspect.containers import read_container
from engine.image.inspect.formats import image_format, write_raw
from engine.image.inspect.model import (
    ClonePair,
    ContainerInfo,
    InnerFilesystem,
    InspectedPartition,
    InspectReport,
)
from engine.image.inspect.partids import CLONE_KEY, partids_problems
from engine.image.metadata import parse_partids
from engine.image.verify import TableRead, read_table

__all__ = ["ClonePair", "ContainerInfo", "InnerFilesystem", "InspectReport", "InspectedPartition",
           "inspect", "read_container"]

EXTENDED_IDS = (0x5, 0xF, 0x85)  # msdos extended partitions: nothing to probe inside


def inspect(path: str) -> InspectReport:
    """Read the image at `path` back (see the module docstring)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise PartwrightError(f"{path} does not exist") from None
    except OSError as exc:
        raise PartwrightError(f"{path}: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise PartwrightError(f"{path} is a directory, not a disk image")
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISBLK(st.st_mode)):
        raise PartwrightError(f"{path} is neither a disk image file nor a block device")
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise PartwrightError(f"{path}: cannot read: {exc.strerror}") from None
    fmt = image_format(path, head)
    if fmt == "raw":
        return _inspect_raw(path, path, "block device" if stat.S_ISBLK(st.st_mode) else fmt)
    tmpdir = tempfile.mkdtemp(prefix="partwright-inspect-")
    try:
        raw = os.path.join(tmpdir, "image.raw")
        write_raw(path, fmt, raw)
        return _inspect_raw(raw, path, fmt)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _size(path: str) -> int:
    with open(path, "rb") as fh:
        return fh.seek(0, os.SEEK_END)


def _inspect_raw(raw: str, path: str, fmt: str) -> InspectReport:
    try:
        table = read_table(raw)
    except ToolError as exc:  # no table: the input's fault, not a tool's
        what = "" if fmt in ("raw", "block device") else f" ({fmt})"
        raise PartwrightError(str(exc).replace(raw, f"{path}{what}")) from exc
    disk_bytes = _size(raw)
    warnings = [f"{path}: {problem}" for problem in
                (gpt.table_problems(raw, disk_bytes, table.sector_size)
                 if table.label == "gpt" else [])]
    partids_path = path + ".partids"
    found: dict[str, str] | None = None
    if os.path.isfile(partids_path):
        with open(partids_path, encoding="utf-8", errors="replace") as fh:
            found = parse_partids(fh.read())
    with open(raw, "rb") as img:
        parts = _partitions(raw, img.fileno(), table)
        hints = {int(v) for k, v in (found or {}).items()
                 if v.isdigit() and not CLONE_KEY.match(k)}
        clones = find_clones(img.fileno(), table.sector_size, parts, hints)
    shared = duplicates(parts)
    warnings += [f"identifier used twice: {dup}" for dup in shared]
    entries: tuple[tuple[str, str], ...] = ()
    problems: tuple[str, ...] = ()
    if found is not None:
        entries = tuple(sorted(found.items()))
        problems = tuple(partids_problems(found, parts, clones, table.label))
        warnings += [f"{partids_path}: {problem}" for problem in problems]
    is_block = stat.S_ISBLK(os.stat(path).st_mode)
    return InspectReport(
        path=path, format=fmt, table=table.label, disk_id=table.disk_id,
        disk_bytes=disk_bytes,
        allocated_bytes=disk_bytes if is_block else sparse.allocated_bytes(path),
        partitions=tuple(parts), clones=clones, duplicates=tuple(shared),
        partids_path=partids_path if found is not None else None,
        partids=entries, partids_problems=problems, warnings=tuple(warnings),
    )


def _partitions(raw: str, fd: int, table: TableRead) -> list[InspectedPartition]:
    parts = []
    for row in table.rows:
        offset, size = row.start * table.sector_size, row.sectors * table.sector_size
        if table.label == "msdos" and int(row.type, 16) in EXTENDED_IDS:
            fs: dict[str, str] = {}
        else:
            fs = probe(Region(raw, offset, size))
        parts.append(InspectedPartition(
            number=row.number, start=row.start, end=row.end, type=row.type,
            code=gpt.code_of(row.type) if table.label == "gpt" else row.type,
            name=row.name, partuuid=row.partuuid,
            filesystem=fs.get("TYPE"), version=fs.get("VERSION"),
            uuid=fs.get("UUID"), label=fs.get("LABEL"), uuid_sub=fs.get("UUID_SUB"),
            data_bytes=sparse.data_bytes(fd, offset, size),
            container=read_container(raw, offset, size, fs),
        ))
    return parts
