"""The table a device shows after KIWI's first boot: the image written to a
device of another size, then KIWI's dracut module kiwi-repart.

An OEM image is written as it was built onto the target device. With
`<oem-resize>` on (KIWI's default) its initrd holds kiwi-repart
(55kiwi-repart/kiwi-repart-disk.sh on 59kiwi-lib), which at every boot:

1. grows only when the disk has unallocated space: on gpt the protective
   MBR's size differs from the device's, or `sfdisk --list-free` reports
   unpartitioned space, which libfdisk counts for gaps of a grain or more
   and any gap before the first partition (`resize_wanted`);
2. moves the backup GPT to the end of the device (`sfdisk --relocate gpt-bak-std`);
3. takes as the partition to grow the highest number in /config.partids,
   and measures as "the root" the last partition of the disk;
   disk_free_mbytes = (device bytes, on msdos at most 4294967295 sectors,
   minus the bytes of every partition; the msdos extended partition counts
   2 sectors, as the kernel shows it) / MiB; disk_root_mbytes = bytes of the
   last partition / KiB / KiB;
4. with `<oem-systemsize>` S (kiwi_oemrootMB) the partition becomes S MiB, if
   S >= disk_root_mbytes and max(S - disk_root_mbytes, 10) <= disk_free_mbytes;
   without it the partition takes the rest of the disk if disk_free_mbytes
   >= 10 (`repart_standard_disk`, `repart_lvm_disk`, `check_repart_possible`);
5. gpt: `sgdisk --delete N`, `sgdisk --new N:0:+SM` (or `N:0:0`): sgdisk's
   default start (the first aligned sector of the largest free block), its
   default type 8300, no end alignment; then the old name. msdos: `sfdisk
   --delete`, then `sfdisk -N N` with the old start and `+SM` (or `-`, the
   rest of the free space), type 83. An LVM root (kiwi_lvm) then gets type
   8e, an md RAID root (kiwi_RaidDev) fd.

With `<oem-resize>false</oem-resize>` KIWI leaves kiwi-repart out of the
initrd and the table stays as built. `<oem-swap>`/`<oem-swapsize>` shape the
table at build time (p.swap, or LVSwap inside LVM); kiwi-repart makes no
swap. A device smaller than the image: the kernel refuses a GPT whose last
usable sector lies past the device's end (the backup table is cut off too)
and sees no partition at all; on msdos it truncates the partitions that
cross the end.

Pure and deterministic: `first_boot(plan, device_bytes)`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from engine.plan.model import Diagnostic, Entry, FreeRegion, Plan
from engine.plan.placement import GptTable, PlacementError, Slot
from engine.plan.planner import free_regions
from engine.units import GPT_HEAD, GRAIN, MIB, MSDOS_MAX_SECTORS, SECTOR_SIZE

MIN_ADDITIONAL_MB = 10  # kiwi-repart's least growth worth a repartition
QUIET_FREE_MB = 2  # at most this much free: alignment rest, repart says nothing
EXTENDED_KERNEL_SECTORS = 2  # the kernel's device for an msdos extended partition
MSDOS_LAST = MSDOS_MAX_SECTORS - 1  # the last sector an msdos entry can address
TYPES_AFTER = {  # (table, kind of root) -> the type the re-created partition gets
    ("gpt", "plain"): "8300", ("gpt", "lvm"): "8E00", ("gpt", "raid"): "FD00",
    ("msdos", "plain"): "83", ("msdos", "lvm"): "8e", ("msdos", "raid"): "fd",
}


@dataclass(frozen=True)
class FirstBoot:
    """The device after the first boot of the image a Plan builds."""

    device_bytes: int
    image_bytes: int
    table: str
    entries: tuple[Entry, ...]  # as the kernel shows them; () when it sees no table
    free: tuple[FreeRegion, ...]
    resized: int | None  # the partition kiwi-repart re-created
    steps: tuple[str, ...]  # what happened, in order, as KIWI's commands
    diagnostics: tuple[Diagnostic, ...]

    @property
    def device_sectors(self) -> int:
        return self.device_bytes // SECTOR_SIZE

    def to_json(self) -> dict[str, Any]:
        return {
            "device_bytes": self.device_bytes, "image_bytes": self.image_bytes,
            "table": self.table, "resized": self.resized, "steps": list(self.steps),
            "partitions": [e.to_json() for e in self.entries],
            "free": [f.to_json() for f in self.free],
            "diagnostics": [d.to_json() for d in self.diagnostics],
        }


def _mib(sectors: int) -> str:
    mb = sectors * SECTOR_SIZE / MIB
    return f"{mb / 1024:.1f} GiB" if mb >= 1024 else f"{mb:.1f} MiB"


def _size(nbytes: int) -> str:
    return _mib(nbytes // SECTOR_SIZE)


class _Sgdisk(GptTable):
    """sgdisk as kiwi-repart drives it: no `--align-end`."""

    def add_default(self, number: int, mbsize: int | None) -> Slot:
        blocks = self._free_blocks()
        if not blocks:
            raise PlacementError("no-space", number, f"Could not create partition {number}: no free space")
        block = max(blocks, key=lambda b: (b[1] - b[0], -b[0]))
        first = -(-block[0] // GRAIN) * GRAIN
        last = block[1] if mbsize is None else first + mbsize * GRAIN - 1
        if first > block[1] or last > block[1]:
            raise PlacementError("does-not-fit", number,
                                 f"Could not create partition {number} from {first} to {last}")
        slot = Slot(number, first, last)
        self.slots.append(slot)
        return slot


def _resize_part(plan: Plan) -> int:
    """get_last_partition_id_from_config_file: the highest number (from 1)."""
    numbers = [int(v) for _, v in plan.partids if v.isdigit()]
    return max([1, *numbers])


def _has_unallocated(entries: tuple[Entry, ...], table: str, sectors: int) -> bool:
    """What `sfdisk --list-free` calls unpartitioned space (libfdisk's rule)."""
    last_lba = sectors - GPT_HEAD if table == "gpt" else sectors - 1
    spans = sorted((e.start, e.end) for e in entries if not e.logical)
    if not spans:
        return True
    if spans[0][0] > GRAIN:
        return True
    last = spans[0][1]
    for start, end in spans[1:]:
        if last + GRAIN < start:
            return True
        last = max(last, end)
    return last + GRAIN < last_lba


def _kind(plan: Plan) -> str:
    if plan.layout.volume_manager == "lvm":
        return "lvm"
    if any(k == "kiwi_RaidDev" for k, _ in plan.partids):
        return "raid"
    return "plain"


def first_boot(plan: Plan, device_bytes: int) -> FirstBoot:
    """The table a device of `device_bytes` shows after the first boot of
    the image `plan` builds (see the module docstring)."""
    image_bytes = plan.disk_bytes
    dev = device_bytes // SECTOR_SIZE
    out: list[Diagnostic] = []
    steps: list[str] = []

    def done(entries: tuple[Entry, ...], free_sectors: int, resized: int | None = None) -> FirstBoot:
        free = tuple(free_regions(list(entries), plan.table, free_sectors)) if entries else ()
        return FirstBoot(device_bytes, image_bytes, plan.table, entries, free, resized,
                         tuple(steps), tuple(out))

    if plan.errors:
        out.append(Diagnostic(
            "first-boot-no-image", "error",
            f"KIWI builds no image from this layout: {plan.errors[0].message}", plan.errors[0].partition))
        return done((), dev)
    entries = plan.entries
    if dev < plan.disk_sectors:
        if plan.table == "gpt":
            out.append(Diagnostic(
                "device-too-small", "error",
                f"the image is {_size(image_bytes)}, the device {_size(device_bytes)}: the GPT's last"
                f" usable sector ({plan.disk_sectors - GPT_HEAD}) lies past the device's end"
                f" ({dev - 1}) and its backup is cut off, so the kernel refuses the table and sees"
                " no partition", None,
                f"build the image with <size> at most {_size(device_bytes)}"))
            return done((), dev)
        beyond = [e for e in entries if e.end >= dev and not e.logical and e.role != "extended"]
        beyond += [e for e in entries if e.logical and e.end >= dev]
        if beyond:
            names = ", ".join(f"{e.number} ({e.key})" for e in beyond)
            out.append(Diagnostic(
                "device-too-small", "error",
                f"the image is {_size(image_bytes)}, the device {_size(device_bytes)}: partition(s)"
                f" {names} end past the device's last sector ({dev - 1}); the kernel truncates them",
                beyond[0].key, f"build the image with <size> at most {_size(device_bytes)}"))
            return done(tuple(e for e in entries if e.start < dev), dev)
        last_end = max(e.end for e in entries)
        out.append(Diagnostic(
            "device-smaller-than-image", "warning",
            f"the image is {_size(image_bytes)}, the device {_size(device_bytes)}: writing it stops"
            f" at the device's end; every partition fits (the last ends at sector {last_end})"))
    if plan.layout.oem_resize is False:
        out.append(Diagnostic(
            "first-boot-no-repart", "info",
            "oem-resize is off: KIWI leaves kiwi-repart out of the initrd, so the table stays as"
            " built" + (f" and the {_mib(dev - plan.disk_sectors)} past the image stay unused"
                        if dev > plan.disk_sectors else "")
            + (" (the backup GPT is not at the device's end: `sgdisk -e` moves it)"
               if plan.table == "gpt" and dev > plan.disk_sectors else "")))
        return done(entries, min(dev, plan.disk_sectors))
    after, resized = _repart(plan, dev, entries, out, steps)
    return done(after, dev, resized)


def _repart(plan: Plan, dev: int, entries: tuple[Entry, ...], out: list[Diagnostic],
            steps: list[str]) -> tuple[tuple[Entry, ...], int | None]:
    """kiwi-repart-disk.sh on a device of `dev` sectors: the table after it,
    and the partition it re-created."""
    gpt = plan.table == "gpt"
    mismatch = gpt and dev != plan.disk_sectors
    if not mismatch and not _has_unallocated(entries, plan.table, dev):
        out.append(Diagnostic("first-boot-no-repart", "info",
                              "kiwi-repart finds no unallocated space: the disk geometry did not"
                              " change, so the table stays as built"))
        return entries, None
    if gpt:
        steps.append("sfdisk --relocate gpt-bak-std DISK")
    number = _resize_part(plan)
    target = next((e for e in entries if e.number == number), None)
    if target is None:
        out.append(Diagnostic("first-boot-fails", "error",
                              f"/config.partids names partition {number}, which the table does not"
                              " hold: kiwi-repart fails and the boot stops", None))
        return entries, None
    dev_bytes = dev * SECTOR_SIZE
    if not gpt:
        dev_bytes = min(dev_bytes, MSDOS_LAST * SECTOR_SIZE)
    part_bytes = sum((EXTENDED_KERNEL_SECTORS if e.role == "extended" else e.sectors) * SECTOR_SIZE
                     for e in entries)
    free_mb = (dev_bytes - part_bytes) // MIB
    last = max(entries, key=lambda e: e.number)
    root_mb = last.sectors * SECTOR_SIZE // 1024 // 1024
    system_mb = plan.layout.oem_systemsize
    # without a systemsize the partition takes the rest (`.`), else +S M
    min_add = MIN_ADDITIONAL_MB if system_mb is None else max(system_mb - root_mb,
                                                               MIN_ADDITIONAL_MB)
    steps.append(f"disk_free_mbytes={free_mb} disk_root_mbytes={root_mb} (partition {last.number})"
                 f" kiwi_ResizePart={number}"
                 + (f" kiwi_oemrootMB={system_mb}" if system_mb is not None else ""))
    if system_mb is not None and system_mb < root_mb:
        out.append(Diagnostic(
            "first-boot-no-repart", "warning",
            f"oem-systemsize {system_mb} MiB is smaller than partition {last.number}"
            f" ({root_mb} MiB): kiwi-repart warns and does not repartition", last.key))
        return entries, None
    if min_add > free_mb:
        if free_mb > QUIET_FREE_MB:
            want = f"{system_mb - root_mb} MiB more" if system_mb is not None else "10 MiB more"
            out.append(Diagnostic(
                "first-boot-no-repart", "warning",
                f"kiwi-repart wants {want} for partition {number} and finds {free_mb} MiB free:"
                " it warns and does not repartition", target.key))
        else:
            out.append(Diagnostic("first-boot-no-repart", "info",
                                  f"{free_mb} MiB free: kiwi-repart leaves the table as it is"))
        return entries, None
    grown = _recreate(plan, dev, entries, target, system_mb, steps, out)
    if grown is None:
        return entries, None
    after = tuple(sorted((grown if e.number == number else e for e in entries),
                         key=lambda e: e.number))
    _tell(plan, target, grown, out)
    return after, number


def _recreate(plan: Plan, dev: int, entries: tuple[Entry, ...], target: Entry, size: int | None,
              steps: list[str], out: list[Diagnostic]) -> Entry | None:
    """Delete the partition and create it again as the script does."""
    kind = _kind(plan)
    code = TYPES_AFTER[(plan.table, kind)]
    number = target.number
    try:
        if plan.table == "gpt":
            table = _Sgdisk(dev)
            table.slots = [Slot(e.number, e.start, e.end) for e in entries if e.number != number]
            slot = table.add_default(number, size)
            steps.append(f"sgdisk --delete {number}; sgdisk --new {number}:0:"
                         f"{'+' + str(size) + 'M' if size is not None else '0'};"
                         f" sgdisk --change-name {number}:{target.name}")
        else:
            slot = _sfdisk_new(plan, dev, entries, target, size)
            steps.append(f"sfdisk --delete DISK {number}; echo '{target.start},"
                         f"{'+' + str(size) + 'M' if size is not None else '-'}' | sfdisk -N {number}")
    except PlacementError as exc:
        out.append(Diagnostic("first-boot-fails", "error",
                              f"kiwi-repart cannot re-create partition {number} ({exc}): it stops"
                              " the boot with \"Failed to create partition table\"", target.key))
        return None
    if kind != "plain":
        steps.append(f"type of partition {number} -> {code}")
    return replace(target, start=slot.start, end=slot.end, code=code)


def _sfdisk_new(plan: Plan, dev: int, entries: tuple[Entry, ...], target: Entry,
                size: int | None) -> Slot:
    """`sfdisk -N` at the old start: up to the next partition, the end of
    the extended one for a logical partition, or the end of the disk."""
    start = target.start
    others = [e for e in entries if e.number != target.number]
    if target.logical:
        ext = next(e for e in entries if e.role == "extended")
        limit = min([ext.end] + [e.start - 1 for e in others if e.logical and e.start > start])
    else:
        limit = min([dev - 1, MSDOS_LAST]
                    + [e.start - 1 for e in others if not e.logical and e.start > start])
    end = limit if size is None else start + size * GRAIN - 1
    if end > limit:
        raise PlacementError("does-not-fit", target.number,
                             f"{size} MiB from sector {start} run past sector {limit}")
    return Slot(target.number, start, end, logical=target.logical)


def _tell(plan: Plan, before: Entry, after: Entry, out: list[Diagnostic]) -> None:
    """What the user should know about the partition kiwi-repart changed."""
    key = before.key
    if after.start == before.start and after.end == before.end:
        out.append(Diagnostic(
            "first-boot-no-growth", "warning",
            f"kiwi-repart re-creates partition {before.number} ({key}) with the same sectors: a"
            " logical partition cannot grow past the end of the extended one", key,
            "leave dosparttable_extended_layout off, or use gpt"))
        return
    out.append(Diagnostic(
        "first-boot-resized", "info",
        f"kiwi-repart re-creates partition {before.number} ({key}) at sectors"
        f" {after.start}-{after.end}: {_mib(before.sectors)} -> {_mib(after.sectors)}, and grows"
        " its filesystem", key))
    if after.start != before.start:
        out.append(Diagnostic(
            "first-boot-moves", "error",
            f"kiwi-repart re-creates partition {before.number} ({key}) at sector {after.start}"
            f" (sgdisk's default start: the largest free block), not at {before.start} where its"
            " data is: the partition's data is lost at the first boot", key,
            "leave no free block larger than the one after this partition"))
    if before.clone_of is not None:
        out.append(Diagnostic(
            "first-boot-clone-unequal", "warning",
            f"kiwi-repart grows partition {before.number} ({key}), a clone of {before.clone_of},"
            f" and not {before.clone_of} itself: the two stop being the same size", key,
            "number the origin last, or set <oem-resize>false</oem-resize>"))
    elif plan.clones_of(key):
        clones = ", ".join(e.key for e in plan.clones_of(key))
        out.append(Diagnostic(
            "first-boot-clone-unequal", "warning",
            f"kiwi-repart grows partition {before.number} ({key}) to {_mib(after.sectors)}; its"
            f" clone(s) {clones} stay at {_mib(before.sectors)}: they stop being equal to it",
            key, "set <oem-resize>false</oem-resize> with <oem-systemsize>"))
    if before.role not in ("root", "lvm", "raid") and before.clone_of is None:
        out.append(Diagnostic(
            "first-boot-not-root", "warning",
            f"kiwi-repart grows the highest-numbered partition of /config.partids, partition"
            f" {before.number} ({key}), not the root", key))
    if after.code != before.code:
        out.append(Diagnostic(
            "first-boot-type-reset", "warning",
            f"the re-created partition {before.number} ({key}) gets type {after.code} instead of"
            f" {before.code}", key))
