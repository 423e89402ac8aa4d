"""A new device UUID for a single-device btrfs (blkid's UUID_SUB), offline.

btrfstune 6.2 rewrites the filesystem UUID (-U) but has no way to change the
device UUID, so a block clone would keep its origin's. The device UUID is
stored in the superblock's dev_item and in every stripe of its
sys_chunk_array (each superblock copy), and in the chunk tree: the DEV_ITEM
of the device and the stripes of every CHUNK_ITEM. `set_device_uuid`
rewrites all of them and the checksums (crc32c, btrfs-progs' default; other
checksum types are refused) of each block it changes; `btrfs check` then
finds the filesystem consistent.
"""

from __future__ import annotations

import os
import struct
import uuid

from engine.errors import PartwrightError

SUPER_OFFSETS = (0x10000, 0x4000000, 0x4000000000)  # 64 KiB, 64 MiB, 256 GiB
SUPER_SIZE = 4096
MAGIC = b"_BHRfS_M"
DEV_ITEM = 0xC9  # struct btrfs_dev_item inside the superblock
DEV_UUID = 66  # uuid inside btrfs_dev_item
SYS_CHUNK_ARRAY = 0x32B
HEADER = 0x65  # struct btrfs_header
KEY = 17
CHUNK = 48  # struct btrfs_chunk without its stripes
STRIPE = 32
DEV_ITEM_KEY, CHUNK_ITEM_KEY = 216, 228


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _checksummed(block: bytes) -> bytes:
    return struct.pack("<I", crc32c(block[32:])) + bytes(28) + block[32:]


def _stripes(chunk: bytes, at: int) -> list[tuple[int, int]]:
    """(offset of each stripe's dev_uuid, stripe physical offset) of the
    btrfs_chunk at `at`."""
    num = struct.unpack_from("<H", chunk, at + 44)[0]
    return [(at + CHUNK + i * STRIPE + 16, struct.unpack_from("<Q", chunk, at + CHUNK + i * STRIPE + 8)[0])
            for i in range(num)]


def _sys_chunks(sb: bytes) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """(logical start, length, stripes) of every chunk in the sys_chunk_array."""
    size = struct.unpack_from("<I", sb, 0xA0)[0]
    out, pos, end = [], SYS_CHUNK_ARRAY, SYS_CHUNK_ARRAY + size
    while pos < end:
        logical = struct.unpack_from("<Q", sb, pos + 9)[0]
        at = pos + KEY
        length = struct.unpack_from("<Q", sb, at)[0]
        stripes = _stripes(sb, at)
        out.append((logical, length, stripes))
        pos = at + CHUNK + len(stripes) * STRIPE
    return out


def set_device_uuid(fd: int, base: int, size: int, new: str) -> str:
    """Give the btrfs at byte `base` (of `size` bytes) of the open file `fd`
    the device UUID `new`. Returns the old one."""
    new_bytes = uuid.UUID(new).bytes
    sb = os.pread(fd, SUPER_SIZE, base + SUPER_OFFSETS[0])
    if sb[0x40:0x48] != MAGIC:
        raise PartwrightError("no btrfs superblock to give a new device UUID")
    if struct.unpack_from("<H", sb, 0xC4)[0] != 0 or struct.unpack_from("<Q", sb, 0x88)[0] != 1:
        raise PartwrightError("btrfs device UUID: only single-device crc32c filesystems")
    old = sb[DEV_ITEM + DEV_UUID:DEV_ITEM + DEV_UUID + 16]
    nodesize = struct.unpack_from("<I", sb, 0x94)[0]
    chunks = _sys_chunks(sb)

    def physical(logical: int) -> list[int]:
        for start, length, stripes in chunks:
            if start <= logical < start + length:
                return [offset + logical - start for _, offset in stripes]
        raise PartwrightError(f"btrfs: chunk tree block {logical} is outside the system chunks")

    def patch_tree(logical: int) -> None:
        places = physical(logical)
        block = bytearray(os.pread(fd, nodesize, base + places[0]))
        nritems, level = struct.unpack_from("<IB", block, 0x60)
        for i in range(nritems):
            if level > 0:  # a node: key, blockptr, generation
                patch_tree(struct.unpack_from("<Q", block, HEADER + i * 33 + KEY)[0])
                continue
            item = HEADER + i * 25
            kind = block[item + 8]
            data = HEADER + struct.unpack_from("<I", block, item + KEY)[0]
            if kind == DEV_ITEM_KEY and block[data + DEV_UUID:data + DEV_UUID + 16] == old:
                block[data + DEV_UUID:data + DEV_UUID + 16] = new_bytes
            elif kind == CHUNK_ITEM_KEY:
                for at, _ in _stripes(bytes(block), data):
                    if block[at:at + 16] == old:
                        block[at:at + 16] = new_bytes
        done = _checksummed(bytes(block))
        for place in places:
            os.pwrite(fd, done, base + place)

    patch_tree(struct.unpack_from("<Q", sb, 0x58)[0])
    for offset in SUPER_OFFSETS:
        if offset + SUPER_SIZE > size:
            continue
        copy = bytearray(os.pread(fd, SUPER_SIZE, base + offset))
        if copy[0x40:0x48] != MAGIC:
            continue
        copy[DEV_ITEM + DEV_UUID:DEV_ITEM + DEV_UUID + 16] = new_bytes
        for _, _, stripes in _sys_chunks(bytes(copy)):
            for at, _ in stripes:
                if copy[at:at + 16] == old:
                    copy[at:at + 16] = new_bytes
        os.pwrite(fd, _checksummed(bytes(copy)), base + offset)
    return str(uuid.UUID(bytes=old))
