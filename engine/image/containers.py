"""The build's LUKS, LVM and md RAID partitions (issue 7): what build.py
calls through four small hooks, on the primitives of luks.py, lvm.py and
mdraid.py.

    plan_containers(plan, ident, specs) -> (containers, specs, plain_specs)
    check_inputs(containers, root_tree)
    make_containers(image, containers, ident, workdir, contents)
    clone_containers(image, containers, ident, workdir) -> {partition: bytes copied}
    verify_containers(image, containers, plain_specs, workdir) -> checks

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
Clones are block copies of their origin, then: a new LUKS UUID and a new
UUID for the filesystem inside; vgimportclone (new PV/VG UUIDs, the VG renamed
systemVG1, systemVG2 ...) and new UUIDs for the filesystems in every LV; new
md array and device UUIDs and a new UUID for the filesystem inside. With
--seed every one of these derives from the seed, except what the tools draw
themselves (LUKS salts and volume keys, LVM VG/LV UUIDs).

`specs` (returned) is every filesystem for staging, fstab and the report;
`plain_specs` leaves out the ones inside containers, which the generic
mkfs/clone/verify steps must not touch.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from engine.errors import PartwrightError, ToolError
from engine.host import kernel
from engine.host.tools import run, which
from engine.image import luks, lvm, mdraid, sparse
from engine.image.clone import Region, probe
from engine.image.filesystems import FsSpec, fs_kind, fs_uuid, make_filesystem
from engine.image.identity import Identity
from engine.image.populate import Share
from engine.image.verify import FsCheck, check_filesystem
from engine.plan.disk_size import MIN_VOLUME_MB, MIN_VOLUME_MB_DEFAULT
from engine.plan.model import Entry, Plan

FAST_ENV = "PARTWRIGHT_LUKS_FAST"
MIB = 1024 * 1024


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

    kind: str  # luks | lvm | raid
    number: int
    key: str
    offset: int
    size: int
    clone_of: int | None  # the origin's partition number
    clone_index: int  # 1, 2 ... for rootclone1, rootclone2; 0 for an origin
    inner: FsSpec | None  # luks, raid: the filesystem inside (its offset: where it is in the image)
    luks_version: str | None = None
    passphrase: str | None = field(default=None, repr=False)
    key_source: luks.KeySource | None = field(default=None, repr=False)  # overrides passphrase
    raid_level: str | None = None
    vg_name: str = lvm.DEFAULT_VG
    volumes: tuple[LvSpec, ...] = ()

    def __repr__(self) -> str:  # the passphrase is never shown
        return f"Container({self.kind}, partition {self.number}, {self.key})"


def _clone_index(entry: Entry, clones: dict[str, list[Entry]]) -> int:
    if entry.clone_of is None:
        return 0
    match = re.search(r"clone(\d+)$", entry.key)
    if match:
        return int(match.group(1))
    return [e.key for e in clones.get(entry.clone_of, [])].index(entry.key) + 1


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
    clones: dict[str, list[Entry]] = {}
    for entry in plan.entries:
        if entry.clone_of is not None:
            clones.setdefault(entry.clone_of, []).append(entry)
    roles = {e.role for e in plan.entries}
    if layout.luks is not None and roles & {"lvm", "raid"}:
        raise PartwrightError("LUKS together with LVM or md RAID is not supported by the build yet")
    boxes: list[Container] = []
    extra: list[FsSpec] = []
    for entry in plan.entries:
        source = plan.origin_of(entry) if entry.is_clone else entry
        if source is None:
            continue
        base = Container(kind="", number=entry.number, key=entry.key,
                         offset=entry.start * plan.sector_size, size=entry.size_bytes,
                         clone_of=source.number if entry.is_clone else None,
                         clone_index=_clone_index(entry, clones), inner=None)
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


def _key(box: Container) -> luks.KeySource:
    if box.key_source is not None:
        return box.key_source
    if not box.passphrase:
        raise PartwrightError("the LUKS passphrase (luks=\"...\") is empty")
    return luks.KeySource.from_attribute(box.passphrase)


def _fast() -> bool:
    return os.environ.get(FAST_ENV, "") not in ("", "0")


def check_inputs(boxes: tuple[Container, ...], root_tree: str | None) -> None:
    """What can be refused before a byte is written."""
    kinds = {b.kind for b in boxes}
    if "luks" in kinds:
        which("cryptsetup")
        from engine.image import xts
        if not xts.available():
            raise PartwrightError("OpenSSL's libcrypto (aes-xts) is not available: needed to"
                                  " write the root filesystem into its LUKS container")
        for box in boxes:
            if box.kind == "luks":
                _key(box).read()  # a missing variable or an unreadable file: refused now
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


def make_containers(image: str, boxes: tuple[Container, ...], ident: Identity, workdir: str,
                    contents: dict[int, Share]) -> None:
    """The origin containers and the filesystems inside them."""
    for box in boxes:
        if box.clone_of is not None:
            continue
        if box.kind == "luks":
            _make_luks(image, box, ident, workdir, contents.get(box.number))
        elif box.kind == "raid":
            sb = mdraid.write_member(
                image, box.offset, box.size, level=box.raid_level or "mirroring",
                set_uuid=ident.uuid(f"md-set-uuid/{box.number}"),
                device_uuid=ident.uuid(f"md-device-uuid/{box.number}"), epoch=ident.epoch)
            if box.inner is not None:
                assert box.inner.offset == box.offset + sb.data_offset
                make_filesystem(image, box.inner, ident, workdir, contents.get(box.number))
        else:
            _make_lvm(image, box, ident, workdir)


def _make_luks(image: str, box: Container, ident: Identity, workdir: str,
               content: Share | None) -> None:
    assert box.inner is not None
    payload = luks.payload_bytes(box.size, box.luks_version)
    plain = os.path.join(workdir, f"p{box.number}.luks-payload")
    with open(plain, "wb") as fh:
        fh.truncate(payload)
    try:
        spec = replace(box.inner, offset=0, size=payload)
        make_filesystem(plain, spec, ident, workdir, content)
        if spec.kind == "xfs":
            _zero_xfs_log(plain)
        luks.format_luks(image, box.offset, box.size, _key(box), version=box.luks_version,
                         uuid=ident.uuid_str(f"luks-uuid/{box.number}"), fast=_fast(),
                         content=plain, workdir=workdir)
    finally:
        if os.path.exists(plain):
            os.unlink(plain)


def _zero_xfs_log(path: str) -> None:
    """The xfs log must read as zeros past its first record, and the copy
    into the payload file left those zeros as holes: write them out, so that
    they are encrypted (a hole in a container reads as noise)."""
    out = run(["xfs_db", "-r", "-c", "sb 0", "-c", "p logstart logblocks blocksize", path]).stdout
    fields = {k.strip(): v.strip() for k, _, v in (ln.partition("=") for ln in out.splitlines())}
    start = run(["xfs_db", "-r", "-c", f"convert fsb {fields['logstart']} byte", path]).stdout
    offset = int(start.split()[0], 16)
    length = int(fields["logblocks"]) * int(fields["blocksize"])
    zeros = bytes(MIB)
    with open(path, "r+b") as fh:
        fd = fh.fileno()
        for start_at, size in _holes(fd, offset, length):
            pos = start_at
            while pos < start_at + size:
                step = min(MIB, start_at + size - pos)
                os.pwrite(fd, zeros[:step], pos)
                pos += step


def _holes(fd: int, start: int, length: int) -> list[tuple[int, int]]:
    holes: list[tuple[int, int]] = []
    pos = start
    for data, size in sparse.extents(fd, start, length):
        if data > pos:
            holes.append((pos, data - pos))
        pos = data + size
    if pos < start + length:
        holes.append((pos, start + length - pos))
    return holes


def _lv_fs_spec(box: Container, lv: lvm.LvInfo, spec: LvSpec, ident: Identity) -> FsSpec:
    return FsSpec(number=box.number, key=f"{box.vg_name}/{lv.name}", role="custom",
                  kind=spec.kind, label=spec.label,
                  uuid=ident.uuid_str(f"lv-fs-uuid/{box.number}/{lv.name}"),
                  offset=lv.offset, size=lv.size, mountpoint=spec.mountpoint)


def _make_lvm(image: str, box: Container, ident: Identity, workdir: str) -> None:
    vg = lvm.create_volume_group(
        image, box.offset, box.size,
        [lvm.VolumeRequest(v.name, v.size) for v in box.volumes], vg_name=box.vg_name,
        pv_uuid=lvm.lvm_uuid(ident.uuid(f"lvm-pv-uuid/{box.number}")), workdir=workdir)
    for spec in box.volumes:
        make_filesystem(image, _lv_fs_spec(box, vg.volume(spec.name), spec, ident), ident, workdir)


def clone_containers(image: str, boxes: tuple[Container, ...], ident: Identity,
                     workdir: str) -> dict[int, int]:
    """Block-copy every clone container from its origin and give it its own
    identifiers. Returns the bytes copied per clone partition."""
    origins = {b.number: b for b in boxes if b.clone_of is None}
    copied: dict[int, int] = {}
    for box in boxes:
        if box.clone_of is None:
            continue
        origin = origins[box.clone_of]
        if origin.size != box.size:
            raise PartwrightError(f"partition {box.number} is {box.size} bytes, its origin"
                                  f" {origin.size}")
        with open(image, "r+b") as img:
            copied[box.number] = sparse.copy_range(img.fileno(), origin.offset, img.fileno(),
                                                   box.offset, box.size)
        if box.kind == "luks":
            assert box.inner is not None
            luks.set_luks_uuid(image, box.offset, box.size,
                               ident.uuid_str(f"luks-uuid/{box.number}"), workdir=workdir)
            luks.reuuid_payload(image, box.offset, box.size, _key(box), box.inner.uuid,
                                ident=ident, workdir=workdir)
        elif box.kind == "raid":
            mdraid.clone_member(image, box.offset, box.size,
                                set_uuid=ident.uuid(f"md-set-uuid/{box.number}"),
                                device_uuid=ident.uuid(f"md-device-uuid/{box.number}"),
                                fs_uuid=box.inner.uuid if box.inner is not None else None,
                                ident=ident, workdir=workdir)
        else:
            lvm.import_clone(
                image, box.offset, box.size, lvm.clone_vg_name(origin.vg_name, box.clone_index),
                fs_uuids={v.name: ident.uuid_str(f"lv-fs-uuid/{box.number}/{v.name}")
                          for v in box.volumes},
                ident=ident, workdir=workdir)
    return copied


def verify_containers(image: str, boxes: tuple[Container, ...], plain: tuple[FsSpec, ...],
                      workdir: str) -> tuple[FsCheck, ...]:
    """Read every container back: its identifiers as planned, the
    filesystems inside as planned and clean, and no identifier twice (among
    the containers, the filesystems inside them and the plain filesystems)."""
    def fail(message: str) -> ToolError:
        return ToolError(f"verify: {message}")

    seen: dict[str, str] = {s.uuid.lower(): f"partition {s.number}" for s in plain}

    def unique(value: str, where: str) -> None:
        if value.lower() in seen:
            raise fail(f"{where} and {seen[value.lower()]} share the identifier {value}")
        seen[value.lower()] = where

    checks: list[FsCheck] = []
    for box in boxes:
        where = f"partition {box.number} ({box.key})"
        if box.kind == "luks":
            assert box.inner is not None
            header = luks.read_header(image, box.offset)
            if luks.luks_uuid(image, box.offset, box.size) != header.uuid:
                raise fail(f"{where}: blkid and the LUKS header disagree on the UUID")
            unique(header.uuid, f"{where} (LUKS)")
            key = _key(box)
            if not luks.check_key(image, box.offset, box.size, key, workdir=workdir):
                raise fail(f"{where}: the passphrase does not open the LUKS container")
            plain_file = os.path.join(workdir, f"check{box.number}.payload")
            try:
                luks.read_payload(image, box.offset, box.size, key, plain_file, workdir=workdir)
                payload = box.size - header.data_offset
                checks.append(_check_inner(plain_file, 0, payload, box.inner, where, workdir,
                                           unique))
            finally:
                if os.path.exists(plain_file):
                    os.unlink(plain_file)
        elif box.kind == "raid":
            sb = mdraid.read_member(image, box.offset)
            if not sb.checksum_ok:
                raise fail(f"{where}: the md superblock checksum is wrong")
            unique(sb.set_uuid, f"{where} (md array)")
            unique(sb.device_uuid, f"{where} (md device)")
            if box.inner is not None:
                checks.append(_check_inner(image, box.inner.offset, box.inner.size, box.inner,
                                           where, workdir, unique))
        else:
            vg = lvm.read_volume_group(image, box.offset, box.size, workdir=workdir)
            unique(vg.uuid, f"{where} (VG {vg.name})")
            unique(vg.pv_uuid, f"{where} (PV)")
            unique(f"vg-name:{vg.name}", f"{where} (VG name)")
            for spec in box.volumes:
                lv = vg.volume(spec.name)
                fs = FsSpec(number=box.number, key=f"{vg.name}/{lv.name}", role="custom",
                            kind=spec.kind, label=spec.label, uuid="", offset=lv.offset,
                            size=lv.size, mountpoint=spec.mountpoint)
                checks.append(_check_inner(image, lv.offset, lv.size, fs,
                                           f"{where} LV {vg.name}/{lv.name}", workdir, unique))
    return tuple(checks)


def _check_inner(path: str, offset: int, size: int, spec: FsSpec, where: str, workdir: str,
                 unique: Callable[[str, str], None]) -> FsCheck:
    found = probe(Region(path, offset, size))
    if found.get("TYPE") != spec.blkid_type:
        raise ToolError(f"verify: {where} holds {found.get('TYPE') or 'nothing'} inside,"
                        f" planned {spec.blkid_type}")
    if spec.uuid and found.get("UUID", "").lower() != spec.uuid.lower():
        raise ToolError(f"verify: {where} has UUID {found.get('UUID')} inside, expected {spec.uuid}")
    if (found.get("LABEL") or None) != spec.label:
        raise ToolError(f"verify: {where} has label {found.get('LABEL')!r} inside,"
                        f" expected {spec.label!r}")
    unique(found["UUID"], f"{where} (filesystem inside)")
    check = check_filesystem(path, spec.number, offset, size, spec.blkid_type, workdir)
    if not check.ok:
        raise ToolError(f"verify: {check.tool} finds problems in {where}: {check.detail}")
    return check

