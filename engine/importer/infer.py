"""The disk's partitions, recognised, become a KIWI Layout.

Most attributes follow from what is on the disk: firmware and table from
the ESP, BIOS boot and PReP partitions; sizes in MiB; clone counts; the
custom partitions in creation order (by start sector); filesystems, labels
and mountpoints; LVM volumes, the RAID level, a LUKS root; the start sector,
DPS type codes, the msdos extended layout, a hybrid MBR. The root's size
has several KIWI spellings (takes the rest; oem-systemsize with resize off;
a sized spare at the end; unpartitioned space): each is planned and the one
whose table is the disk's wins. part_ids come last: wherever the plan
numbers a partition otherwise than the disk, the partition gets the disk's
number as its part_id (where KIWI has one), and it is planned again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import cast

from engine.importer.model import DiskRead, ReadPartition
from engine.importer.roles import Role, safe_name
from engine.layout.model import (
    PARTITION_FILESYSTEMS,
    Layout,
    Partition,
    PartitionFilesystem,
    SystemDisk,
    Volume,
)
from engine.layout.names import PARTITION_NAME_RE
from engine.plan.model import Entry, Plan
from engine.plan.model import Role as PlanRole
from engine.plan.planner import plan
from engine.units import GPT_TAIL, GRAIN

LUKS_PLACEHOLDER = "CHANGE-ME"  # the passphrase cannot be read from the disk
DPS_ARCH = {"8303": "i686", "8304": "x86_64", "8305": "aarch64"}
MD_LEVELS = {1: "mirroring", 0: "striping"}
MIN_ROOT_SLACK_MB = 10  # KIWI's slack in its root size arithmetic
PART_ID_FIELDS = {"efi_csm": "eficsmpart_id", "efi": "efipart_id", "boot": "bootpart_id",
                  "root": "rootpart_id"}


@dataclass(frozen=True)
class Found:
    """The roles and partitions, side by side."""

    read: DiskRead
    roles: tuple[Role, ...]
    floor: frozenset[int] = frozenset()  # partitions whose MiB are rounded down

    def part(self, number: int) -> ReadPartition:
        found = self.read.partition(number)
        assert found is not None
        return found

    def origin(self, role: str) -> Role | None:
        return next((r for r in self.roles if r.role == role and r.clone_of is None), None)

    def clones(self, key: str) -> list[Role]:
        return [r for r in self.roles if r.clone_of == key]

    def mib(self, role: Role) -> int:
        sectors = self.part(role.number).sectors
        if role.number in self.floor:
            return max(1, sectors // GRAIN)
        return max(1, round(sectors / GRAIN))


def entries_as_read(found: Found) -> tuple[Entry, ...]:
    """The disk's table as Entries with KIWI's keys and roles."""
    out = []
    for r in found.roles:
        p = found.part(r.number)
        out.append(Entry(
            number=p.number, start=p.start, end=p.end, code=p.code,
            name=p.name if found.read.table == "gpt" else None, role=cast("PlanRole", r.role), key=r.key,
            clone_of=r.clone_of, filesystem=_fs_name(p), mountpoint=r.mountpoint, label=p.label,
            logical=found.read.table == "msdos" and p.number > 4))
    return tuple(out)


def _fs_name(p: ReadPartition) -> str | None:
    fs = p.inner_filesystem or p.filesystem
    if fs == "vfat":
        return "fat32" if (p.version or "").upper() == "FAT32" else "fat16"
    return fs


def _kiwi_fs(p: ReadPartition, allowed: tuple[str, ...]) -> str | None:
    fs = _fs_name(p)
    return fs if fs in allowed else None


def base_layout(found: Found) -> Layout:
    """Everything but the root's size and part_ids."""
    read = found.read
    efi, legacy, prep = found.origin("efi"), found.origin("bios_grub"), found.origin("prep")
    boot = found.origin("boot")
    root = next((r for r in found.roles if r.key == "root"), None)
    readonly = found.origin("readonly")
    changes: dict[str, object] = {}
    arch = "x86_64"
    root_part = found.part(root.number) if root else None
    if root_part is not None and root_part.code in DPS_ARCH:
        arch = DPS_ARCH[root_part.code]
        changes["apply_dps_codes"] = True
    elif boot is not None and found.part(boot.number).code == "EA00":
        changes["apply_dps_codes"] = True
    if prep is not None:
        arch, changes["firmware"] = "ppc64le", "ofw"
    elif efi is not None or read.table == "gpt":
        changes["firmware"] = "efi"
        esp = found.part(efi.number) if efi else None
        if read.table == "msdos":
            if esp is not None and esp.code == "ef":
                changes["force_mbr"] = True
            else:
                changes["efiparttable"] = "msdos"
        if legacy is None and arch in ("x86_64", "i686"):
            if read.table == "msdos":  # an msdos table has p.legacy on x86 whatever eficsm says
                arch = "aarch64"
            else:
                changes["eficsm"] = False
        if efi is not None and found.mib(efi) != 20:
            changes["efipartsize"] = found.mib(efi)
    else:
        changes["firmware"] = "bios"
    changes["arch"] = arch
    if boot is not None:
        changes["bootpartition"] = True
        changes["boot_clone"] = len(found.clones("boot"))
        if found.mib(boot) != 300:
            changes["bootpartsize"] = found.mib(boot)
        bfs = _kiwi_fs(found.part(boot.number), ("btrfs", "ext2", "ext3", "ext4", "xfs",
                                                  "fat32", "fat16"))
        if bfs:
            changes["bootfilesystem"] = bfs
    elif readonly is not None or (root is not None and root.role in ("lvm", "raid")):
        changes["bootpartition"] = False  # KIWI's default would make one
    swap = found.origin("swap")
    if swap is not None:
        changes["oem_swap"] = True
        changes["oem_swapsize"] = found.mib(swap)
    changes["partitions"] = _customs(found)
    changes.update(_root_changes(found, root, readonly))
    if read.table == "msdos" and any(r.role == "extended" for r in found.roles):
        changes["dosparttable_extended_layout"] = True
    first = min(read.partitions, key=lambda p: p.start)
    if first.start != GRAIN:
        changes["disk_start_sector"] = first.start
        if first.number in found.floor:  # sgdisk moved an unaligned start down to the grain
            changes["disk_start_sector"] = first.end + 1 - first.sectors // GRAIN * GRAIN
    if read.hybrid_mbr:
        changes["gpt_hybrid_mbr"] = True
    specs = {s.split("=")[0].upper() for s, _, _ in read.fstab if "=" in s}
    if specs == {"LABEL"}:
        changes["devicepersistency"] = "by-label"
    elif specs == {"PARTUUID"}:
        changes["devicepersistency"] = "by-partuuid"
    spare = found.origin("spare")
    if spare is not None:
        sp = found.part(spare.number)
        changes["spare_part_mb"] = found.mib(spare)
        changes["spare_part_fs"] = _kiwi_fs(sp, ("btrfs", "ext2", "ext3", "ext4", "xfs"))
        changes["spare_part_mountpoint"] = spare.mountpoint
        anchor = root or readonly
        if anchor is not None and sp.start > found.part(anchor.number).start:
            changes["spare_part_is_last"] = True
    changes["size_mb"] = read.disk_sectors // GRAIN
    return Layout().with_changes(**changes)


def _customs(found: Found) -> tuple[Partition, ...]:
    parts = []
    origins = [r for r in found.roles if r.role == "custom" and r.clone_of is None]
    for r in sorted(origins, key=lambda r: found.part(r.number).start):
        p = found.part(r.number)
        name = r.key if _valid(r.key) else safe_name(r.key, r.number)
        gpt_name = p.name if found.read.table == "gpt" else None
        label = p.label if p.label and p.label != name.upper() else None
        parts.append(Partition(
            name=name, size_mb=found.mib(r), mountpoint=r.mountpoint,
            filesystem=cast("PartitionFilesystem | None", _kiwi_fs(p, PARTITION_FILESYSTEMS)),
            clone=len(found.clones(r.key)),
            partition_name=gpt_name if gpt_name and gpt_name != f"p.lx{name}"
            and PARTITION_NAME_RE.match(gpt_name) else None,
            partition_type="t.raid" if p.code in ("FD00", "fd") else None,
            label=label))
    return tuple(parts)


def _valid(name: str) -> bool:
    return safe_name(name, 0) == name


def _root_changes(found: Found, root: Role | None, readonly: Role | None) -> dict[str, object]:
    changes: dict[str, object] = {}
    if readonly is not None:
        changes["overlayroot"] = True
        changes["overlayroot_readonly_partsize"] = found.mib(readonly)
        changes["root_clone"] = len(found.clones("readonly")) + len(found.clones("root"))
        if root is None:
            changes["overlayroot_write_partition"] = False
        changes["filesystem"] = "ext4"
        return changes
    if root is None:
        return changes
    changes["root_clone"] = len(found.clones("root"))
    p = found.part(root.number)
    fs = _kiwi_fs(p, ("btrfs", "ext2", "ext3", "ext4", "squashfs", "erofs", "xfs"))
    if root.role == "raid":
        changes["mdraid"] = MD_LEVELS.get(p.md_level if p.md_level is not None else 1,
                                          "mirroring")
    elif root.role == "lvm":
        lv_root = next((v for v in p.volumes if v.name == "LVRoot"), None)
        fs = lv_root.filesystem if lv_root else None
        vols = tuple(Volume(v.name, v.size_mb) for v in p.volumes
                     if v.name not in ("LVRoot", "LVSwap"))
        vg = p.vg_name if p.vg_name and p.vg_name != "systemVG" else None
        changes["systemdisk"] = SystemDisk(name=vg, volumes=vols)
        swap = next((v for v in p.volumes if v.name == "LVSwap"), None)
        if swap is not None:
            changes["oem_swap"], changes["oem_swapsize"] = True, swap.size_mb
    elif p.container == "crypto_LUKS":
        changes["luks"] = LUKS_PLACEHOLDER
        if p.luks_version:
            changes["luks_version"] = "luks2" if p.luks_version == "2" else "luks1"
    changes["filesystem"] = fs if fs in ("btrfs", "ext2", "ext3", "ext4", "squashfs", "erofs",
                                         "xfs") else "ext4"
    label = p.inner_label or p.label
    if label and label != "ROOT" and root.role != "lvm":
        changes["rootfs_label"] = label
    return changes


def root_candidates(found: Found, base: Layout) -> list[Layout]:
    """The ways KIWI spells the root's size, each a layout to plan: for the
    whole disk and for a disk with unpartitioned space after the table."""
    last_end = max(p.end for p in found.read.partitions)
    tail = found.read.disk_sectors - last_end - 1
    disks = [base]
    if tail > GRAIN + GPT_TAIL:
        unpart = (tail - GPT_TAIL) // GRAIN
        disks += [base.with_changes(unpartitioned_mb=u) for u in (unpart, unpart - 1) if u > 0]
    root = next((r for r in found.roles if r.key == "root"), None) or found.origin("readonly")
    if root is None:
        return disks
    rmb = found.mib(root)
    n = base.root_clone
    out: list[Layout] = []
    for disk in disks:
        fixed = disk.with_changes(oem_systemsize=rmb, oem_resize=False)
        ways = [disk, fixed]
        if disk.spare_part_is_last:
            used = sum(found.mib(r) for r in found.roles
                       if r.role in ("bios_grub", "efi", "prep", "boot", "swap", "readonly"))
            partitioned = (disk.size_mb or 0) - (disk.unpartitioned_mb or 0)
            spare = partitioned - used - MIN_ROOT_SLACK_MB - rmb * (n + 1)
            if spare > 0:
                ways.insert(0, disk.with_changes(spare_part_mb=spare))
            ways.append(fixed.with_changes(spare_part_mb=None))
        out += ways
    return out


def _score(p: Plan, want: tuple[Entry, ...], partids: tuple[tuple[str, str], ...]) -> int:
    got = {e.key: e for e in p.entries}
    misses = 0
    for e in want:
        g = got.pop(e.key, None)
        if g is None:
            misses += 5
        else:
            misses += sum(a != b for a, b in ((g.number, e.number), (g.start, e.start),
                                                (g.sectors, e.sectors), (g.code, e.code), (g.name, e.name)))
    misses += 5 * len(got) + 100 * len(p.errors)
    if partids and dict(partids) != dict(p.partids):
        misses += 1
    return misses


def with_part_ids(layout: Layout, want: tuple[Entry, ...]) -> Layout:
    """Give each partition the disk's number where KIWI's numbering differs."""
    numbers = {e.key: e.number for e in want}
    p = plan(layout)
    for _ in range(4):
        changed = False
        for e in p.entries:
            disk = numbers.get(e.key)
            if disk is None or disk == e.number or e.clone_of is not None:
                continue
            if e.key in PART_ID_FIELDS:
                cand = layout.with_changes(**{PART_ID_FIELDS[e.key]: disk})
            elif layout.partition(e.key) is not None:
                cand = layout.with_partition(e.key, part_id=disk)
            else:
                continue
            trial = plan(cand)
            if len(trial.errors) <= len(p.errors):  # a part_id that collides is no answer
                layout, p, changed = cand, trial, True
                break
        if not changed:
            break
    return layout


def best_layout(found: Found) -> tuple[Layout, Plan]:
    """The candidate whose plan is closest to the disk (the disk's own table, if any is)."""
    want = entries_as_read(found)
    bases = [base_layout(found)]
    first = min(found.read.partitions, key=lambda p: p.start)
    if first.sectors % GRAIN:  # an unaligned start sector, or msdos's start fix-up
        bases.append(base_layout(replace(found, floor=frozenset({first.number}))))
    one = next((p for p in found.read.partitions if p.number == 1), None)
    if one is not None and one.start != first.start:
        # a start sector past the end of a small disk's table: KIWI put partition 1
        # there and the partitions after it below it, from sector 2048
        bases.append(bases[0].with_changes(disk_start_sector=one.start))
    best: tuple[int, Layout, Plan] | None = None
    for cand in (c for base in bases for c in root_candidates(found, base)):
        cand = with_part_ids(cand, want)
        p = plan(cand)
        score = _score(p, want, found.read.partids)
        if best is None or score < best[0]:
            best = (score, cand, p)
        if score == 0:
            break
    assert best is not None
    return best[1], best[2]

