"""md RAID members written offline: a v1.2 superblock at byte 4096 of a
member region, new identities for a clone, and `mdadm --examine` to read it.

This kernel has no md (`mdadm --create` fails), so the engine writes the
superblock itself, as `mdadm --create --metadata=1.2` would for KIWI's
`mdadm --create --run /dev/mdN --level 1|0 --raid-disks 2 DEVICE missing`:
one member present (role 0), the second missing ("Array State : A.").
The array's contents start at the member's data offset (2048 sectors, 1 MiB,
by default): for mirroring (RAID1) the filesystem is made at member offset +
data offset, and is the whole array; striping (RAID0) stripes the array over
all members, so with a member missing there is no filesystem to make.

Superblock (struct mdp_superblock_1 of the kernel's md_p.h, little endian): magic
a92b4efc @0, major_version 1 @4, feature_map @8, set_uuid @16, set_name @32,
ctime @64, level @72, layout @76, size @80, chunksize @88, raid_disks @92,
data_offset/data_size/super_offset @128/136/144, dev_number @160,
device_uuid @168, utime @192, events @200, resync_offset @208, sb_csum @216,
max_dev @220, dev_roles (u16 each) @256. Checksum: the 32-bit words of the
first 256 + 2*max_dev bytes summed (sb_csum counted as 0) into 64 bits, then
(sum & 0xffffffff) + (sum >> 32), truncated to 32 bits.

    write_member(image, offset, size, *, level, raid_disks=2, dev_number=0, role=None,
                 set_uuid=None, device_uuid=None, name="0", data_offset=DATA_OFFSET,
                 chunk=CHUNK, epoch=None) -> Superblock
    read_member(image, offset) -> Superblock
    reuuid_member(image, offset, *, set_uuid=None, device_uuid=None) -> Superblock
    clone_member(image, offset, size, *, set_uuid=None, device_uuid=None, fs_uuid=None,
                 ident=None, workdir=None) -> Superblock
    examine(image, offset, size, *, workdir=None) -> str        (mdadm --examine)
    checksum(block) -> int
"""

from __future__ import annotations

import os
import struct
import tempfile
import time
import uuid as uuidlib
from dataclasses import dataclass

from engine.errors import PartwrightError, ToolError
from engine.host import sparse
from engine.host.tools import run
from engine.image import inner
from engine.image.identity import Identity

MD_MAGIC = 0xA92B4EFC
SUPER_OFFSET = 4096  # v1.2: 4 KiB from the start of the member
SUPER_BYTES = 4096  # what mdadm reads and writes for a v1.x superblock
DATA_OFFSET = 2048 * 512
CHUNK = 512 * 1024  # mdadm's default RAID0 chunk
LEVELS = {"mirroring": 1, "striping": 0, "raid1": 1, "raid0": 0, "1": 1, "0": 0}
ROLE_SPARE = 0xFFFF
MAX_SECTOR = 0xFFFFFFFFFFFFFFFF  # resync_offset of an array that needs no resync


class MdError(ToolError):
    """A member holds no valid v1.2 superblock, or mdadm failed."""


@dataclass(frozen=True)
class Superblock:
    """A member's v1.2 superblock, as read back."""

    level: int
    raid_disks: int
    set_uuid: str  # the array UUID, standard form (blkid's UUID)
    name: str
    device_uuid: str  # this member (blkid's UUID_SUB)
    dev_number: int
    role: int
    data_offset: int  # bytes from the member start
    data_size: int  # bytes
    events: int
    chunk: int  # bytes (RAID0)
    checksum: int
    checksum_ok: bool

    @property
    def mdadm_uuid(self) -> str:
        """The array UUID as mdadm prints it (four groups of 8 hex digits)."""
        return _mdadm_form(self.set_uuid)

    @property
    def mdadm_device_uuid(self) -> str:
        return _mdadm_form(self.device_uuid)


def _mdadm_form(value: str) -> str:
    raw = uuidlib.UUID(value).hex
    return ":".join(raw[i:i + 8] for i in range(0, 32, 8))


def checksum(block: bytes | bytearray) -> int:
    """calc_sb_1_csum: the superblock's checksum, its own field counted as 0."""
    max_dev: int = struct.unpack_from("<I", block, 220)[0]
    length = 256 + 2 * max_dev
    data = bytearray(block[:length])
    data[216:220] = b"\0\0\0\0"
    total: int = sum(struct.unpack_from(f"<{length // 4}I", data))
    if length % 4 == 2:
        total += int(struct.unpack_from("<H", data, length - 2)[0])
    return ((total & 0xFFFFFFFF) + (total >> 32)) & 0xFFFFFFFF


def level_number(level: str | int) -> int:
    """0 or 1 for KIWI's mdraid value (mirroring, striping) or a level."""
    if isinstance(level, int):
        value = level
    else:
        found = LEVELS.get(level.lower())
        if found is None:
            raise PartwrightError(f"unknown md RAID level {level!r} (mirroring or striping)")
        value = found
    if value not in (0, 1):
        raise PartwrightError(f"md RAID level {value} is not supported (0 or 1)")
    return value


def _uuid_bytes(value: str | uuidlib.UUID | None) -> bytes:
    if value is None:
        return uuidlib.uuid4().bytes
    try:
        return uuidlib.UUID(str(value)).bytes
    except ValueError:
        raise PartwrightError(f"'{value}' is not a UUID") from None


def write_member(
    image: str,
    offset: int,
    size: int,
    *,
    level: str | int,
    raid_disks: int = 2,
    dev_number: int = 0,
    role: int | None = None,
    set_uuid: str | uuidlib.UUID | None = None,
    device_uuid: str | uuidlib.UUID | None = None,
    name: str = "0",
    data_offset: int = DATA_OFFSET,
    chunk: int = CHUNK,
    epoch: int | None = None,
) -> Superblock:
    """Write the v1.2 superblock of one member (slot `dev_number`, array
    role `role`, default the slot) of a `raid_disks`-member RAID1/RAID0 array
    into [offset, offset+size) of `image`. UUIDs are random when None;
    `epoch` fixes ctime/utime (a seeded build), else the current time."""
    lvl = level_number(level)
    role = dev_number if role is None else role
    if not 1 <= raid_disks <= 384 or not 0 <= role < raid_disks or dev_number < 0:
        raise PartwrightError(f"md member role {role} of {raid_disks} disks is impossible")
    if data_offset % 4096 or data_offset < SUPER_OFFSET + SUPER_BYTES:
        raise PartwrightError(f"md data offset {data_offset} must be a multiple of 4096"
                              f" and at least {SUPER_OFFSET + SUPER_BYTES}")
    if size % 512 or size <= data_offset:
        raise PartwrightError(f"md member of {size} bytes has no room after its data offset"
                              f" {data_offset}")
    raw_name = name.encode()
    if len(raw_name) > 32:
        raise PartwrightError(f"md array name '{name}' is longer than 32 bytes")
    data_sectors = (size - data_offset) // 512
    chunk_sectors = chunk // 512 if lvl == 0 else 0
    if lvl == 0:
        if chunk % 4096 or chunk <= 0:
            raise PartwrightError(f"md RAID0 chunk {chunk} must be a multiple of 4096")
        data_sectors -= data_sectors % chunk_sectors
    now = int(time.time()) if epoch is None else epoch
    max_dev = dev_number + 1
    block = bytearray(SUPER_BYTES)
    struct.pack_into("<III", block, 0, MD_MAGIC, 1, 0)
    block[16:32] = _uuid_bytes(set_uuid)
    block[32:32 + len(raw_name)] = raw_name
    struct.pack_into("<QiiQII", block, 64, now, lvl, 0, data_sectors if lvl else 0,
                     chunk_sectors, raid_disks)
    struct.pack_into("<QQQ", block, 128, data_offset // 512, data_sectors, SUPER_OFFSET // 512)
    struct.pack_into("<I", block, 160, dev_number)
    block[168:184] = _uuid_bytes(device_uuid)
    struct.pack_into("<QQQ", block, 192, now, 1, MAX_SECTOR)
    struct.pack_into("<I", block, 220, max_dev)
    for slot in range(max_dev):
        struct.pack_into("<H", block, 256 + 2 * slot, role if slot == dev_number else ROLE_SPARE)
    struct.pack_into("<I", block, 216, checksum(block))
    with open(image, "r+b") as img:
        sparse.punch_hole(img.fileno(), offset, data_offset)
        os.pwrite(img.fileno(), bytes(block), offset + SUPER_OFFSET)
    return read_member(image, offset)


def read_member(image: str, offset: int) -> Superblock:
    """Parse the v1.2 superblock of the member at `offset` (checksum checked
    into `checksum_ok`, not raised)."""
    with open(image, "rb") as img:
        block = os.pread(img.fileno(), SUPER_BYTES, offset + SUPER_OFFSET)
    if len(block) < 512 or struct.unpack_from("<I", block, 0)[0] != MD_MAGIC:
        raise MdError(f"{image}: no md superblock at offset {offset + SUPER_OFFSET}")
    major = struct.unpack_from("<I", block, 4)[0]
    super_offset = struct.unpack_from("<Q", block, 144)[0]
    if major != 1 or super_offset * 512 != SUPER_OFFSET:
        raise MdError(f"{image}: the md superblock at offset {offset} is not version 1.2")
    max_dev = struct.unpack_from("<I", block, 220)[0]
    if 256 + 2 * max_dev > SUPER_BYTES:
        raise MdError(f"{image}: the md superblock at offset {offset} claims {max_dev} devices")
    level, _layout, _size, chunk_sectors, raid_disks = struct.unpack_from("<iiQII", block, 72)
    data_offset, data_size = struct.unpack_from("<QQ", block, 128)
    dev_number = struct.unpack_from("<I", block, 160)[0]
    events = struct.unpack_from("<Q", block, 200)[0]
    stored = struct.unpack_from("<I", block, 216)[0]
    role = (struct.unpack_from("<H", block, 256 + 2 * dev_number)[0]
            if dev_number < max_dev else ROLE_SPARE)
    return Superblock(
        level=level, raid_disks=raid_disks, set_uuid=str(uuidlib.UUID(bytes=bytes(block[16:32]))),
        name=bytes(block[32:64]).split(b"\0", 1)[0].decode("utf-8", "replace"),
        device_uuid=str(uuidlib.UUID(bytes=bytes(block[168:184]))), dev_number=dev_number,
        role=role, data_offset=data_offset * 512, data_size=data_size * 512, events=events,
        chunk=chunk_sectors * 512, checksum=stored, checksum_ok=stored == checksum(block))


def reuuid_member(image: str, offset: int, *, set_uuid: str | uuidlib.UUID | None = None,
                  device_uuid: str | uuidlib.UUID | None = None) -> Superblock:
    """New array (set) UUID and device UUID for a cloned member, with the
    checksum recomputed (mdadm --assemble --update=uuid, done offline)."""
    old = read_member(image, offset)
    if not old.checksum_ok:
        raise MdError(f"{image}: the md superblock at offset {offset} has a bad checksum")
    with open(image, "r+b") as img:
        fd = img.fileno()
        block = bytearray(os.pread(fd, SUPER_BYTES, offset + SUPER_OFFSET))
        block[16:32] = _uuid_bytes(set_uuid)
        block[168:184] = _uuid_bytes(device_uuid)
        struct.pack_into("<I", block, 216, checksum(block))
        os.pwrite(fd, bytes(block), offset + SUPER_OFFSET)
    new = read_member(image, offset)
    if new.set_uuid == old.set_uuid or new.device_uuid == old.device_uuid:
        raise MdError(f"the md member at offset {offset} kept its origin's UUID")
    return new


def clone_member(
    image: str,
    offset: int,
    size: int,
    *,
    set_uuid: str | uuidlib.UUID | None = None,
    device_uuid: str | uuidlib.UUID | None = None,
    fs_uuid: str | None = None,
    ident: Identity | None = None,
    workdir: str | None = None,
) -> Superblock:
    """Make the block copy of a member its own: new array and device UUIDs,
    and (RAID1) a new UUID for the filesystem in its data area."""
    sb = reuuid_member(image, offset, set_uuid=set_uuid, device_uuid=device_uuid)
    if sb.level == 1:
        inner.reuuid_filesystem(image, offset + sb.data_offset, min(sb.data_size, size - sb.data_offset),
                                fs_uuid, what=f"md member at offset {offset}", ident=ident,
                                workdir=workdir)
    return sb


def examine(image: str, offset: int, size: int, *, workdir: str | None = None) -> str:
    """`mdadm --examine` of the member at `offset`, on a sparse temporary
    copy of its superblock area (mdadm needs the member as a file of its own)."""
    with tempfile.TemporaryDirectory(prefix="partwright-md-", dir=workdir) as tmp:
        member = os.path.join(tmp, "member")
        with open(image, "rb") as img:
            fd = os.open(member, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.ftruncate(fd, size)
                length = min(size, SUPER_OFFSET + SUPER_BYTES)
                os.pwrite(fd, os.pread(img.fileno(), length, offset), 0)
            finally:
                os.close(fd)
        proc = run(["mdadm", "--examine", member], check=False)
    if proc.returncode != 0:
        lines = [ln.strip() for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        raise MdError(f"mdadm --examine failed on the member at offset {offset}:"
                      f" {lines[-1] if lines else 'no message'}")
    return proc.stdout.replace(member, f"{image}@{offset}")
