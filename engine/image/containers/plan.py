"""Which partitions of a plan are LUKS, LVM or md RAID containers, what is
inside each, and what can be refused before a byte is written.

What is built:
- `luks` set: the root partition (p.lxroot) and its clones are LUKS
  containers (luks_version: luks1/luks2, default LUKS2) whose payload is the
  root filesystem, encrypted in user space (no device-mapper needed). The key
  is the layout's passphrase (`luks="file://PATH"`: the bytes of a key file),
  or the build's `luks_key` (--luks-key env:NAME|file:PATH) when given.
  PARTWRIGHT_LUKS_FAST=1 (tests) uses pbkdf2 with
  1000 iterations instead of cryptsetup's benchmarked argon2id.
- `<systemdisk>` with LVM: the p.lxlvm partition is a PV of the volume group
  (`<systemdisk name>`, default systemVG) holding one LV per `<volume>` (a
  name without mountpoint is its path, as KIWI does), LVSwap when
  oem-swap is on, and LVRoot with what is left (`-l +100%FREE`); each LV gets
  the layout's filesystem (swap for LVSwap), written at its extents. Needs
  root and loop devices.
- `mdraid`: p.lxraid and its clones are members of a two-disk RAID1
  (mirroring) or RAID0 (striping) array with the second disk missing, as
  KIWI's `mdadm --create --level 1|0 --raid-disks 2 DEVICE missing`; for
  mirroring the root filesystem is at the member's data offset.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Literal

from engine.errors import PartwrightError
from engine.host import kernel
from engine.host.tools import which
from engine.image import luks, lvm, mdraid, xts
from engine.image.filesystems import FsSpec, fs_kind, fs_uuid
from engine.image.identity import Identity
from engine.plan.disk_size import MIN_VOLUME_MB, MIN_VOLUME_MB_DEFAULT
from engine.plan.model import Plan

FAST_ENV = "PARTWRIGHT_LUKS_FAST"
MIB = 1024 * 1024
ContainerKind = Literal["luks", "lvm", "raid"]


@dataclass(frozen=True)
class LvSpec:
    """A logical volume to create and the filesystem it holds."""

    name: str
    size: int | None  # bytes; None: the rest of the VG
    kind: str  # filesystem kind (filesystems.KINDS)
    label: str | None
    mountpoint: str | None


@dataclass(frozen=True)
class Container:
    """One LUKS, LVM or md RAID partition of the plan."""

    kind: ContainerKind
    number: int
    key: str
    offset: int
    size: int
    clone_of: int | None  # the origin's partition number
    clone_index: int  # the plan's: 1, 2 ... in creation order; 0 for an origin
    inner: FsSpec | None  # luks, raid: the filesystem inside (its offset: where it is in the image)
    luks_version: str | None = None
    passphrase: str | None = field(default=None, repr=False)
    key_source: luks.KeySource | None = field(default=None, repr=False)  # overrides passphrase
    raid_level: str | None = None
    vg_name: str = lvm.DEFAULT_VG
    volumes: tuple[LvSpec, ...] = ()

    def __repr__(self) -> str:  # the passphrase is never shown
        return f"Container({self.kind}, partition {self.number}, {self.key})"


def _volume_name(path: str) -> str:
    """KIWI's LV name for a volume given by path (XMLState._to_volume_name)."""
    return path.strip().lstrip("/").replace("/", "_")


def _lvm_volumes(plan: Plan, kind: str) -> tuple[LvSpec, ...]:
    layout = plan.layout
    disk = layout.systemdisk
    sized: list[LvSpec] = []
    rest: list[LvSpec] = []
    root_label = layout.rootfs_label or "ROOT"
    root: LvSpec | None = None
    for volume in (disk.volumes if disk is not None else ()):
        name = volume.name
        mountpoint = volume.mountpoint
        if name.startswith("@root"):  # KIWI's root volume: LVRoot, or @root=NAME
            size = volume.size_mb if volume.size_mb is not None else volume.freespace_mb
            if size is None and not volume.all_free:  # KIWI: freespace of its minimum
                size = MIN_VOLUME_MB.get(kind, MIN_VOLUME_MB_DEFAULT)
            root = LvSpec(name.partition("=")[2].strip() or "LVRoot",
                          None if volume.all_free or size is None else size * MIB, kind,
                          volume.label or root_label, "/")
            continue
        if not mountpoint:
            mountpoint = "/" + name.strip().lstrip("/")
            name = _volume_name(name)
        size = volume.size_mb if volume.size_mb is not None else volume.freespace_mb
        spec = LvSpec(name, None if volume.all_free or size is None else size * MIB, kind,
                      volume.label, mountpoint)
        (rest if spec.size is None else sized).append(spec)
    if layout.oem_swap:
        swap_mb = layout.oem_swapsize if layout.oem_swapsize is not None else 128
        sized.append(LvSpec(layout.oem_swapname or "LVSwap", swap_mb * MIB, "swap", "SWAP", None))
    if root is not None:
        (rest if root.size is None else sized).append(root)
    elif rest:  # a full-size volume exists: LVRoot gets KIWI's minimum instead
        sized.append(LvSpec("LVRoot", 64 * MIB, kind, root_label, "/"))
    else:
        rest.append(LvSpec("LVRoot", None, kind, root_label, "/"))
    if len(rest) > 1:
        raise PartwrightError("more than one LVM volume takes the rest of the volume group")
    names = [v.name for v in (*sized, *rest)]
    if len(set(names)) != len(names):
        raise PartwrightError(f"two LVM volumes are named alike: {', '.join(names)}")
    return (*sized, *rest)


def plan_containers(
    plan: Plan, ident: Identity, specs: tuple[FsSpec, ...],
    luks_key: luks.KeySource | None = None,
) -> tuple[tuple[Container, ...], tuple[FsSpec, ...], tuple[FsSpec, ...]]:
    """The containers of the plan, every filesystem spec (with the root
    filesystem of a RAID member added), and the specs the generic steps make.
    `luks_key` (the build's --luks-key) overrides the key the layout's
    `luks` attribute gives."""
    layout = plan.layout
    if luks_key is not None and layout.luks is None:
        raise PartwrightError(f"a LUKS key ({luks_key.describe()}) was given, but the layout"
                              " encrypts nothing (no luks attribute)")
    by_number = {s.number: s for s in specs}
    roles = {e.role for e in plan.entries}
    if layout.luks is not None and roles & {"lvm", "raid"}:
        raise PartwrightError("LUKS together with LVM or md RAID is not supported by the build yet")
    boxes: list[Container] = []
    extra: list[FsSpec] = []
    for entry in plan.entries:
        source = plan.origin_of(entry) if entry.is_clone else entry
        if source is None:
            continue
        base = Container(kind="luks", number=entry.number, key=entry.key,  # kind: set below
                         offset=entry.start * plan.sector_size, size=entry.size_bytes,
                         clone_of=source.number if entry.is_clone else None,
                         clone_index=entry.clone_index, inner=None)
        if layout.luks is not None and source.role == "root":
            spec = by_number.get(entry.number)
            if spec is None:
                raise PartwrightError(f"partition {entry.number} ({entry.key}): LUKS needs a"
                                      " root filesystem inside")
            boxes.append(replace(base, kind="luks", inner=spec, luks_version=layout.luks_version,
                                 passphrase=layout.luks, key_source=luks_key))
        elif source.role == "raid":
            level = layout.mdraid or "mirroring"
            kind = fs_kind(replace(source, role="root")) if mdraid.level_number(level) == 1 else None
            spec = None
            if kind is not None:
                data = mdraid.DATA_OFFSET
                spec = FsSpec(
                    number=entry.number, key=entry.key, role="root", kind=kind,
                    label=layout.rootfs_label or "ROOT", uuid=fs_uuid(kind, ident, entry.number),
                    offset=base.offset + data, size=base.size - data,
                    mountpoint=None if entry.is_clone else "/", clone_of=base.clone_of)
                extra.append(spec)
            boxes.append(replace(base, kind="raid", inner=spec, raid_level=level))
        elif source.role == "lvm":
            kind = (layout.filesystem or "ext4").lower()
            if kind not in ("ext2", "ext3", "ext4", "xfs", "btrfs"):
                raise PartwrightError(f"partition {entry.number}: LVM volumes with {kind} are"
                                      " not supported by the build")
            vg = (layout.systemdisk.name if layout.systemdisk is not None else None) or lvm.DEFAULT_VG
            boxes.append(replace(base, kind="lvm", vg_name=vg, volumes=_lvm_volumes(plan, kind)))
    all_specs = (*specs, *extra)
    inside = {b.number for b in boxes}
    plain = tuple(s for s in all_specs if s.number not in inside)
    return tuple(boxes), tuple(sorted(all_specs, key=lambda s: s.number)), plain


def container_key(box: Container) -> luks.KeySource:
    if box.key_source is not None:
        return box.key_source
    if not box.passphrase:
        raise PartwrightError("the LUKS passphrase (luks=\"...\") is empty")
    return luks.KeySource.from_attribute(box.passphrase)


def fast_kdf() -> bool:
    return os.environ.get(FAST_ENV, "") not in ("", "0")


def check_inputs(boxes: tuple[Container, ...], root_tree: str | None) -> None:
    """What can be refused before a byte is written."""
    kinds = {b.kind for b in boxes}
    if "luks" in kinds:
        which("cryptsetup")
        if not xts.available():
            raise PartwrightError("OpenSSL's libcrypto (aes-xts) is not available: needed to"
                                  " write the root filesystem into its LUKS container")
        for box in boxes:
            if box.kind == "luks":
                container_key(box).read()  # a missing variable or an unreadable file: refused now
                luks.payload_bytes(box.size, box.luks_version)
    if "lvm" in kinds:
        reason = kernel.missing("loop")
        if reason is not None:
            raise lvm.KernelFeatureMissing(f"an LVM layout needs a loop device: {reason}")
        which("losetup")
        which("lvm")
        if root_tree is not None:
            raise PartwrightError("--root-tree with an LVM <systemdisk> is not supported by"
                                  " the build yet")
