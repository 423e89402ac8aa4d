"""Identifiers inside the partition table, written directly.

libparted (3.5) can set neither a partition's unique GUID (PARTUUID), nor the
disk GUID, nor a type GUID it has no flag for (8304 root, EA00 XBOOTLDR ...).
`sfdisk --part-uuid/--part-type/--disk-id` can, but every call fsyncs the
image (0.25 s here, a dozen calls per build). So after libparted has written
the table, this module rewrites those fields of both GPT headers and entry
arrays and their CRC32s in one pass; the verify step reads the result back
with libparted and `sfdisk --json`, which check the CRCs. On msdos the disk
identifier is the 4 bytes at MBR offset 440.
"""

from __future__ import annotations

import os
import struct
import uuid
import zlib
from dataclasses import dataclass

from engine.errors import PartwrightError
from engine.units import GPT_TYPE_GUIDS

# sgdisk type code -> GPT type GUID (the table lives in engine.units)
TYPE_GUIDS: dict[str, str] = GPT_TYPE_GUIDS
CODES_BY_GUID: dict[str, str] = {guid: code for code, guid in TYPE_GUIDS.items()}
SIGNATURE = b"EFI PART"


def type_guid(code: str) -> str:
    """The type GUID of an sgdisk code ("8300") or of a GUID given as such."""
    upper = code.upper()
    if upper in TYPE_GUIDS:
        return TYPE_GUIDS[upper]
    try:
        return str(uuid.UUID(code)).upper()
    except ValueError:
        raise PartwrightError(f"unknown GPT partition type code {code!r}") from None


def code_of(guid: str) -> str:
    """The sgdisk code of a type GUID, or the GUID itself when it has none."""
    return CODES_BY_GUID.get(guid.upper(), guid.upper())


@dataclass(frozen=True)
class GptEntry:
    number: int
    type_guid: str
    part_guid: str
    first: int
    last: int
    attributes: int
    name: str


@dataclass(frozen=True)
class GptHeader:
    disk_guid: str
    current_lba: int
    backup_lba: int
    first_usable: int
    last_usable: int
    entries_lba: int
    num_entries: int
    entry_size: int


def _guid(raw: bytes) -> str:
    return str(uuid.UUID(bytes_le=raw)).upper()


def _parse_header(raw: bytes) -> GptHeader:
    if raw[:8] != SIGNATURE:
        raise PartwrightError("no GPT header found")
    size = struct.unpack_from("<I", raw, 12)[0]
    crc = struct.unpack_from("<I", raw, 16)[0]
    check = bytearray(raw[:size])
    check[16:20] = b"\0\0\0\0"
    if zlib.crc32(bytes(check)) != crc:
        raise PartwrightError("GPT header CRC mismatch")
    cur, bak, first, last = struct.unpack_from("<QQQQ", raw, 24)
    entries_lba, num, esize = struct.unpack_from("<QII", raw, 72)
    return GptHeader(_guid(raw[56:72]), cur, bak, first, last, entries_lba, num, esize)


def read_gpt(path: str, sector_size: int = 512) -> tuple[GptHeader, list[GptEntry]]:
    """The primary GPT header and its used entries (CRCs checked)."""
    with open(path, "rb") as fh:
        fd = fh.fileno()
        header = _parse_header(os.pread(fd, sector_size, sector_size))
        table = os.pread(fd, header.num_entries * header.entry_size, header.entries_lba * sector_size)
        raw_header = os.pread(fd, sector_size, sector_size)
    if zlib.crc32(table) != struct.unpack_from("<I", raw_header, 88)[0]:
        raise PartwrightError("GPT entry array CRC mismatch")
    entries = []
    for i in range(header.num_entries):
        raw = table[i * header.entry_size:(i + 1) * header.entry_size]
        if raw[:16] == bytes(16):
            continue
        first, last, attrs = struct.unpack_from("<QQQ", raw, 32)
        name = raw[56:128].decode("utf-16-le").split("\0", 1)[0]
        entries.append(GptEntry(i + 1, _guid(raw[:16]), _guid(raw[16:32]), first, last, attrs, name))
    return header, entries


def table_problems(path: str, disk_bytes: int, sector_size: int = 512) -> list[str]:
    """What is wrong with the GPT of an image that sfdisk and libparted read
    anyway (they quietly take the other copy): a primary or backup header
    or entry array that is missing or does not match its CRC. An image
    without any GPT header (msdos) has no problems here."""
    found: dict[str, str | None] = {}  # primary/backup -> None (missing), "" (good) or the fault
    with open(path, "rb") as fh:
        fd = fh.fileno()
        for where, lba in (("primary", 1), ("backup", disk_bytes // sector_size - 1)):
            raw = os.pread(fd, sector_size, lba * sector_size)
            if raw[:8] != SIGNATURE:
                found[where] = None
                continue
            try:
                header = _parse_header(raw)
            except PartwrightError as exc:
                found[where] = str(exc)
                continue
            table = os.pread(fd, header.num_entries * header.entry_size,
                             header.entries_lba * sector_size)
            crc = struct.unpack_from("<I", raw, 88)[0]
            found[where] = "" if zlib.crc32(table) == crc else "entry array CRC mismatch"
    primary, backup = found["primary"], found["backup"]
    if primary is None and backup is None:
        return []
    problems: list[str] = []
    if primary != "":
        what = "missing" if primary is None else f"corrupt ({primary})"
        problems.append(f"the primary GPT is {what}: the table was read from the backup GPT"
                        " at the end of the disk")
    if backup != "":
        what = "missing" if backup is None else f"corrupt ({backup})"
        problems.append(f"the backup GPT at the end of the disk is {what} (was the image"
                        " grown or cut after the table was written?)")
    return problems


def patch_gpt(
    path: str,
    *,
    disk_guid: str,
    part_guids: dict[int, str],
    type_guids: dict[int, str],
    renumber: dict[int, int] | None = None,
    sector_size: int = 512,
) -> None:
    """Set the disk GUID, PARTUUIDs and type GUIDs (by partition number) in
    the primary and the backup GPT, recomputing every CRC. `renumber` moves
    entries to other slots first ({libparted's number: planned number}):
    libparted always numbers GPT partitions 1, 2, 3 ... without gaps."""
    with open(path, "r+b") as fh:
        fd = fh.fileno()
        primary = os.pread(fd, sector_size, sector_size)
        header = _parse_header(primary)
        for lba in (1, header.backup_lba):
            raw = bytearray(os.pread(fd, sector_size, lba * sector_size))
            hdr = _parse_header(bytes(raw))
            size_bytes = hdr.num_entries * hdr.entry_size
            table = bytearray(os.pread(fd, size_bytes, hdr.entries_lba * sector_size))
            if renumber:
                table = _renumber(table, hdr.entry_size, renumber)
            for number, guid in part_guids.items():
                at = (number - 1) * hdr.entry_size
                if table[at:at + 16] == bytes(16):
                    raise PartwrightError(f"GPT entry {number} is empty")
                table[at + 16:at + 32] = uuid.UUID(guid).bytes_le
            for number, guid in type_guids.items():
                at = (number - 1) * hdr.entry_size
                table[at:at + 16] = uuid.UUID(guid).bytes_le
            raw[56:72] = uuid.UUID(disk_guid).bytes_le
            struct.pack_into("<I", raw, 88, zlib.crc32(bytes(table)))
            hsize = struct.unpack_from("<I", raw, 12)[0]
            struct.pack_into("<I", raw, 16, 0)
            struct.pack_into("<I", raw, 16, zlib.crc32(bytes(raw[:hsize])))
            os.pwrite(fd, bytes(table), hdr.entries_lba * sector_size)
            os.pwrite(fd, bytes(raw), lba * sector_size)


def _renumber(table: bytearray, esize: int, renumber: dict[int, int]) -> bytearray:
    moved = bytearray(table)
    for old in renumber:
        moved[(old - 1) * esize:old * esize] = bytes(esize)
    for old, new in renumber.items():
        if new < 1 or new * esize > len(table):
            raise PartwrightError(f"GPT partition number {new} does not fit the entry array")
        moved[(new - 1) * esize:new * esize] = table[(old - 1) * esize:old * esize]
    return moved


def set_mbr_disk_id(path: str, value: int) -> None:
    """The msdos disk identifier (PARTUUIDs are `<id>-<nn>` on msdos)."""
    with open(path, "r+b") as fh:
        os.pwrite(fh.fileno(), struct.pack("<I", value & 0xFFFFFFFF), 440)


def read_mbr_disk_id(path: str) -> int:
    with open(path, "rb") as fh:
        return int(struct.unpack("<I", os.pread(fh.fileno(), 4, 440))[0])
