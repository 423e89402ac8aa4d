"""Which partitions of an image are clones of which, and which identifiers
are used twice.

Clones: two partitions of the same filesystem type and label (block clones
keep the label) whose data differs only in identifier bytes (partitions of
different sizes count when the larger one holds nothing past the common
length: other tools round partition sizes). Every differing 4 KiB block is
XORed; the runs of differing bytes up to 4 bytes long are checksums,
serials or cycle numbers; of the longer runs, the bytes that do not lie
where one of the two filesystem UUIDs (raw or little-endian) sits in either
block must be at most 32 per block (xfs_db's quota-inode fields). A
heuristic: a 1-byte edit of a file would pass too. "identical" means not one
byte differs: the two share their UUID (what a plain block copy leaves).

Clones of containers are paired by what can be compared: LUKS: the same
size, LUKS version, cipher and data offset (the content is encrypted with
the same volume key but cannot be compared without it); LVM: the same size
and logical-volume layout (names, extents), each volume's content the same
apart from identifiers; md: the same size, level, member count and data
offset, the data area the same apart from identifiers.

Identifiers that clones must not share: filesystem UUIDs (inside containers
too), PARTUUIDs, LUKS UUIDs, PV and VG UUIDs, VG names, md array and device
UUIDs; LV UUIDs are kept by clones (as KIWI's vgimportclone does) and are
not counted.
"""

from __future__ import annotations

import os
import re
import uuid

from engine.host import sparse
from engine.image.inspect.model import (
    ClonePair,
    ContainerInfo,
    InnerFilesystem,
    InspectedPartition,
    PairBasis,
)

BLOCK = 4096
CHUNK = 1 << 20
CHECKSUM_RUN = 4  # runs this short are checksums and serials
OTHER_BYTES = 32  # longer differing bytes per block allowed outside UUID windows
_NONZERO = re.compile(rb"[^\x00]+")


def duplicates(parts: list[InspectedPartition]) -> list[str]:
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
        for text in (part.uuid, getattr(part, "uuid_sub", None)):
            if not text:
                continue
            try:
                value = uuid.UUID(text)
            except ValueError:
                continue
            patterns += [value.bytes, value.bytes_le]
    return patterns


Outcome = tuple[bool, int, int, PairBasis, str]  # identical, differing blocks, bytes compared, basis, note


def find_clones(fd: int, ss: int, parts: list[InspectedPartition],
                hints: set[int]) -> tuple[ClonePair, ...]:
    """Group partitions into clone sets; the origin of a set is the one
    IMAGE.partids names as an origin, else the one whose GPT name does not
    say "clone" (KIWI), else the lowest number."""
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
