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


# sgdisk type code -> GPT type GUID: the codes KIWI and partwright write; the
# table, the image verifier and the updater configurations read them here
GPT_TYPE_GUIDS: dict[str, str] = {
    "EF02": "21686148-6449-6E6F-744E-656564454649",  # BIOS boot
    "EF00": "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",  # EFI system
    "8300": "0FC63DAF-8483-4772-8E79-3D69D8477DE4",  # Linux filesystem
    "8200": "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F",  # Linux swap
    "8E00": "E6D6D379-F507-44C2-A23C-238F2A3DF928",  # Linux LVM
    "FD00": "A19D880F-05FC-4D3B-A006-743F0F84911E",  # Linux RAID
    "4100": "9E1A2D38-C612-4316-AA26-8B49521E5A8B",  # PowerPC PReP boot
    "8302": "933AC7E1-2EB4-4F13-B844-0E14E2AEF915",  # Linux /home
    "8303": "44479540-F297-41B2-9AF7-D131D5F0458A",  # Linux x86 root
    "8304": "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709",  # Linux x86-64 root
    "8305": "B921B045-1DF0-41C3-AF44-4C6F280D3FAE",  # Linux ARM64 root
    "8306": "3B8F8425-20E0-4F3B-907F-1A25A76F98E8",  # Linux /srv
    "8310": "4D21B016-B534-45C2-A9FB-5C16E091FD2D",  # Linux /var
    "8311": "7EC6F557-3BC5-4ACA-B293-16EF5DF639D1",  # Linux /var/tmp
    "EA00": "BC13C2FF-59E6-4262-A352-B275FD6F7172",  # XBOOTLDR
    "0700": "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7",  # Microsoft basic data
}
