"""inspect(path): read any disk image back (ours, systemd-repart's, KIWI's).

Reports the table (sfdisk --json), the filesystem in each partition
(blkid -p: TYPE, VERSION, UUID, LABEL), identifiers used twice, which
partitions are clones of which, and whether `IMAGE.partids` agrees.

Clones: two partitions of the same filesystem type and label (block clones
keep the label) whose data differs only in identifier bytes (partitions of different sizes count when the larger one
holds nothing past the common length: other tools round partition sizes). Every differing 4 KiB block is XORed; the
runs of differing bytes up to 4 bytes long are checksums, serials or cycle
numbers; of the longer runs, the bytes that do not lie where one of the two
filesystem UUIDs (raw or little-endian) sits in either block must be at most
32 per block (xfs_db's quota-inode fields). A heuristic: a 1-byte edit of a
file would pass too. "identical" means not one byte
differs: the two share their UUID (what a plain block copy leaves).
qcow2 and other formats qemu-img reads are converted to a sparse raw
temporary file first.

Containers (issue 7): a partition blkid finds to be crypto_LUKS,
LVM2_member or linux_raid_member gets a `ContainerInfo`: the LUKS UUID,
version and cipher from the header (the filesystem inside is encrypted and
not read: inspect takes no key); the PV UUID and, where loop devices can be
attached (root), the VG name, VG UUID and logical volumes (`pvs`/`lvs` with
the private configuration of lvm.py, on a read-only loop device) with the
filesystem in each volume at its extents; otherwise blkid's PV UUID only,
and the report says so; the md array and device UUIDs, level and data
offset from the v1.2 superblock (mdraid.read_member) with the filesystem at
the data offset. Clones of containers are paired by what can be compared:
LUKS: the same size, LUKS version, cipher and data offset (the content is
encrypted with the same volume key but cannot be compared without it); LVM:
the same size and logical-volume layout (names, extents), each volume's
content the same apart from identifiers; md: the same size, level, member
count and data offset, the data area the same apart from identifiers.
Identifiers that clones must not share: filesystem UUIDs (inside containers
too), PARTUUIDs, LUKS UUIDs, PV and VG UUIDs, VG names, md array and device
UUIDs; LV UUIDs are kept by clones (as KIWI's vgimportclone does) and are
not counted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from typing import Any

from engine.errors import PartwrightError, ToolError
from engine.host import kernel
from engine.host.tools import run
from engine.image import gpt, luks, lvm, mdraid, sparse
from engine.image.clone import Region, probe
from engine.image.metadata import parse_partids
from engine.image.verify import TableRead, TableRow, read_table

BLOCK = 4096
CHUNK = 1 << 20
CHECKSUM_RUN = 4  # runs this short are checksums and serials
OTHER_BYTES = 32  # longer differing bytes per block allowed outside UUID windows
_NONZERO = re.compile(rb"[^\x00]+")


CONTAINER_KINDS = ("crypto_LUKS", "LVM2_member", "linux_raid_member")


@dataclass(frozen=True)
class InnerFilesystem:
    """A filesystem inside a container: in an LVM logical volume or an md
    member's data area."""

    where: str  # the LV name, or "data" for an md member
    offset: int  # bytes into the image
    size: int  # bytes
    filesystem: str | None  # blkid TYPE
    uuid: str | None
    label: str | None
    first_extent: int | None = None  # LVM: the volume's extents
    extents: int | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ContainerInfo:
    """What a LUKS, LVM or md RAID partition says about itself."""

    kind: str  # crypto_LUKS | LVM2_member | linux_raid_member
    uuid: str  # the LUKS UUID, the PV UUID or the md array UUID
    version: str | None = None  # LUKS: "1" or "2"; md: "1.2"
    cipher: str | None = None  # LUKS
    data_offset: int | None = None  # LUKS payload, md data area: bytes from the partition start
    vg_name: str | None = None  # LVM (None: not read)
    vg_uuid: str | None = None
    extent_size: int | None = None
    pe_start: int | None = None
    level: int | None = None  # md
    raid_disks: int | None = None
    device_uuid: str | None = None
    data_size: int | None = None  # md
    checksum_ok: bool | None = None  # md superblock
    inner: tuple[InnerFilesystem, ...] = ()
    note: str | None = None  # what could not be read, and why

    def identifiers(self) -> list[tuple[str, str, str]]:
        """(what, value, where) of every identifier no clone may share."""
        found: list[tuple[str, str, str]] = []
        if self.kind == "crypto_LUKS":
            found.append(("LUKS UUID", self.uuid, ""))
        elif self.kind == "LVM2_member":
            found.append(("PV UUID", self.uuid, ""))
            if self.vg_uuid:
                found.append(("VG UUID", self.vg_uuid, ""))
            if self.vg_name:
                found.append(("VG name", self.vg_name, ""))
        elif self.kind == "linux_raid_member":
            found.append(("md array UUID", self.uuid, ""))
            if self.device_uuid:
                found.append(("md device UUID", self.device_uuid, ""))
        for fs in self.inner:
            if fs.uuid:
                found.append(("filesystem UUID", fs.uuid, fs.where))
        return found

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "inner": [fs.to_json() for fs in self.inner]}


@dataclass(frozen=True)
class InspectedPartition:
    number: int
    start: int
    end: int
    type: str  # GPT type GUID or msdos id
    code: str  # sgdisk code when known ("8300"), else the type itself
    name: str | None
    partuuid: str | None
    filesystem: str | None  # blkid TYPE
    version: str | None
    uuid: str | None
    label: str | None
    data_bytes: int  # allocated data inside the partition
    container: ContainerInfo | None = None  # a LUKS, LVM or md RAID partition

    @property
    def sectors(self) -> int:
        return self.end - self.start + 1

    def identifiers(self) -> list[tuple[str, str, str]]:
        """(what, value, where) of every identifier no other partition may share."""
        found: list[tuple[str, str, str]] = []
        if self.container is not None:
            found += self.container.identifiers()
        elif self.uuid:
            found.append(("filesystem UUID", self.uuid, ""))
        if self.partuuid:
            found.append(("PARTUUID", self.partuuid, ""))
        return found

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "sectors": self.sectors,
                "container": None if self.container is None else self.container.to_json()}


@dataclass(frozen=True)
class ClonePair:
    origin: int  # partition number
    clone: int
    identical: bool  # byte for byte (and same size): the identifiers are shared too
    differing_blocks: int
    compared_bytes: int
    basis: str = "content"  # content | luks | lvm | md: what the pairing rests on
    note: str = ""  # for containers: what was compared
    shared: tuple[str, ...] = ()  # identifiers origin and clone share ("LUKS UUID" ...)

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "shared": list(self.shared)}


@dataclass(frozen=True)
class InspectReport:
    path: str
    format: str
    table: str  # gpt | dos
    disk_id: str
    disk_bytes: int
    allocated_bytes: int
    partitions: tuple[InspectedPartition, ...]
    clones: tuple[ClonePair, ...]
    duplicates: tuple[str, ...]  # "UUID x: partitions 3, 4"
    partids_path: str | None
    partids: tuple[tuple[str, str], ...]
    partids_problems: tuple[str, ...] = field(default=())

    @property
    def partids_agree(self) -> bool | None:
        return None if self.partids_path is None else not self.partids_problems

    def partition(self, number: int) -> InspectedPartition | None:
        return next((p for p in self.partitions if p.number == number), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "format": self.format, "table": self.table,
            "disk_id": self.disk_id, "disk_bytes": self.disk_bytes,
            "allocated_bytes": self.allocated_bytes,
            "partitions": [p.to_json() for p in self.partitions],
            "clones": [c.to_json() for c in self.clones],
            "duplicates": list(self.duplicates),
            "partids": None if self.partids_path is None else {
                "path": self.partids_path, "entries": dict(self.partids),
                "agree": self.partids_agree, "problems": list(self.partids_problems),
            },
        }


def image_format(path: str) -> str:
    proc = run(["qemu-img", "info", "--output=json", path], check=False)
    if proc.returncode != 0:
        return "raw"
    return str(json.loads(proc.stdout).get("format", "raw"))


def inspect(path: str) -> InspectReport:
    """Read the image at `path` back (see the module docstring)."""
    if not os.path.isfile(path):
        raise PartwrightError(f"{path} is not a file")
    fmt = image_format(path) if shutil.which("qemu-img") else "raw"
    if fmt == "raw":
        return _inspect_raw(path, path, fmt)
    tmpdir = tempfile.mkdtemp(prefix="partwright-inspect-")
    try:
        raw = os.path.join(tmpdir, "image.raw")
        run(["qemu-img", "convert", "-O", "raw", path, raw], what=f"reading {fmt}")
        return _inspect_raw(raw, path, fmt)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _inspect_raw(raw: str, path: str, fmt: str) -> InspectReport:
    try:
        table = read_table(raw)
    except ToolError as exc:  # no table: the input's fault, not a tool's
        raise PartwrightError(str(exc).replace(raw, path)) from exc
    parts = []
    with open(raw, "rb") as img:
        fd = img.fileno()
        for row in table.rows:
            if table.label == "msdos" and int(row.type, 16) in (0x5, 0xF, 0x85):
                fs: dict[str, str] = {}
            else:
                fs = probe(Region(raw, row.start * table.sector_size, row.sectors * table.sector_size))
            offset, size = row.start * table.sector_size, row.sectors * table.sector_size
            parts.append(InspectedPartition(
                number=row.number, start=row.start, end=row.end, type=row.type,
                code=gpt.code_of(row.type) if table.label == "gpt" else row.type,
                name=row.name, partuuid=row.partuuid,
                filesystem=fs.get("TYPE"), version=fs.get("VERSION"),
                uuid=fs.get("UUID"), label=fs.get("LABEL"),
                data_bytes=sparse.data_bytes(fd, offset, size),
                container=read_container(raw, offset, size, fs),
            ))
        partids_path = path + ".partids"
        found: dict[str, str] | None = None
        if os.path.isfile(partids_path):
            with open(partids_path, encoding="utf-8") as fh:
                found = parse_partids(fh.read())
        hints = {int(v) for k, v in (found or {}).items()
                 if v.isdigit() and not _CLONE_KEY.match(k)}
        clones = _find_clones(fd, table, parts, hints)
    duplicates = _duplicates(parts)
    entries: tuple[tuple[str, str], ...] = ()
    problems: tuple[str, ...] = ()
    if found is not None:
        entries = tuple(sorted(found.items()))
        problems = tuple(partids_problems(found, parts, clones, table.label))
    return InspectReport(
        path=path, format=fmt, table=table.label, disk_id=table.disk_id,
        disk_bytes=os.path.getsize(raw), allocated_bytes=sparse.allocated_bytes(path),
        partitions=tuple(parts), clones=clones, duplicates=tuple(duplicates),
        partids_path=partids_path if os.path.isfile(partids_path) else None,
        partids=entries, partids_problems=problems,
    )


def read_container(raw: str, offset: int, size: int, fs: dict[str, str]) -> ContainerInfo | None:
    """The container in [offset, offset+size) of `raw`, when blkid found one
    (`fs`: its probe); None for a plain filesystem or nothing."""
    kind = fs.get("TYPE", "")
    if kind == "crypto_LUKS":
        return _read_luks(raw, offset, fs)
    if kind == "LVM2_member":
        return _read_lvm(raw, offset, size, fs)
    if kind == "linux_raid_member":
        return _read_md(raw, offset, size, fs)
    return None


def _inner(raw: str, where: str, offset: int, size: int, first_extent: int | None = None,
           extents: int | None = None) -> InnerFilesystem:
    found = probe(Region(raw, offset, size)) if size > 0 else {}
    return InnerFilesystem(where=where, offset=offset, size=size, filesystem=found.get("TYPE"),
                           uuid=found.get("UUID"), label=found.get("LABEL"),
                           first_extent=first_extent, extents=extents)


def _read_luks(raw: str, offset: int, fs: dict[str, str]) -> ContainerInfo:
    try:
        header = luks.read_header(raw, offset)
    except (ToolError, PartwrightError) as exc:
        return ContainerInfo("crypto_LUKS", fs.get("UUID", ""), version=fs.get("VERSION"),
                             note=f"LUKS header not read: {exc}")
    return ContainerInfo("crypto_LUKS", header.uuid, version=str(header.version),
                         cipher=header.cipher or None, data_offset=header.data_offset,
                         note="the filesystem inside is encrypted: not read (inspect takes no key)")


def _read_lvm(raw: str, offset: int, size: int, fs: dict[str, str]) -> ContainerInfo:
    pv_uuid = fs.get("UUID", "")
    reason = kernel.missing("loop")
    if reason is None and not all(_tool(t) for t in ("losetup", "lvm")):
        reason = "losetup or lvm is not installed"
    if reason is not None:
        return ContainerInfo("LVM2_member", pv_uuid,
                             note=f"PV UUID from blkid only; VG name, VG UUID and volumes not"
                                  f" read: {reason}")
    try:
        vg = lvm.read_volume_group(raw, offset, size, read_only=True)
    except (ToolError, PartwrightError) as exc:
        return ContainerInfo("LVM2_member", pv_uuid,
                             note=f"PV UUID from blkid only; the volume group not read: {exc}")
    volumes = tuple(_inner(raw, lv.name, lv.offset, lv.size, first_extent=lv.first_extent,
                           extents=lv.extents) for lv in vg.volumes)
    return ContainerInfo("LVM2_member", vg.pv_uuid, vg_name=vg.name, vg_uuid=vg.uuid,
                         extent_size=vg.extent_size, pe_start=vg.pe_start, inner=volumes)


def _read_md(raw: str, offset: int, size: int, fs: dict[str, str]) -> ContainerInfo:
    try:
        sb = mdraid.read_member(raw, offset)
    except (ToolError, PartwrightError) as exc:
        return ContainerInfo("linux_raid_member", fs.get("UUID", ""), version=fs.get("VERSION"),
                             device_uuid=fs.get("UUID_SUB"),
                             note=f"md superblock not read (only v1.2 is): {exc}")
    length = min(sb.data_size, size - sb.data_offset)
    data = _inner(raw, "data", offset + sb.data_offset, length)
    note = None if sb.checksum_ok else "the md superblock checksum is wrong"
    return ContainerInfo("linux_raid_member", sb.set_uuid, version="1.2",
                         data_offset=sb.data_offset, level=sb.level, raid_disks=sb.raid_disks,
                         device_uuid=sb.device_uuid, data_size=sb.data_size,
                         checksum_ok=sb.checksum_ok, inner=(data,) if data.filesystem else (),
                         note=note)


def _tool(name: str) -> bool:
    return bool(shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin"))


def _duplicates(parts: list[InspectedPartition]) -> list[str]:
    """Every identifier found in more than one place (two partitions, or two
    volumes of one partition)."""
    seen: dict[tuple[str, str], list[str]] = {}
    for part in parts:
        for what, value, where in part.identifiers():
            if value:
                place = f"{part.number} ({where})" if where else str(part.number)
                seen.setdefault((what, value.lower()), []).append(place)
    return [f"{what} {value}: partitions {', '.join(places)}"
            for (what, value), places in seen.items() if len(places) > 1]


def _id_patterns(*parts: InspectedPartition | InnerFilesystem) -> list[bytes]:
    patterns: list[bytes] = []
    for part in parts:
        if not part.uuid:
            continue
        try:
            value = uuid.UUID(part.uuid)
        except ValueError:
            continue
        patterns += [value.bytes, value.bytes_le]
    return patterns


Outcome = tuple[bool, int, int, str, str]  # identical, differing blocks, bytes compared, basis, note


def _find_clones(fd: int, table: TableRead, parts: list[InspectedPartition],
                 hints: set[int]) -> tuple[ClonePair, ...]:
    """Group partitions into clone sets; the origin of a set is the one
    IMAGE.partids names as an origin, else the one whose GPT name does not
    say "clone" (KIWI), else the lowest number."""
    ss = table.sector_size
    groups: list[list[InspectedPartition]] = []
    results: dict[tuple[int, int], Outcome] = {}
    for part in parts:
        if not part.filesystem:
            continue
        for group in groups:
            head = group[0]
            outcome = _match(fd, ss, head, part)
            if outcome is not None:
                results[(head.number, part.number)] = outcome
                group.append(part)
                break
        else:
            groups.append([part])
    pairs = []
    for group in groups:
        if len(group) < 2:
            continue
        origin = next((p for p in group if p.number in hints), None) or next(
            (p for p in group if p.name and "clone" not in p.name.lower()), group[0])
        for member in group:
            if member is origin:
                continue
            outcome = results.get((group[0].number, member.number))
            if outcome is None or group[0] is not origin:
                outcome = _match(fd, ss, origin, member)
            if outcome is None:
                continue
            identical, differing, compared, basis, note = outcome
            pairs.append(ClonePair(origin.number, member.number, identical, differing, compared,
                                   basis, note, _shared(origin, member)))
    return tuple(sorted(pairs, key=lambda p: (p.origin, p.clone)))


def _shared(a: InspectedPartition, b: InspectedPartition) -> tuple[str, ...]:
    """The kinds of identifier `a` and `b` both have (a clone must share none)."""
    mine = {(what, value.lower()) for what, value, _ in a.identifiers() if value}
    return tuple(sorted({what for what, value, _ in b.identifiers()
                         if value and (what, value.lower()) in mine}))


def _match(fd: int, ss: int, a: InspectedPartition, b: InspectedPartition) -> Outcome | None:
    """How `b` is a clone of `a`, or None when it is not."""
    if a.filesystem != b.filesystem:
        return None
    ca, cb = a.container, b.container
    if ca is None and cb is None:
        if a.label != b.label:
            return None
        found = _compare_parts(fd, ss, a, b)
        return None if found is None else (*found, "content", "")
    if ca is None or cb is None or a.sectors != b.sectors:
        return None
    if ca.kind == "crypto_LUKS":
        return _match_luks(fd, ss, a, b, ca, cb)
    if ca.kind == "LVM2_member":
        return _match_lvm(fd, ss, a, b, ca, cb)
    return _match_md(fd, ss, a, b, ca, cb)


def _exact(fd: int, ss: int, a: InspectedPartition, b: InspectedPartition) -> bool:
    """Byte for byte the same (what a block copy without new identifiers leaves)."""
    found = compare(fd, a.start * ss, b.start * ss, a.sectors * ss, [])
    return found is not None and found[0]


def _match_luks(fd: int, ss: int, a: InspectedPartition, b: InspectedPartition,
                ca: ContainerInfo, cb: ContainerInfo) -> Outcome | None:
    if (ca.version, ca.cipher, ca.data_offset) != (cb.version, cb.cipher, cb.data_offset):
        return None
    identical = ca.uuid.lower() == cb.uuid.lower() and _exact(fd, ss, a, b)
    note = ("byte-identical" if identical else
            "same size, container kind and cipher; content not compared (encrypted)")
    return identical, 0, 0, "luks", note


def _lv_layout(c: ContainerInfo) -> tuple[object, ...]:
    return (c.extent_size, c.pe_start,
            tuple((fs.where, fs.first_extent, fs.extents) for fs in c.inner))


def _match_lvm(fd: int, ss: int, a: InspectedPartition, b: InspectedPartition,
               ca: ContainerInfo, cb: ContainerInfo) -> Outcome | None:
    if ca.vg_uuid is None or cb.vg_uuid is None:  # blkid only: the size is all there is
        return False, 0, 0, "lvm", ("same size and container kind; volume group not read,"
                                    " content not compared")
    if _lv_layout(ca) != _lv_layout(cb):
        return None
    differing = compared = 0
    for fa, fb in zip(ca.inner, cb.inner, strict=True):
        found = compare(fd, fa.offset, fb.offset, fa.size, _id_patterns(fa, fb))
        if found is None:
            return None
        differing += found[1]
        compared += found[2]
    identical = ca.vg_uuid == cb.vg_uuid and _exact(fd, ss, a, b)
    names = ("same VG name" if ca.vg_name == cb.vg_name
             else f"VG {ca.vg_name} -> {cb.vg_name}")
    return identical, differing, compared, "lvm", (
        f"{names}, same logical volumes; their content the same apart from identifiers")


def _match_md(fd: int, ss: int, a: InspectedPartition, b: InspectedPartition,
              ca: ContainerInfo, cb: ContainerInfo) -> Outcome | None:
    if ca.level is None or cb.level is None or ca.data_offset is None or ca.data_size is None:
        return None
    if (ca.level, ca.raid_disks, ca.data_offset, ca.data_size) != (
            cb.level, cb.raid_disks, cb.data_offset, cb.data_size):
        return None
    if [(f.filesystem, f.label) for f in ca.inner] != [(f.filesystem, f.label) for f in cb.inner]:
        return None
    length = min(ca.data_size, a.sectors * ss - ca.data_offset)
    found = compare(fd, a.start * ss + ca.data_offset, b.start * ss + ca.data_offset, length,
                    _id_patterns(*ca.inner, *cb.inner))
    if found is None:
        return None
    identical = ca.uuid.lower() == cb.uuid.lower() and _exact(fd, ss, a, b)
    return identical, found[1], found[2], "md", (
        f"same RAID level {ca.level}, member count and size; data area the same apart from"
        " identifiers")


def _compare_parts(fd: int, ss: int, a: InspectedPartition,
                   b: InspectedPartition) -> tuple[bool, int, int] | None:
    """Partitions of different sizes (other tools round them) may still hold
    clones: compare the common length and require the rest to be empty."""
    length = min(a.sectors, b.sectors) * ss
    for part in (a, b):
        if part.sectors * ss > length and sparse.data_bytes(
                fd, part.start * ss + length, part.sectors * ss - length):
            return None
    outcome = compare(fd, a.start * ss, b.start * ss, length, _id_patterns(a, b))
    if outcome is not None and a.sectors != b.sectors:
        return False, outcome[1], outcome[2]
    return outcome


def compare(fd: int, a_off: int, b_off: int, length: int,
            patterns: list[bytes]) -> tuple[bool, int, int] | None:
    """None when the two ranges differ in content; else (identical,
    differing 4 KiB blocks, bytes compared)."""
    spans = _merge(
        [(o - a_off, n) for o, n in sparse.extents(fd, a_off, length)]
        + [(o - b_off, n) for o, n in sparse.extents(fd, b_off, length)]
    )
    differing = 0
    compared = 0
    for rel, size in spans:
        pos = rel
        while pos < rel + size:
            n = min(CHUNK, rel + size - pos)
            a = os.pread(fd, n, a_off + pos)
            b = os.pread(fd, n, b_off + pos)
            compared += n
            if a != b:
                for i in range(0, n, BLOCK):
                    ba, bb = a[i:i + BLOCK], b[i:i + BLOCK]
                    if ba == bb:
                        continue
                    differing += 1
                    if not _identifier_only(ba, bb, patterns):
                        return None
            pos += n
    return differing == 0, differing, compared


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, size in sorted(spans):
        start -= start % BLOCK
        size += -size % BLOCK
        if out and start <= out[-1][0] + out[-1][1]:
            prev_start, prev_size = out[-1]
            out[-1] = (prev_start, max(prev_size, start + size - prev_start))
        else:
            out.append((start, size))
    return out


def _identifier_only(a: bytes, b: bytes, patterns: list[bytes]) -> bool:
    if len(a) != len(b):
        return False
    xor = (int.from_bytes(a, "little") ^ int.from_bytes(b, "little")).to_bytes(len(a), "little")
    windows: list[tuple[int, int]] = []
    for pattern in patterns:
        for block in (a, b):
            at = block.find(pattern)
            while at >= 0:
                windows.append((at, at + len(pattern)))
                at = block.find(pattern, at + 1)
    other = 0
    for match in _NONZERO.finditer(xor):
        start, end = match.span()
        if end - start <= CHECKSUM_RUN:
            continue
        inside = sum(max(0, min(end, w1) - max(start, w0)) for w0, w1 in windows)
        other += (end - start) - inside
    return other <= OTHER_BYTES


KIWI_NAMES = {
    "kiwi_BiosGrub": ("p.legacy",), "kiwi_EfiPart": ("p.UEFI",), "kiwi_PrepPart": ("p.prep",),
    "kiwi_BootPart": ("p.lxboot", "p.lxroot"), "kiwi_SwapPart": ("p.swap",),
    "kiwi_SparePart": ("p.spare",), "kiwi_ROPart": ("p.lxreadonly",),
    "kiwi_RootPart": ("p.lxroot", "p.lxlvm", "p.lxraid", "p.lxreadonly"),
}
_CLONE_KEY = re.compile(r"^kiwi_(?P<name>.+)PartClone(?P<n>\d+)$")


def partids_problems(found: dict[str, str], parts: list[InspectedPartition],
                     clones: tuple[ClonePair, ...], label: str) -> list[str]:
    """Where IMAGE.partids and the image disagree."""
    problems: list[str] = []
    by_number = {p.number: p for p in parts}
    clone_sets: dict[int, set[int]] = {}
    for pair in clones:
        clone_sets.setdefault(pair.origin, {pair.origin}).add(pair.clone)
    for members in list(clone_sets.values()):
        for member in members:
            clone_sets[member] = members
    for key, value in sorted(found.items()):
        if key == "kiwi_RaidDev":
            continue
        if not value.isdigit() or int(value) not in by_number:
            problems.append(f"{key}={value}: the image has no partition {value}")
            continue
        part = by_number[int(value)]
        names = KIWI_NAMES.get(key)
        if label == "gpt" and names and part.name not in names:
            problems.append(f"{key}={value}: partition {value} is named {part.name!r}")
        match = _CLONE_KEY.match(key)
        if match:
            origin_key = f"kiwi_{match['name'][:1].upper()}{match['name'][1:].lower()}Part"
            origin = found.get(origin_key)
            if origin is None or not origin.isdigit():
                problems.append(f"{key}={value}: no {origin_key} for its origin")
            elif int(value) not in clone_sets.get(int(origin), set()):
                problems.append(f"{key}={value}: partition {value} is not a clone of partition {origin}")
            elif not any(p.clone == int(value) and not p.identical and not p.shared
                         for p in clones):
                problems.append(f"{key}={value}: partition {value} shares its identifiers with {origin}")
    return problems


__all__ = ["ClonePair", "ContainerInfo", "InnerFilesystem", "InspectReport", "InspectedPartition",
           "TableRow", "compare", "inspect", "read_container"]
