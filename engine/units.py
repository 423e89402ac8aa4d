"""Sectors, grains and table limits, each with the reason for its value.

Every module that needs one of these numbers imports it from here; none
spells the number out again.
"""

from __future__ import annotations

SECTOR_SIZE = 512  # the logical sector of every disk KIWI and partwright write
MIB = 1024 * 1024
GRAIN = 2048  # 1 MiB in 512-byte sectors: sgdisk, fdisk and KIWI align to it
GPT_HEAD = 34  # protective MBR, GPT header and 128 entries of 128 bytes
GPT_TAIL = 33  # the backup entries and the backup header at the end of the disk
GPT_MAX_ENTRIES = 128  # the entry array sgdisk creates (KIWI never resizes it)
MSDOS_PRIMARIES = 4  # the four slots of the MBR partition table
MSDOS_MAX_SECTORS = 2**32  # 32-bit LBA fields: an msdos table addresses 2 TiB
