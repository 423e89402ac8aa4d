"""New UUIDs for filesystems that live inside a container (an LVM logical
volume, an md RAID member's data area): KIWI leaves them as they were in the
origin, partwright gives every clone's inner filesystems their own.

    reuuid_filesystem(image, offset, size, new_uuid=None, *, what='', ident=None,
                      workdir=None) -> (type, uuid) | None

The filesystem is recognised by `blkid -p` at `offset` and re-identified by
the same per-type functions the partition clones use (clone.REIDENTIFY:
tune2fs, xfs_admin, btrfstune, the vfat serial, the swap header).
"""

from __future__ import annotations

import secrets
import tempfile
import uuid as uuidlib

from engine.errors import PartwrightError
from engine.image.clone import REIDENTIFY, Region, probe
from engine.image.filesystems import FsSpec
from engine.image.identity import Identity

# blkid TYPE -> FsSpec.kind (vfat's FAT width does not matter to the re-identifier)
KIND = {"ext2": "ext2", "ext3": "ext3", "ext4": "ext4", "xfs": "xfs", "btrfs": "btrfs",
        "vfat": "fat32", "swap": "swap"}


def random_uuid(fstype: str) -> str:
    """A new identifier in the form blkid shows for `fstype`."""
    if fstype == "vfat":
        serial = secrets.randbits(32) or 1
        return f"{serial >> 16:04X}-{serial & 0xFFFF:04X}"
    return str(uuidlib.uuid4())


def reuuid_filesystem(image: str, offset: int, size: int, new_uuid: str | None = None,
                      *, what: str = "", ident: Identity | None = None,
                      workdir: str | None = None) -> tuple[str, str] | None:
    """Give the filesystem at [offset, offset+size) of `image` a new UUID
    (random when None). Returns (blkid TYPE, the new UUID), or None when the
    region holds no filesystem blkid knows (an empty volume). `ident` fixes
    the tools' timestamps (a seeded build)."""
    region = Region(image, offset, size)
    found = probe(region).get("TYPE", "")
    if not found:
        return None
    func = REIDENTIFY.get(found)
    if func is None or found not in KIND:
        raise PartwrightError(f"{what or f'offset {offset}'}: no way to give a {found}"
                              " filesystem a new UUID")
    value = new_uuid or random_uuid(found)
    spec = FsSpec(number=0, key=what or f"offset {offset}", role="custom", kind=KIND[found],
                  label=None, uuid=value, offset=offset, size=size, mountpoint=None)
    if ident is None:  # the tools' timestamps: now
        ident = Identity(key=secrets.token_hex(16), seeded=False, epoch=None)
    with tempfile.TemporaryDirectory(prefix="partwright-inner-", dir=workdir) as tmp:
        func(region, spec, ident, tmp)
    return found, value
