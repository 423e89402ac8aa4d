"""What the planner tells its user that KIWI never checks.

Every diagnostic has a stable code (tests, the TUI and `--json` consumers
rely on it), a severity, a message naming the partition and the numbers, the
partition key it concerns and, where there is one, the fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from engine.layout.model import Layout
from engine.layout.names import GPT_NAME_MAX
from engine.plan.model import SEVERITIES, Diagnostic, Entry, FreeRegion, Severity
from engine.plan.refusals import counts_and_sizes, kiwi_refusals
from engine.units import (
    GPT_MAX_ENTRIES,
    GRAIN,
    MSDOS_MAX_NUMBER,
    MSDOS_MAX_SECTORS,
    MSDOS_PRIMARIES,
    sectors_text,
)

if TYPE_CHECKING:
    from engine.plan.kiwi_order import Request, Requests, Resolved
    from engine.plan.partitioner import Placement

__all__ = ["Diagnostic", "check_plan", "ordered"]

SD_CLASSIC_MINORS = 15


def check_plan(
    layout: Layout,
    r: Resolved,
    wanted: Requests,
    placement: Placement,
    entries: Sequence[Entry],
    free: Sequence[FreeRegion],
    disk_sectors: int,
) -> list[Diagnostic]:
    reqs = wanted.kept
    out: list[Diagnostic] = []
    out += kiwi_refusals(layout, r)
    out += _table_limits(layout, r, wanted, entries, disk_sectors)
    out += _part_ids(reqs)
    out += _failure(layout, r, wanted, entries, placement)
    out += _msdos_numbering(layout, placement)
    out += counts_and_sizes(layout, r, disk_sectors)
    out += _clone_rules(layout, r, reqs)
    out += _space(layout, r, entries, free, disk_sectors)
    out += _names(r, reqs)
    if r.table == "msdos":
        first = next((q for q in reqs if q.part_id in (None, 1)), None)
        keys = {q.key for q in reqs}
        # the partition KIWI marks active on bios firmware: prep, else boot, else root
        active = next((k for k in ("prep", "boot", "root") if k in keys), None)
        if first is not None and (first.type_name not in ("t.linux", "t.csm", "t.efi")
                                  or (r.firmware == "bios" and first.key == active)):
            out.append(Diagnostic(
                "msdos-first-recreated", "warning",
                f"KIWI re-creates partition 1 ({first.gpt_name}) to set the start sector: fdisk"
                " gives it type 83 and drops its boot flag",
                first.key, "put a plain linux partition first, or fix the type after the build"))
        if r.efi:
            out.append(Diagnostic("esp-msdos", "info",
                                  "on an msdos table the ESP (and bios_grub) get type 83, not ef",
                                  "efi"))
    return out


def _table_limits(layout: Layout, r: Resolved, wanted: Requests,
                  entries: Sequence[Entry], disk_sectors: int) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    reqs = wanted.kept
    n = wanted.total
    if r.table == "gpt" and n > GPT_MAX_ENTRIES:
        out.append(Diagnostic(
            "gpt-entries", "error",
            f"the layout needs {n} partitions; a GPT made by sgdisk holds {GPT_MAX_ENTRIES}"
            f" entries, so KIWI fails creating partition {GPT_MAX_ENTRIES + 1}",
            reqs[GPT_MAX_ENTRIES].key,
            f"use fewer clones, or enlarge the table (sgdisk --resize-table={_pow2(n)})"))
    if r.table == "msdos":
        if not layout.dosparttable_extended_layout and n > MSDOS_PRIMARIES:
            out.append(Diagnostic(
                "msdos-primaries", "error",
                f"the layout needs {n} partitions; an msdos table holds {MSDOS_PRIMARIES}"
                " primary partitions and fdisk fails on partition 5",
                reqs[MSDOS_PRIMARIES].key, "set dosparttable_extended_layout=\"true\" or use gpt"))
        elif layout.dosparttable_extended_layout and n + 1 > MSDOS_MAX_NUMBER:
            out.append(Diagnostic(
                "msdos-numbers", "error",
                f"the layout needs {n} partitions and the extended one; fdisk numbers DOS"
                f" partitions up to {MSDOS_MAX_NUMBER}, so KIWI fails creating partition"
                f" {MSDOS_MAX_NUMBER + 1}",
                reqs[MSDOS_MAX_NUMBER - 1].key, "use fewer clones, or a gpt table"))
        if disk_sectors > MSDOS_MAX_SECTORS:
            out.append(Diagnostic(
                "msdos-2tib", "error",
                f"the disk is {sectors_text(disk_sectors)}; an msdos table addresses 2 TiB",
                None, "use a gpt table (efiparttable=\"gpt\" with efi firmware)"))
    if layout.gpt_hybrid_mbr and not layout.force_mbr and r.efi and r.table == "msdos":
        out.append(Diagnostic(
            "hybrid-mbr-msdos", "error",
            "gpt_hybrid_mbr on an msdos table: KIWI fails (NotImplementedError in set_hybrid_mbr)",
            None, "drop gpt_hybrid_mbr, or use a gpt table"))
    if layout.force_mbr and r.efi and r.table == "msdos":
        out.append(Diagnostic(
            "force-mbr-msdos", "error",
            "force_mbr on an msdos table: KIWI fails (NotImplementedError in set_mbr)",
            None, "drop force_mbr; the table is msdos already"))
    if layout.force_mbr and r.efi and r.table == "gpt":
        if len(entries) > 4:
            out.append(Diagnostic(
                "force-mbr-ignored", "warning",
                f"force_mbr with {len(entries)} partitions: sgdisk cannot convert more than 4,"
                " prints \"Problem creating MBR!\" and KIWI keeps the GPT without saying so",
                None, "drop force_mbr or use at most 4 partitions"))
        elif layout.unpartitioned_mb:
            out.append(Diagnostic(
                "force-mbr-unpartitioned", "error",
                f"force_mbr with <size unpartitioned=\"{layout.unpartitioned_mb}\">: KIWI appends"
                " the unpartitioned space and moves the GPT with sgdisk, which refuses the"
                " converted MBR disk (\"Non-GPT disk; not saving changes\")",
                None, "drop force_mbr or the unpartitioned space"))
        else:
            out.append(Diagnostic("force-mbr", "info",
                                  "force_mbr: KIWI converts the GPT to an msdos table after"
                                  " partitioning; the ESP keeps type ef"))
    if layout.gpt_hybrid_mbr and r.efi and r.table == "gpt" and len(entries) > 3:
        names = ", ".join(e.name or str(e.number) for e in entries[:3])
        out.append(Diagnostic(
            "hybrid-mbr-3", "warning",
            f"gpt_hybrid_mbr mirrors only the first 3 partitions ({names}) into the MBR;"
            f" {len(entries) - 3} more are invisible to BIOS tools"))
    count = len([e for e in entries if e.role != "extended"])
    if count > SD_CLASSIC_MINORS:
        out.append(Diagnostic(
            "sd-minors", "info",
            f"{count} partitions: Linux sd disks give partitions above {SD_CLASSIC_MINORS}"
            " extended minor numbers (fine with devtmpfs and udev, not with a static /dev)"))
    return out


def _pow2(n: int) -> int:
    size = 128
    while size < n:
        size *= 2
    return size


def _part_ids(reqs: Sequence[Request]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    number = 0
    owner: dict[int, str] = {}
    for req in reqs:
        number = req.part_id if req.part_id else number + 1
        if number in owner:
            out.append(Diagnostic(
                "part-id-collision", "error",
                f"{req.gpt_name} gets number {number}, which {owner[number]} has already"
                " (an explicit part_id and the automatic numbering after it collide)",
                req.key, "change the part_id values so every number is used once"))
        owner.setdefault(number, req.gpt_name)
    return out


def _failure(layout: Layout, r: Resolved, wanted: Requests,
             entries: Sequence[Entry], placement: Placement) -> list[Diagnostic]:
    exc = placement.failure
    if exc is None:
        return []
    reqs = wanted.kept
    failure = str(exc)
    if wanted.total > (GPT_MAX_ENTRIES if r.table == "gpt" else MSDOS_PRIMARIES):
        if r.table == "gpt" or not layout.dosparttable_extended_layout:
            return []  # said by the table limits
    if exc.kind == "number-in-use":
        return []  # said by part-id-collision
    if exc.kind == "table-full":
        if r.table == "msdos" and layout.dosparttable_extended_layout and wanted.total + 1 > MSDOS_MAX_NUMBER:
            return []  # said by the table limits
        holder = next((q for q in reqs if q.part_id == exc.number), None)
        return [Diagnostic(
            "part-id-range", "error",
            f"{holder.gpt_name if holder else f'partition {exc.number}'} gets number {exc.number}:"
            f" {failure}, so KIWI fails",
            holder.key if holder else None, "use part_id values the table holds")]
    if exc.kind == "type-target-missing":
        failed = placement.placed[-1].req or reqs[0]  # its type change failed
        return [Diagnostic(
            "msdos-logical-id", "error",
            f"{failed.gpt_name} is numbered {exc.number} by KIWI on a logical partition, which"
            f" fdisk numbers itself, and KIWI's type change on partition {exc.number}"
            f" fails: {failure}",
            failed.key, "drop the part_id attributes of logical partitions on msdos")]
    if exc.kind == "text-size":
        first = reqs[0]
        return [Diagnostic(
            "kiwi-crash", "error",
            f"{failure}: KIWI's msdos code grows partition 1 by the disk_start_sector offset and"
            f" fails when that partition is a boot, swap, spare or clone partition",
            first.key, f"use disk_start_sector {GRAIN} on msdos, or a gpt table")]
    # the request that failed: the next after every one that reached the tool
    # (fdisk's refusals KIWI went on after included)
    placed = len([p for p in placement.placed if p.req is not None])
    failed = reqs[min(placed, len(reqs) - 1)]
    root_sized_from_disk = not (layout.oem_systemsize and not r.resize)
    middle_spare = bool(r.spare_mb and not layout.spare_part_is_last)
    overrun_fix = "set <oem-systemsize> and <oem-resize>false</oem-resize>"
    root_from_disk = (layout.root_clone and root_sized_from_disk
                      and (failed.key == "root" or failed.key.startswith("rootclone")))
    if exc.kind == "last-sector":
        return [Diagnostic(
            "msdos-last-sector", "error",
            f"{failed.gpt_name} would end on the disk's last sector, where fdisk does not end a"
            f" partition of a given size, so KIWI fails: {failure}",
            failed.key, overrun_fix if root_from_disk
            else f"leave at least 1 MiB free after {failed.gpt_name}: a larger <size>, or"
                 " smaller partitions")]
    if root_from_disk and (layout.partitions or middle_spare):
        tool = "sgdisk fails" if r.table == "gpt" else "fdisk refuses it"
        return [Diagnostic(
            "root-clone-overrun", "error",
            f"KIWI sizes the root and its {layout.root_clone} clone(s) from the disk without"
            f" counting the {len(layout.partitions)} custom partition(s)"
            f"{' and the spare partition' if middle_spare else ''}, so {failed.gpt_name}"
            f" runs past the end of the disk and {tool} ({failure})",
            failed.key, overrun_fix)]
    need = sum(q.mbsize or 1 for q in reqs)
    return [Diagnostic(
        "disk-too-small", "error",
        f"{failed.gpt_name} does not fit: {failure}; the partitions need about {need} MiB,"
        f" the disk has {r.size.partitioned_mb} MiB",
        failed.key, f"make the disk at least {need + 2} MiB (<size>) or the partitions smaller")]


def _msdos_numbering(layout: Layout, placement: Placement) -> list[Diagnostic]:
    """What KIWI builds wrong on msdos without failing: logical part_ids, a
    partition fdisk refused, a full label."""
    out: list[Diagnostic] = []
    for p in placement.placed:
        if p.req is not None and p.slot.logical and p.kiwi_id != p.slot.number:
            out.append(Diagnostic(
                "msdos-logical-id", "error",
                f"{p.req.gpt_name} is logical partition {p.slot.number} (fdisk numbers logical"
                f" partitions itself), but KIWI counts it as {p.kiwi_id}: it types partition"
                f" {p.kiwi_id} instead and writes {p.req.id_name}=\"{p.kiwi_id}\"",
                p.req.key, "drop the part_id attributes of logical partitions on msdos"))
            break  # every later partition is off too; one is enough to say
    for p in placement.refused:
        if p.req is not None:
            out.append(Diagnostic(
                "msdos-partition-missing", "error",
                f"{p.req.gpt_name} is not in the table: {p.refusal}, so KIWI goes on without it"
                f" and writes {p.req.id_name}=\"{p.kiwi_id}\"",
                p.req.key, f"make the disk (<size>) larger or {p.req.gpt_name} smaller"))
    if placement.first == "lost":
        first = next((p.req for p in placement.placed if p.kiwi_id == 1 and p.req), None)
        name = first.gpt_name if first else "partition 1"
        out.append(Diagnostic(
            "msdos-first-lost", "error",
            f"with {MSDOS_MAX_NUMBER} partitions KIWI's start-sector step deletes partition 1"
            f" ({name}) and fdisk refuses to re-create it (the maximum number of partitions):"
            " KIWI writes the table without it",
            first.key if first else None, f"use at most {MSDOS_MAX_NUMBER - 1} partitions on msdos"))
    return out


def _clone_rules(layout: Layout, r: Resolved, reqs: Sequence[Request]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    if layout.root_clone:
        if r.resize:
            out.append(Diagnostic(
                "root-clone-resize", "warning",
                f"root_clone={layout.root_clone} with oem-resize on: at first boot kiwi-repart grows"
                " the highest-numbered partition, so the root and its clones stop being the same size",
                "root", "set <oem-resize>false</oem-resize>"))
        if not layout.oem_systemsize and not (r.spare_mb and layout.spare_part_is_last):
            out.append(Diagnostic(
                "root-clone-no-size", "warning",
                f"root_clone={layout.root_clone} without <oem-systemsize>: KIWI divides the disk"
                " left after the fixed partitions between the root and its clones",
                "root", "set <oem-systemsize> (MiB) and <oem-resize>false</oem-resize>"))
    if layout.root_clone:
        inner = None
        if layout.luks:
            inner = ("luks-clone-inner", "a cloned LUKS container gets a new LUKS UUID from"
                     " KIWI (cryptsetup luksUUID), but the filesystem inside keeps the origin's")
        elif layout.volume_manager == "lvm":
            inner = ("lvm-clone-inner", "KIWI's vgimportclone gives a cloned LVM root new PV and"
                     " VG UUIDs and renames its volume group (systemVG1 ...), but the logical"
                     " volumes and the filesystems inside keep the origin's UUIDs")
        elif layout.mdraid:
            inner = ("raid-clone-inner", "KIWI re-UUIDs a cloned RAID member with mdadm"
                     " --update=uuid, which needs kernel md; the filesystem inside keeps"
                     " the origin's UUID")
        if inner is not None:
            out.append(Diagnostic(inner[0], "warning",
                                  inner[1] + "; partwright's build re-creates those too",
                                  "root", "build with partwright, or re-UUID the inner"
                                  " filesystems at first boot"))
    cloned = [q for q in reqs if q.clone_of]
    if cloned:
        origins = sorted({q.clone_of for q in cloned if q.clone_of})
        severity: Severity = "warning" if layout.devicepersistency == "by-label" else "info"
        out.append(Diagnostic(
            "clone-labels", severity,
            f"clones keep their origin's filesystem label ({', '.join(origins)}): mounts by label"
            " become ambiguous" + (" and devicepersistency is by-label" if severity == "warning" else ""),
            origins[0], "mount by UUID (the default) or PARTUUID"))
    return out


def _space(layout: Layout, r: Resolved, entries: Sequence[Entry], free: Sequence[FreeRegion],
           disk_sectors: int) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    if r.size.estimated and layout.size_mb is None:
        out.append(Diagnostic(
            "disk-size-estimated", "info",
            f"no <size>: the disk is KIWI's estimate, {r.size.total_mb} MiB, for"
            f" {r.size.root_mbytes} MiB of root data; the real size depends on the root tree",
            None, "set <size> for an exact table, or --root-mbytes"))
    elif layout.size_mb is not None and not layout.size_additive and layout.size_mb < r.size.estimate_mb:
        out.append(Diagnostic(
            "size-below-estimate", "warning",
            f"<size> is {layout.size_mb} MiB, below KIWI's estimate of {r.size.estimate_mb} MiB"
            f" for {r.size.root_mbytes} MiB of root data",
            None, "raise <size> or use additive=\"true\""))
    below = dict(layout.partition_data_mb)
    for part in layout.partitions:
        data = below.get(part.mountpoint or "")
        if data is not None and part.filesystem != "squashfs" and part.size_mb - data <= 0:
            out.append(Diagnostic(
                "partition-too-small", "error",
                f"partition '{part.name}' is {part.size_mb} MiB but the data below"
                f" {part.mountpoint} needs {data} MiB (KiwiPartitionTooSmallError)",
                part.name, f"make it larger than {data} MiB"))
    start = layout.disk_start_sector
    low = [e for e in entries if start and e.end < start - GRAIN]
    if low:
        out.append(Diagnostic(
            "start-sector-wrapped", "warning",
            f"disk_start_sector {start} leaves too little disk after it: the partitioning tools"
            f" put {', '.join(e.name or f'partition {e.number}' for e in low)} in the free space below it, and a partition"
            " that does not fit there gets only what is left",
            low[0].key, "use a smaller disk_start_sector or a larger <size>"))
    total = sum(f.sectors for f in free)
    if total >= GRAIN and entries:
        last = max(entries, key=lambda e: e.end)
        out.append(Diagnostic(
            "unpartitioned", "info",
            f"{sectors_text(total)} ({total} sectors) left unpartitioned"
            + (f" after partition {last.number}" if free and free[-1].start > last.end else ""),
            None))
    return out


def _names(r: Resolved, reqs: Sequence[Request]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    if r.table != "gpt":
        return out
    for req in reqs:
        if len(req.gpt_name) > GPT_NAME_MAX:
            out.append(Diagnostic(
                "gpt-name-length", "warning",
                f"GPT name '{req.gpt_name}' is {len(req.gpt_name)} characters; a GPT entry holds"
                f" {GPT_NAME_MAX}, so sgdisk cuts it", req.key, "use a shorter partition name"))
    return out


_SEVERITY_ORDER = {severity: i for i, severity in enumerate(SEVERITIES)}


def ordered(found: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Errors first, then warnings, then information; duplicates dropped."""
    unique: dict[tuple[str, str, str | None], Diagnostic] = {}
    for d in found:
        unique.setdefault((d.code, d.message, d.partition), d)
    return sorted(unique.values(), key=lambda d: _SEVERITY_ORDER[d.severity])
