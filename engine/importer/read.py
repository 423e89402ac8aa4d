"""read_disk(path): a raw or qcow2 image, a block device (read-only) or an
sfdisk --dump/--json file, as a DiskRead.

Images are read by engine.image.inspect (the table by sfdisk, each
filesystem by blkid, LUKS/LVM/md containers, clone pairs by content); qcow2
and the other formats qemu-img reads are first converted to a sparse raw
scratch file. Then the KIWI files: `IMAGE.partids` next to the image (what
`partwright build` writes), else /config.partids, and /etc/fstab, from the
root filesystem without mounting it (engine.importer.files), in a plain
partition, an md member's data area or an LVM volume.

Bad input is one line (PartwrightError, exit 2): no such file, no partition
table, a table with no partitions, partitions past the end of a truncated
image.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from dataclasses import replace

from engine.errors import PartwrightError
from engine.image.inspect import InspectedPartition, InspectReport, inspect
from engine.image.inspect.formats import image_format, write_raw
from engine.image.metadata import parse_partids
from engine.importer.dump import looks_like_dump, parse_dump, parse_json
from engine.importer.files import ROOT_FILESYSTEMS, parse_fstab, read_files
from engine.importer.model import DiskRead, ReadPartition, Volume
from engine.units import MIB, SECTOR_SIZE

MAX_DUMP_BYTES = 16 * MIB  # a table dump is a few KiB; larger files are images
ROOT_NAMES = ("p.lxroot", "p.lxlvm", "p.lxraid", "p.lxreadonly")
DPS_ROOTS = ("8303", "8304", "8305")
FILES = ("/etc/fstab", "/config.partids")


def read_disk(path: str) -> DiskRead:
    """What the disk at `path` holds (see the module docstring)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise PartwrightError(f"{path}: {exc.strerror}") from None
    if stat.S_ISBLK(mode):
        return _read_image(path, path, "block device", "device")
    if not stat.S_ISREG(mode):
        raise PartwrightError(f"{path} is neither an image file nor a block device")
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if looks_like_dump(head):
        if os.path.getsize(path) > MAX_DUMP_BYTES:
            raise PartwrightError(f"{path}: too large for an sfdisk dump")
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        return parse_json(text, path) if text.lstrip("\ufeff \t\r\n").startswith("{") \
            else parse_dump(text, path)
    fmt = image_format(path, head)
    if fmt == "raw":
        return _read_image(path, path, "raw", "image")
    # the root filesystem's files are read from a raw copy: inspect's own is gone when it returns
    scratch = tempfile.mkdtemp(prefix="partwright-import-")
    try:
        raw = os.path.join(scratch, "image.raw")
        write_raw(path, fmt, raw)
        return _read_image(raw, path, fmt, "image")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _read_image(raw: str, path: str, fmt: str, kind: str) -> DiskRead:
    try:
        report = inspect(raw)
    except PartwrightError as exc:
        raise PartwrightError(exc.message.replace(raw, path)) from None
    if not report.partitions:
        raise PartwrightError(f"{path}: the partition table holds no partitions")
    if report.table == "msdos" and any(p.code.lower() == "ee" for p in report.partitions):
        raise PartwrightError(f"{path}: a GPT's protective MBR, but no GPT that can be read (cut"
                              " off or damaged: a truncated image?)")
    sectors = report.disk_bytes // SECTOR_SIZE
    if kind == "device":
        with open(raw, "rb") as dev:
            sectors = dev.seek(0, os.SEEK_END) // SECTOR_SIZE
    past = [p for p in report.partitions if p.end >= sectors]
    if past:
        raise PartwrightError(f"{path}: partition {past[0].number} ends at sector {past[0].end},"
                              f" past the end of the image ({sectors} sectors): a truncated image")
    parts = tuple(_partition(p) for p in report.partitions)
    read = DiskRead(
        source=path, kind="device" if kind == "device" else "image", format=fmt,
        table="gpt" if report.table == "gpt" else "msdos", disk_sectors=sectors,
        disk_size_known=True, partitions=parts,
        clones=tuple((c.origin, c.clone) for c in report.clones),
        hybrid_mbr=report.table == "gpt" and _hybrid(raw))
    return _kiwi_files(read, raw, report, path)


def _partition(p: InspectedPartition) -> ReadPartition:
    c = p.container
    volumes: tuple[Volume, ...] = ()
    inner_fs = inner_label = None
    if c is not None and c.kind == "LVM2_member":
        volumes = tuple(Volume(fs.where, fs.size // MIB, fs.filesystem, fs.label)
                        for fs in c.inner)
    elif c is not None and c.inner:
        inner_fs, inner_label = c.inner[0].filesystem, c.inner[0].label
    return ReadPartition(
        number=p.number, start=p.start, end=p.end, code=p.code, name=p.name,
        partuuid=p.partuuid, filesystem=p.filesystem, version=p.version, uuid=p.uuid,
        label=p.label, container=c.kind if c else None,
        luks_version=c.version if c and c.kind == "crypto_LUKS" else None,
        md_level=c.level if c else None, inner_filesystem=inner_fs, inner_label=inner_label,
        vg_name=c.vg_name if c else None, volumes=volumes)


def _hybrid(raw: str) -> bool:
    """The MBR lists partitions besides the GPT's protective one."""
    with open(raw, "rb") as fh:
        mbr = fh.read(512)
    if len(mbr) < 512 or mbr[510:512] != b"\x55\xaa":
        return False
    return any(mbr[446 + 16 * i + 4] not in (0x00, 0xEE) for i in range(4))


def _root_places(report: InspectReport) -> list[tuple[str, int, int, str]]:
    """(where, byte offset, size, filesystem) of root filesystem candidates, best first."""
    clones = {c.clone for c in report.clones}
    ranked: list[tuple[int, tuple[str, int, int, str]]] = []
    ss = SECTOR_SIZE
    for p in report.partitions:
        if p.number in clones:
            continue
        rank = 0 if p.name in ROOT_NAMES else 1 if p.label == "ROOT" or p.code in DPS_ROOTS else 2
        if p.filesystem in ROOT_FILESYSTEMS:
            ranked.append((rank, (f"partition {p.number}", p.start * ss, p.sectors * ss,
                                  p.filesystem or "")))
        for fs in (p.container.inner if p.container else ()):
            if fs.filesystem in ROOT_FILESYSTEMS:
                inner_rank = 0 if fs.where in ("LVRoot", "data") else 3
                ranked.append((inner_rank, (f"partition {p.number} ({fs.where})", fs.offset,
                                            fs.size, fs.filesystem or "")))
    ranked.sort(key=lambda r: (r[0], -r[1][2]))
    return [place for _, place in ranked[:4]]


def _kiwi_files(read: DiskRead, raw: str, report: InspectReport, path: str) -> DiskRead:
    notes: list[str] = []
    partids: dict[str, str] | None = None
    partids_from = None
    sidecar = path + ".partids"
    if os.path.isfile(sidecar):
        with open(sidecar, encoding="utf-8", errors="replace") as fh:
            partids, partids_from = parse_partids(fh.read()), sidecar
    fstab: tuple[tuple[str, str, str], ...] = ()
    fstab_from = None
    for where, offset, size, fstype in _root_places(report):
        found = read_files(raw, offset, size, fstype, FILES)
        if "/etc/fstab" in found and not fstab_from:
            fstab, fstab_from = parse_fstab(found["/etc/fstab"]), f"/etc/fstab in {where}"
        if "/config.partids" in found and partids is None:
            partids, partids_from = parse_partids(found["/config.partids"]), \
                f"/config.partids in {where}"
        if fstab_from:
            break
    notes += [w.replace(raw, path) for w in report.warnings]
    if fstab_from is None:
        notes.append("no /etc/fstab found in a root filesystem: mountpoints of custom"
                     " partitions are not known")
    return replace(read, partids=tuple(sorted((partids or {}).items())), partids_from=partids_from,
                   fstab=fstab, fstab_from=fstab_from, notes=tuple(notes))
