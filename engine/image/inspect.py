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
from engine.image import gpt, sparse
from engine.image.clone import Region, probe
from engine.image.metadata import parse_partids
from engine.image.tools import run
from engine.image.verify import TableRead, TableRow, read_table

BLOCK = 4096
CHUNK = 1 << 20
CHECKSUM_RUN = 4  # runs this short are checksums and serials
OTHER_BYTES = 32  # longer differing bytes per block allowed outside UUID windows
_NONZERO = re.compile(rb"[^\x00]+")


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

    @property
    def sectors(self) -> int:
        return self.end - self.start + 1

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "sectors": self.sectors}


@dataclass(frozen=True)
class ClonePair:
    origin: int  # partition number
    clone: int
    identical: bool  # byte for byte (and same size): the identifiers are shared too
    differing_blocks: int
    compared_bytes: int

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


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
            if table.label == "dos" and int(row.type, 16) in (0x5, 0xF, 0x85):
                fs: dict[str, str] = {}
            else:
                fs = probe(Region(raw, row.start * table.sector_size, row.sectors * table.sector_size))
            parts.append(InspectedPartition(
                number=row.number, start=row.start, end=row.end, type=row.type,
                code=gpt.code_of(row.type) if table.label == "gpt" else row.type,
                name=row.name, partuuid=row.partuuid,
                filesystem=fs.get("TYPE"), version=fs.get("VERSION"),
                uuid=fs.get("UUID"), label=fs.get("LABEL"),
                data_bytes=sparse.data_bytes(fd, row.start * table.sector_size,
                                             row.sectors * table.sector_size),
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


def _duplicates(parts: list[InspectedPartition]) -> list[str]:
    out = []
    for what, values in (("filesystem UUID", [(p.uuid, p.number) for p in parts]),
                         ("PARTUUID", [(p.partuuid, p.number) for p in parts])):
        seen: dict[str, list[int]] = {}
        for value, number in values:
            if value:
                seen.setdefault(value.lower(), []).append(number)
        for value, numbers in seen.items():
            if len(numbers) > 1:
                out.append(f"{what} {value}: partitions {', '.join(map(str, numbers))}")
    return out


def _id_patterns(*parts: InspectedPartition) -> list[bytes]:
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


def _find_clones(fd: int, table: TableRead, parts: list[InspectedPartition],
                 hints: set[int]) -> tuple[ClonePair, ...]:
    """Group partitions into clone sets; the origin of a set is the one
    IMAGE.partids names as an origin, else the one whose GPT name does not
    say "clone" (KIWI), else the lowest number."""
    ss = table.sector_size
    groups: list[list[InspectedPartition]] = []
    results: dict[tuple[int, int], tuple[bool, int, int]] = {}
    for part in parts:
        if not part.filesystem:
            continue
        for group in groups:
            head = group[0]
            if head.filesystem != part.filesystem or head.label != part.label:
                continue
            outcome = _compare_parts(fd, ss, head, part)
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
                outcome = _compare_parts(fd, ss, origin, member)
            if outcome is None:
                continue
            identical, differing, compared = outcome
            pairs.append(ClonePair(origin.number, member.number, identical, differing, compared))
    return tuple(sorted(pairs, key=lambda p: (p.origin, p.clone)))


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
            elif not any(p.clone == int(value) and not p.identical for p in clones):
                problems.append(f"{key}={value}: partition {value} shares its identifiers with {origin}")
    return problems


__all__ = ["ClonePair", "InspectReport", "InspectedPartition", "TableRow", "compare", "inspect"]
