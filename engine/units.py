"""Sectors, grains and table limits, each with the reason for its value, and
the one way sizes are written for people.

Every module that needs one of these numbers imports it from here; none
spells the number out again. `size_text` is the only size formatter: the
planner's messages, the command line's tables and the designer all use it.
"""

from __future__ import annotations

from typing import Literal, get_args

SECTOR_SIZE = 512  # the logical sector of every disk KIWI and partwright write
MIB = 1024 * 1024
GRAIN = 2048  # 1 MiB in 512-byte sectors: sgdisk, fdisk and KIWI align to it
GPT_HEAD = 34  # protective MBR, GPT header and 128 entries of 128 bytes
GPT_TAIL = 33  # the backup entries and the backup header at the end of the disk
GPT_MAX_ENTRIES = 128  # the entry array sgdisk creates (KIWI never resizes it)
MSDOS_PRIMARIES = 4  # the four slots of the MBR partition table
MSDOS_MAX_SECTORS = 2**32  # 32-bit LBA fields: an msdos table addresses 2 TiB
MSDOS_MAX_NUMBER = 60  # fdisk's limit on partition numbers in a DOS label
MAX_IMAGE_BYTES = 2**63 - 1  # a signed 64-bit file offset (off_t): no image file is larger

SizeUnit = Literal["B", "KiB", "MiB", "GiB", "TiB"]
SIZE_UNITS: tuple[SizeUnit, ...] = get_args(SizeUnit)


def size_text(
    n_bytes: int,
    *,
    smallest: SizeUnit = "B",
    largest: SizeUnit = "TiB",
    trim: bool = False,
) -> str:
    """`n_bytes` in the largest unit between `smallest` and `largest` that it
    holds at least one of, with one decimal ("95.4 GiB", "300.0 MiB"); with
    `trim`, whole values drop the decimal ("300 MiB"). Bytes are whole ("17 B")."""
    index = SIZE_UNITS.index(smallest)
    top = SIZE_UNITS.index(largest)
    value = n_bytes / 1024**index
    while index < top and abs(value) >= 1024:
        value /= 1024
        index += 1
    unit = SIZE_UNITS[index]
    if unit == "B":
        return f"{n_bytes} B"
    if trim and value == int(value):
        return f"{value:.0f} {unit}"
    return f"{value:.1f} {unit}"


def sectors_text(sectors: int) -> str:
    """A sector count as the partition tables print it: MiB or GiB, one decimal."""
    return size_text(sectors * SECTOR_SIZE, smallest="MiB", largest="GiB")
