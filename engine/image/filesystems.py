"""Origin filesystems, made by the real tools at their partition's offset.

ext2/3/4 (`mke2fs -E offset=`) and vfat (`mkfs.vfat --offset -F 16|32`,
with the geometry and FAT32 cluster size engine.plan.fs_limits assumes) are
written straight into the image; xfs, btrfs, swap (mkswap 2.38 has no
--offset) and squashfs (mksquashfs writes a file, as KIWI does) are made in a
sparse temporary file and copied in sparsely. A share of the root tree is
put in by engine.image.fill. Labels are KIWI's: ROOT (or `rootfs_label`),
BOOT, EFI, SPARE, SWAP, a custom partition's `label` or its name in upper
case; clones keep their origin's label, as KIWI leaves them; squashfs has
none.
"""

from __future__ import annotations

import os
import shutil
import struct
from dataclasses import dataclass

from engine.errors import PartwrightError
from engine.host import sparse
from engine.host.tools import run
from engine.image import fill
from engine.image.btrfs_dev import set_device_uuid
from engine.image.identity import Identity
from engine.image.populate import Share, stage
from engine.plan.fs_diagnostics import entry_kind
from engine.plan.fs_limits import fat32_cluster_sectors, fat_chs, label_problems
from engine.plan.model import Entry, Plan
from engine.plan.root_tree import KERNEL_FILLED

EXT = ("ext2", "ext3", "ext4")
DEFAULT_MOUNTPOINTS = {"root": "/", "boot": "/boot", "efi": "/boot/efi"}
XFS_BIGTIME = 0x8  # XFS_SB_FEAT_INCOMP_BIGTIME in features_incompat


@dataclass(frozen=True)
class FsSpec:
    """One filesystem to make (origin) or to derive by block copy (clone)."""

    number: int
    key: str
    role: str
    kind: str  # one of engine.plan.fs_limits.KINDS
    label: str | None
    uuid: str  # as blkid prints it: lower-case UUID, or "ABCD-1234" for vfat
    offset: int  # bytes into the image
    size: int  # bytes
    mountpoint: str | None
    clone_of: int | None = None  # the origin's partition number
    arch: str = "x86_64"  # squashfs: the BCJ filter KIWI picks

    @property
    def blkid_type(self) -> str:
        return "vfat" if self.kind.startswith("fat") else self.kind


def fs_kind(entry: Entry) -> str | None:
    """The filesystem to make on a partition, or None (raw, LVM, RAID ...)."""
    kind = entry_kind(entry.role, entry.filesystem, entry.size_bytes)
    if kind is None and entry.filesystem and entry.role not in ("lvm", "raid", "extended"):
        raise PartwrightError(
            f"partition {entry.number} ({entry.key}): building a {entry.filesystem} filesystem"
            " is not supported")
    return kind


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
        label = None if kind == "squashfs" else label_for(source, plan)
        if kind.startswith("fat") and label is not None:
            label = label.upper()
        for problem in label_problems(kind, label) if label is not None else []:  # type: ignore[arg-type]
            raise PartwrightError(f"partition {entry.number} ({entry.key}): {problem.message}")
        if entry.is_clone and entry.sectors != source.sectors:
            raise PartwrightError(
                f"partition {entry.number} ({entry.key}) has {entry.sectors} sectors, its origin"
                f" {source.key} {source.sectors}: a block clone needs the same size"
            )
        specs.append(FsSpec(
            number=entry.number, key=entry.key, role=entry.role, kind=kind, label=label,
            uuid="" if kind == "squashfs" else fs_uuid(kind, ident, entry.number),
            offset=entry.start * plan.sector_size, size=entry.size_bytes,
            mountpoint=None if entry.is_clone else mountpoint_for(source),
            clone_of=source.number if entry.is_clone else None, arch=plan.layout.arch,
        ))
    return tuple(specs)


def make_filesystem(
    image: str, spec: FsSpec, ident: Identity, workdir: str, content: Share | None = None
) -> None:
    """Make the origin filesystem `spec` in `image`; fill it from `content`
    (its share of the root tree) when given."""
    what = f"partition {spec.number} ({spec.key})"
    label = ["-L", spec.label] if spec.label else []
    staged = None
    if content is not None and spec.kind not in KERNEL_FILLED:
        # FAT has no hard links: copies, whose times can be clamped
        staged = stage(content, os.path.join(workdir, f"stage{spec.number}"), ident.clamp,
                       ident.epoch, copy=spec.kind.startswith("fat") and ident.clamp is not None)
    try:
        if spec.kind in EXT:
            _make_ext(image, spec, ident, label, staged, what)
        elif spec.kind.startswith("fat"):
            _make_fat(image, spec, ident, workdir, staged, what)
        elif spec.kind in ("xfs", "btrfs", "swap", "squashfs"):
            _make_in_file(image, spec, ident, workdir, label, content, staged, what)
        else:  # pragma: no cover - fs_kind only returns fs_limits.KINDS
            raise PartwrightError(f"{what}: cannot make {spec.kind}")
    finally:
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)


def _make_ext(image: str, spec: FsSpec, ident: Identity, label: list[str], staged: str | None,
              what: str) -> None:
    env = ident.tool_env()
    ext_opts = [f"offset={spec.offset}", "nodiscard",
                f"hash_seed={ident.uuid_str(f'ext-hash-seed/{spec.number}')}"]
    args = [f"mkfs.{spec.kind}", "-F", "-q", *label, "-U", spec.uuid, "-E", ",".join(ext_opts)]
    if staged:
        args += ["-d", staged]
    run([*args, image, f"{spec.size // 1024}k"], env=env, what=what)
    if staged:
        fill.ext_times(image, spec.offset, staged, ident.clamp, ident.epoch, env)


def _make_fat(image: str, spec: FsSpec, ident: Identity, workdir: str, staged: str | None,
              what: str) -> None:
    """In a file of the partition's size (see engine.plan.fs_limits: FAT),
    with the partition's start as its hidden sectors, as on a device."""
    env = ident.tool_env()
    serial = spec.uuid.replace("-", "")
    # dosfstools 4.2 stamps the volume-label entry with the current time
    # whatever SOURCE_DATE_EPOCH says; --invariant fixes it (and the
    # serial, which is then written back)
    invariant = ["--invariant"] if ident.epoch is not None else []
    heads, sectors = fat_chs(spec.size // 512)
    cluster = ["-s", str(fat32_cluster_sectors(spec.size))] if spec.kind == "fat32" else []
    tmp = os.path.join(workdir, f"p{spec.number}.fat")
    with open(tmp, "wb") as fh:
        fh.truncate(spec.size)
    try:
        args = ["mkfs.vfat", "-F", spec.kind[3:], "-S", "512", "-g", f"{heads}/{sectors}", *cluster,
                "-h", str(spec.offset // 512), "-i", serial, *invariant,
                *(["-n", spec.label] if spec.label else [])]
        run([*args, tmp, str(spec.size // 1024)], env=env, what=what)
        if invariant:
            set_vfat_serial(tmp, 0, int(serial, 16))
        if staged:
            fill.fill_vfat(tmp, 0, staged, env)
        with open(tmp, "rb") as src, open(image, "r+b") as dst:
            sparse.copy_range(src.fileno(), 0, dst.fileno(), spec.offset, spec.size,
                              punch=False)
    finally:
        os.unlink(tmp)


def _make_in_file(image: str, spec: FsSpec, ident: Identity, workdir: str, label: list[str],
                  content: Share | None, staged: str | None, what: str) -> None:
    env = ident.tool_env()
    tmp = os.path.join(workdir, f"p{spec.number}.{spec.kind}")
    size = spec.size
    try:
        if spec.kind == "squashfs":
            source = staged or stage(Share(spec.number, "/", None), tmp + ".empty",
                                     epoch=ident.epoch)
            try:
                size = fill.make_squashfs(source, tmp, spec.arch, ident.clamp, ident.epoch, what)
            finally:
                if staged is None:
                    shutil.rmtree(source, ignore_errors=True)
            if size > spec.size:
                raise PartwrightError(f"{what}: the squashfs image mksquashfs made is {size} bytes,"
                                      f" more than the partition's {spec.size}")
        else:
            with open(tmp, "wb") as fh:
                fh.truncate(spec.size)
        if spec.kind == "xfs":
            run(["mkfs.xfs", "-q", "-f", "-m", f"uuid={spec.uuid}", *label, tmp], env=env, what=what)
            bigtime = fix_xfs_times(tmp, ident.epoch)
            if content is not None:
                made = fill.kernel_fill(tmp, "xfs", content, workdir, ident.clamp, ident.epoch,
                                        what)
                fill.xfs_after_kernel(tmp, made, ident.epoch, bigtime, env)
        elif spec.kind == "swap":  # mkswap (util-linux 2.38) has no --offset
            run(["mkswap", "-q", *label, "-U", spec.uuid, tmp], env=env, what=what)
        elif spec.kind == "btrfs":
            run(["mkfs.btrfs", "-q", "-f", "-U", spec.uuid, *label, tmp], env=env, what=what)
            with open(tmp, "r+b") as fh:  # mkfs.btrfs draws the device UUID itself
                set_device_uuid(fh.fileno(), 0, spec.size,
                                ident.uuid_str(f"btrfs-dev-uuid/{spec.number}"))
            if content is not None:
                fill.kernel_fill(tmp, "btrfs", content, workdir, ident.clamp, ident.epoch, what)
        with open(tmp, "rb") as src, open(image, "r+b") as dst:
            sparse.copy_range(src.fileno(), 0, dst.fileno(), spec.offset, size,
                              punch=False)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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


def fix_xfs_times(path: str, epoch: int | None) -> bool:
    """mkfs.xfs (6.1) stamps its root, realtime-bitmap and -summary inodes
    with the current time and ignores SOURCE_DATE_EPOCH: set them to `epoch`
    so that two seeded builds are identical (the inodes a protofile creates:
    fill.xfs_fix_inodes). Returns whether the fs has bigtime."""
    out = run(["xfs_db", "-r", "-c", "sb 0", "-c", "p rootino rbmino rsumino features_incompat",
               path]).stdout
    values = dict(
        (k.strip(), v.strip()) for k, _, v in (ln.partition("=") for ln in out.splitlines()) if v
    )
    bigtime = bool(int(values.get("features_incompat", "0"), 0) & XFS_BIGTIME)
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
