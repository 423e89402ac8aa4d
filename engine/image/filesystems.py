"""Origin filesystems, made by the real tools at their partition's offset.

ext2/3/4 (`mke2fs -E offset=`) and vfat (`mkfs.vfat --offset -F 16|32`)
are written straight into the image; xfs, btrfs and swap (mkswap 2.38 has no
--offset) are made in a sparse temporary file and copied in sparsely. Labels are KIWI's: ROOT (or `rootfs_label`), BOOT, EFI, SPARE,
SWAP, a custom partition's `label` or its name in upper case; clones keep
their origin's label, as KIWI leaves them.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from engine.errors import PartwrightError
from engine.host import sparse
from engine.host.tools import run
from engine.image.identity import Identity
from engine.plan.model import Entry, Plan

EXT = ("ext2", "ext3", "ext4")
KINDS = (*EXT, "xfs", "btrfs", "fat16", "fat32", "swap")
# roles whose partitions hold something else than a plain filesystem
NOT_FORMATTED = ("bios_grub", "prep", "extended", "lvm", "raid")
LABEL_MAX = {"ext2": 16, "ext3": 16, "ext4": 16, "xfs": 12, "btrfs": 255,
             "fat16": 11, "fat32": 11, "swap": 16}
DEFAULT_MOUNTPOINTS = {"root": "/", "boot": "/boot", "efi": "/boot/efi"}
FAT32_MIN_BYTES = 512 * 1024 * 1024  # below this a "vfat" partition gets FAT16


@dataclass(frozen=True)
class FsSpec:
    """One filesystem to make (origin) or to derive by block copy (clone)."""

    number: int
    key: str
    role: str
    kind: str  # one of KINDS
    label: str | None
    uuid: str  # as blkid prints it: lower-case UUID, or "ABCD-1234" for vfat
    offset: int  # bytes into the image
    size: int  # bytes
    mountpoint: str | None
    clone_of: int | None = None  # the origin's partition number

    @property
    def blkid_type(self) -> str:
        return "vfat" if self.kind.startswith("fat") else self.kind


def fs_kind(entry: Entry) -> str | None:
    """The filesystem to make on a partition, or None (raw, LVM, RAID ...)."""
    if entry.role in NOT_FORMATTED:
        return None
    fs = (entry.filesystem or "").lower()
    if not fs:
        if entry.role == "efi":
            return "fat16"  # KIWI's ESP is always FAT16
        if entry.role == "swap":
            return "swap"
        return None
    if fs in ("vfat", "fat"):
        return "fat32" if entry.size_bytes >= FAT32_MIN_BYTES else "fat16"
    if fs in ("linux-swap", "swap"):
        return "swap"
    if fs not in KINDS:
        raise PartwrightError(
            f"partition {entry.number} ({entry.key}): building a {fs} filesystem is not supported"
        )
    return fs


def label_for(entry: Entry, plan: Plan) -> str | None:
    """KIWI's filesystem label for a partition (clones share the origin's)."""
    if entry.label:
        return entry.label
    role = entry.role
    if role == "root":
        return plan.layout.rootfs_label or "ROOT"
    fixed = {"boot": "BOOT", "efi": "EFI", "spare": "SPARE", "swap": "SWAP"}
    if role in fixed:
        return fixed[role]
    if role == "custom":
        origin = plan.origin_of(entry) or entry
        part = plan.layout.partition(origin.key)
        if part is not None and part.label:
            return part.label
        return origin.key.upper()
    return None


def mountpoint_for(entry: Entry) -> str | None:
    if entry.mountpoint:
        return entry.mountpoint
    return DEFAULT_MOUNTPOINTS.get(entry.role)


def fs_uuid(kind: str, ident: Identity, number: int) -> str:
    if kind.startswith("fat"):
        serial = ident.serial(f"vfat-serial/{number}")
        return f"{serial >> 16:04X}-{serial & 0xFFFF:04X}"
    return ident.uuid_str(f"fs-uuid/{number}")


def plan_filesystems(plan: Plan, ident: Identity) -> tuple[FsSpec, ...]:
    """Every filesystem of the image with the identifiers it will carry."""
    specs: list[FsSpec] = []
    for entry in plan.entries:
        source = plan.origin_of(entry) if entry.is_clone else entry
        if source is None:
            raise PartwrightError(f"partition {entry.number}: its origin {entry.clone_of} is not in the plan")
        kind = fs_kind(source)
        if kind is None:
            continue
        label = label_for(source, plan)
        if label is not None and len(label.encode()) > LABEL_MAX[kind]:
            raise PartwrightError(
                f"partition {entry.number} ({entry.key}): label '{label}' is longer than"
                f" {LABEL_MAX[kind]} bytes, the limit of {kind}"
            )
        if kind.startswith("fat") and label is not None:
            label = label.upper()
        if entry.is_clone and entry.sectors != source.sectors:
            raise PartwrightError(
                f"partition {entry.number} ({entry.key}) has {entry.sectors} sectors, its origin"
                f" {source.key} {source.sectors}: a block clone needs the same size"
            )
        specs.append(FsSpec(
            number=entry.number, key=entry.key, role=entry.role, kind=kind, label=label,
            uuid=fs_uuid(kind, ident, entry.number),
            offset=entry.start * plan.sector_size, size=entry.size_bytes,
            mountpoint=None if entry.is_clone else mountpoint_for(source),
            clone_of=source.number if entry.is_clone else None,
        ))
    return tuple(specs)


def make_filesystem(
    image: str, spec: FsSpec, ident: Identity, workdir: str, content: str | None = None
) -> None:
    """Make the origin filesystem `spec` in `image`; fill it from `content`
    (a directory, or an XFS protofile for xfs) when given."""
    env = ident.tool_env()
    what = f"partition {spec.number} ({spec.key})"
    label = ["-L", spec.label] if spec.label else []
    if spec.kind in EXT:
        ext_opts = [f"offset={spec.offset}", "nodiscard",
                    f"hash_seed={ident.uuid_str(f'ext-hash-seed/{spec.number}')}"]
        args = [f"mkfs.{spec.kind}", "-F", "-q", *label, "-U", spec.uuid,
                "-E", ",".join(ext_opts)]
        if content:
            args += ["-d", content]
        run([*args, image, f"{spec.size // 1024}k"], env=env, what=what)
        if content and ident.epoch is not None:
            from engine.image.populate import fix_ext_times
            fix_ext_times(image, spec.offset, content, ident.epoch, env)
    elif spec.kind.startswith("fat"):
        serial = spec.uuid.replace("-", "")
        # dosfstools 4.2 stamps the volume-label entry with the current time
        # whatever SOURCE_DATE_EPOCH says; --invariant fixes it (and the
        # serial, which is then written back)
        invariant = ["--invariant"] if ident.epoch is not None else []
        args = ["mkfs.vfat", "-F", spec.kind[3:], "-S", "512", "-i", serial, *invariant,
                f"--offset={spec.offset // 512}", *(["-n", spec.label] if spec.label else [])]
        run([*args, image, str(spec.size // 1024)], env=env, what=what)
        if invariant:
            set_vfat_serial(image, spec.offset, int(serial, 16))
        if content:
            from engine.image.populate import fill_vfat
            fill_vfat(image, spec.offset, content, env)
    elif spec.kind in ("xfs", "btrfs", "swap"):
        tmp = os.path.join(workdir, f"p{spec.number}.{spec.kind}")
        with open(tmp, "wb") as fh:
            fh.truncate(spec.size)
        try:
            if spec.kind == "xfs":
                proto = ["-p", content] if content else []
                run(["mkfs.xfs", "-q", "-f", "-m", f"uuid={spec.uuid}", *label, *proto, tmp],
                    env=env, what=what)
                bigtime = fix_xfs_times(tmp, ident.epoch)
                if content:
                    from engine.image.populate import fix_xfs_tree_times
                    fix_xfs_tree_times(tmp, tree_of(content), ident.epoch, bigtime)
            elif spec.kind == "swap":  # mkswap (util-linux 2.38) has no --offset
                run(["mkswap", "-q", *label, "-U", spec.uuid, tmp], env=env, what=what)
            else:
                rootdir = ["--rootdir", content] if content else []
                run(["mkfs.btrfs", "-q", "-f", "-U", spec.uuid, *label, *rootdir, tmp],
                    env=env, what=what)
            with open(tmp, "rb") as src, open(image, "r+b") as dst:
                sparse.copy_range(src.fileno(), 0, dst.fileno(), spec.offset, spec.size,
                                  punch=False, skip_zeros=True)
        finally:
            os.unlink(tmp)
    else:  # pragma: no cover - fs_kind only returns KINDS
        raise PartwrightError(f"{what}: cannot make {spec.kind}")


def set_vfat_serial(image: str, offset: int, serial: int) -> None:
    """Write a FAT volume serial: 0x27 of the boot sector (FAT12/16), or 0x43
    of the boot sector and of its backup (FAT32). The label stays."""
    with open(image, "r+b") as img:
        fd = img.fileno()
        boot = os.pread(fd, 512, offset)
        if boot[510:512] != b"\x55\xaa":
            raise PartwrightError(f"no FAT boot sector at byte {offset}")
        bytes_per_sector = struct.unpack_from("<H", boot, 0x0B)[0]
        places = [offset]
        if struct.unpack_from("<H", boot, 0x16)[0] == 0:  # FAT32
            at = 0x43
            backup = struct.unpack_from("<H", boot, 0x32)[0]
            if backup not in (0, 0xFFFF):
                places.append(offset + backup * bytes_per_sector)
        else:
            at = 0x27
        for place in places:
            os.pwrite(fd, struct.pack("<I", serial), place + at)


def tree_of(protofile: str) -> str:
    """The staged directory a protofile describes (DIR.proto describes DIR)."""
    return protofile.removesuffix(".proto")


def fix_xfs_times(path: str, epoch: int | None) -> bool:
    """mkfs.xfs (6.1) stamps its root, realtime-bitmap and -summary inodes
    with the current time and ignores SOURCE_DATE_EPOCH: set them to `epoch`
    so that two seeded builds are identical (the inodes a protofile creates:
    populate.fix_xfs_tree_times). Returns whether the fs has bigtime."""
    out = run(["xfs_db", "-r", "-c", "sb 0", "-c", "p rootino rbmino rsumino versionnum", path]).stdout
    values = dict(
        (k.strip(), v.strip()) for k, _, v in (ln.partition("=") for ln in out.splitlines()) if v
    )
    bigtime = "BIGTIME" in values.get("versionnum", "")
    if epoch is None:
        return bigtime
    fields = ["core.atime", "core.mtime", "core.ctime", "v3.crtime"]
    commands: list[str] = []
    for name in ("rootino", "rbmino", "rsumino"):
        ino = values.get(name, "")
        if not ino.isdigit() or int(ino) == 0:
            continue
        commands += ["-c", f"inode {ino}"]
        for field in fields:
            if bigtime:  # bigtime stores (seconds + 2^31) * 1e9 + ns in one 64-bit word
                commands += ["-c", f"write -d {field}.sec {(epoch + 2**31) * 10**9}"]
            else:
                commands += ["-c", f"write -d {field}.sec {epoch}", "-c", f"write -d {field}.nsec 0"]
    if commands:
        run(["xfs_db", "-x", *commands, path], what="xfs_db setting inode times")
    return bigtime
