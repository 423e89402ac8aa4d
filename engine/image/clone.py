"""Clones: a sparse block copy of the origin, then new identifiers.

The copy moves only the origin's data extents (engine/host/sparse.py). The
new identifiers are chosen by what `blkid -p` finds in the copy, through the
REIDENTIFY table (blkid TYPE -> function); containers (crypto_LUKS:
`cryptsetup luksUUID`, LVM2_member: `vgimportclone` on a loop,
linux_raid_member: an offline md superblock rewrite) are re-identified by
engine/image/containers/make.py. Tools without an offset option (xfs_admin, btrfstune, cryptsetup)
work on a sparse extract of the partition that is copied back.

| blkid TYPE | new identifier |
| ext2/3/4 | `tune2fs -f -U UUID image?offset=N` |
| xfs      | `xfs_admin -U UUID` on an extract, then `xfs_db -x -c "logformat -c 1"` unless the kernel wrote it |
| btrfs    | `btrfstune -f -U UUID` on an extract (fsid), then a new device UUID (UUID_SUB, engine/image/btrfs_dev.py) |
| vfat     | volume serial written at 0x27 (FAT12/16) or 0x43 (FAT32) of the boot sector and its backup; the label stays |
| swap     | the 16 UUID bytes at offset 1036 of the swap header; the label stays |
| squashfs | nothing: read-only, without UUID or label (a plain copy, as KIWI's dd) |
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from engine.errors import PartwrightError, ToolError
from engine.host import sparse
from engine.host.tools import run
from engine.image.btrfs_dev import set_device_uuid
from engine.image.filesystems import FsSpec, set_vfat_serial
from engine.image.identity import Identity


@dataclass(frozen=True)
class Region:
    """A partition's bytes inside an image file."""

    path: str
    offset: int
    size: int


Reidentifier = Callable[[Region, FsSpec, Identity, str], None]


def probe(region: Region) -> dict[str, str]:
    """`blkid -p` of a region: TYPE, UUID, LABEL ... (empty when nothing is found)."""
    proc = run(
        ["blkid", "-p", "-o", "export", "-O", str(region.offset), "-S", str(region.size), region.path],
        check=False,
    )
    if proc.returncode not in (0, 2):  # 2: nothing found
        raise ToolError(f"blkid failed on {region.path} at offset {region.offset}: {proc.stderr.strip()}")
    found: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            found[key] = value
    return found


def _ext(region: Region, spec: FsSpec, ident: Identity, workdir: str) -> None:
    run(["tune2fs", "-f", "-U", spec.uuid, f"{region.path}?offset={region.offset}"],
        env=ident.tool_env(), what=f"new UUID for partition {spec.number}")


def _on_extract(step: Callable[[str, FsSpec, Identity], None]) -> Reidentifier:
    """Run `step` on a sparse extract of the partition, then copy it back."""
    def reidentify(region: Region, spec: FsSpec, ident: Identity, workdir: str) -> None:
        tmp = os.path.join(workdir, f"p{spec.number}.reid")
        with open(region.path, "r+b") as img:
            sparse.extract(img.fileno(), region.offset, region.size, tmp)
            try:
                step(tmp, spec, ident)
                with open(tmp, "rb") as src:
                    sparse.copy_range(src.fileno(), 0, img.fileno(), region.offset, region.size)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
    return reidentify


def _xfs(path: str, spec: FsSpec, ident: Identity) -> None:
    """xfs_admin rewrites the whole 64 MiB log with cycle-2 records; when the
    kernel never wrote the filesystem (its superblock LSN is 0), formatting
    the log back to cycle 1 (what mkfs.xfs leaves: one record, then zeros)
    keeps the clone as sparse as its origin. After kernel writes the
    metadata carries cycle-1 LSNs that a cycle-1 log would be behind."""
    what = f"new UUID for partition {spec.number}"
    out = run(["xfs_db", "-r", "-c", "sb 0", "-c", "p lsn", path], what=what).stdout
    pristine = out.strip().endswith("= 0")
    run(["xfs_admin", "-U", spec.uuid, path], env=ident.tool_env(), what=what)
    if pristine:
        run(["xfs_db", "-x", "-c", "logformat -c 1", path], env=ident.tool_env(), what=what)


def _btrfs(path: str, spec: FsSpec, ident: Identity) -> None:
    """A new fsid (btrfstune) and a new device UUID (btrfs_dev)."""
    run(["btrfstune", "-f", "-U", spec.uuid, path], env=ident.tool_env(),
        what=f"new UUID for partition {spec.number}")
    with open(path, "r+b") as fh:
        set_device_uuid(fh.fileno(), 0, os.fstat(fh.fileno()).st_size,
                        ident.uuid_str(f"btrfs-dev-uuid/{spec.number}"))


def _vfat(region: Region, spec: FsSpec, ident: Identity, workdir: str) -> None:
    set_vfat_serial(region.path, region.offset, int(spec.uuid.replace("-", ""), 16))


def _swap(region: Region, spec: FsSpec, ident: Identity, workdir: str) -> None:
    with open(region.path, "r+b") as img:
        page = os.pread(img.fileno(), 4096, region.offset)
        if page[4086:4096] not in (b"SWAPSPACE2", b"SWAP-SPACE"):
            raise PartwrightError(f"partition {spec.number}: no swap header to re-UUID")
        os.pwrite(img.fileno(), uuid.UUID(spec.uuid).bytes, region.offset + 1036)


def _nothing(region: Region, spec: FsSpec, ident: Identity, workdir: str) -> None:
    """squashfs: read-only, no UUID and no label; the copy is the clone."""


# re-identified on a sparse extract: a clone of these is extracted from the
# origin's blocks straight away (one pass less than copy, extract, copy back)
ON_EXTRACT: dict[str, Callable[[str, FsSpec, Identity], None]] = {"xfs": _xfs, "btrfs": _btrfs}

REIDENTIFY: dict[str, Reidentifier] = {
    "ext2": _ext,
    "ext3": _ext,
    "ext4": _ext,
    "xfs": _on_extract(ON_EXTRACT["xfs"]),
    "btrfs": _on_extract(ON_EXTRACT["btrfs"]),
    "vfat": _vfat,
    "swap": _swap,
    "squashfs": _nothing,
}


def clone_partition(
    image: str, origin: FsSpec, clone: FsSpec, ident: Identity, workdir: str
) -> int:
    """Copy the origin's blocks to the clone and give the copy its own
    identifiers. Returns the bytes copied."""
    if origin.size != clone.size:
        raise PartwrightError(
            f"partition {clone.number} is {clone.size} bytes, its origin {origin.size}"
        )
    kind = origin.blkid_type
    if kind in ON_EXTRACT:
        tmp = os.path.join(workdir, f"p{clone.number}.reid")
        with open(image, "r+b") as img:
            sparse.extract(img.fileno(), origin.offset, origin.size, tmp)
            try:
                ON_EXTRACT[kind](tmp, clone, ident)
                with open(tmp, "rb") as src:
                    return sparse.copy_range(src.fileno(), 0, img.fileno(), clone.offset,
                                             clone.size)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
    with open(image, "r+b") as img:
        copied = sparse.copy_range(img.fileno(), origin.offset, img.fileno(), clone.offset, origin.size)
    region = Region(image, clone.offset, clone.size)
    found = probe(region).get("TYPE", "")
    func = REIDENTIFY.get(found)
    if func is None:
        raise PartwrightError(
            f"partition {clone.number} ({clone.key}): no way to give a {found or 'unknown'}"
            " clone new identifiers"
        )
    func(region, clone, ident, workdir)
    return copied
