"""plan(layout) -> Plan: the partition table KIWI NG 11 builds, sector for sector.

Pure and deterministic, no I/O. The order, sizes and names follow KIWI's
DiskBuilder._build_and_map_disk_partitions (see ../shared/spec/layout.md);
placement follows sgdisk/fdisk (engine.plan.placement). Where KIWI itself would fail
(a partition that does not fit, more than 128 GPT entries, a fifth msdos
primary) the plan holds what KIWI would have created up to that point and
an error diagnostic saying why.
"""

from __future__ import annotations

from dataclasses import replace

from engine.layout.model import Arch, Layout, TableType
from engine.plan import diagnostics, fs_diagnostics, refusals
from engine.plan.kiwi_order import requests, resolve
from engine.plan.model import Entry, FreeRegion, LogicalVolume, Plan, Wanted
from engine.plan.partids import partids_for
from engine.plan.partitioner import EXTENDED_TYPE, GPT_CODES, Placed, place
from engine.units import GPT_TAIL, GRAIN

MBR_FROM_GPT = {  # sgdisk's MBR conversion of the GPT type codes KIWI uses
    "EF02": "ef", "EF00": "ef", "8300": "83", "8200": "82", "8E00": "8e", "FD00": "fd",
    "4100": "41",
}


def _entry(p: Placed, table: TableType, codes: dict[int, str]) -> Entry:
    req, slot = p.req, p.slot
    if req is None:
        return Entry(number=slot.number, start=slot.start, end=slot.end, code=EXTENDED_TYPE,
                     name=None, role="extended", key="extended")
    return Entry(
        number=slot.number, start=slot.start, end=slot.end,
        code=GPT_CODES[req.type_name] if table == "gpt" else codes[slot.number],
        name=req.gpt_name if table == "gpt" else None,
        role=req.role, key=req.key, clone_of=req.clone_of, clone_index=req.clone_index,
        fills_rest=req.mbsize is None,
        filesystem=req.filesystem, mountpoint=req.mountpoint, label=req.label,
        logical=slot.logical,
    )


# sgdisk's codes for the Discoverable Partitions root type of each arch
DPS_ROOT: dict[Arch | str, str] = {"x86_64": "8304", "aarch64": "8305", "i686": "8303", "i586": "8303",
            "ppc64le": "FFFF", "riscv64": "FFFF", "s390x": "FFFF"}


def _dps(entry: Entry, arch: Arch) -> Entry:
    """apply_dps_codes: KIWI types the root (and read-only root) by arch and
    the boot partition as XBOOTLDR; clones, LVM and RAID roots keep theirs."""
    if entry.clone_of:
        return entry
    if entry.role in ("root", "readonly"):
        return replace(entry, code=DPS_ROOT.get(arch, "FFFF"))
    if entry.role == "boot":
        return replace(entry, code="EA00")
    return entry


def free_regions(entries: list[Entry], table: TableType, disk_sectors: int) -> list[FreeRegion]:
    """Unpartitioned space of at least 1 MiB after the first partition
    (the lead-in and EBR slots are not free space)."""
    if table == "gpt":
        last_usable = disk_sectors - GPT_TAIL - 1
    else:
        last_usable = disk_sectors - 1
    spans = sorted((e.start, e.end, e.logical) for e in entries if e.role != "extended")
    ext = next((e for e in entries if e.role == "extended"), None)
    regions: list[FreeRegion] = []
    cursor = spans[0][0] if spans else GRAIN
    for start, end, logical in spans:
        gap = start - cursor
        ebr = GRAIN if logical else 0
        if gap > ebr and gap - ebr >= GRAIN:
            regions.append(FreeRegion(cursor, start - 1 - ebr))
        cursor = max(cursor, end + 1)
    # inside the extended partition another logical one costs its EBR grain too
    tail_ebr = GRAIN if ext is not None and cursor <= ext.end else 0
    if last_usable - cursor - tail_ebr + 1 >= GRAIN:
        regions.append(FreeRegion(cursor, last_usable))
    return regions


def plan(layout: Layout) -> Plan:
    """The partition table, /config.partids and diagnostics for `layout`."""
    found = refusals.check_input(layout)
    r = resolve(layout)
    wanted, notes = requests(layout, r)
    reqs = wanted.kept
    found += notes
    partitioned_sectors = max(r.size.partitioned_mb, 0) * GRAIN
    disk_sectors = max(r.size.total_mb, 0) * GRAIN
    placement = place(reqs, r, layout, partitioned_sectors)
    failure = placement.failure
    entries = [_entry(p, r.table, placement.codes) for p in placement.in_table]
    entries.sort(key=lambda e: e.number)
    if layout.apply_dps_codes and r.table == "gpt":
        entries = [_dps(e, layout.arch) for e in entries]
    table = r.table
    if layout.force_mbr and r.efi and table == "gpt" and failure is None and len(entries) <= 4:
        # sgdisk -m: the same sectors in an msdos table, GPT types mapped
        table = "msdos"
        entries = [replace(e, name=None, code=MBR_FROM_GPT.get(e.code, "83")) for e in entries]
    free = free_regions(entries, table, disk_sectors)
    ids = partids_for(placement.placed, layout)
    found += diagnostics.check_plan(layout, r, wanted, placement, entries, free, disk_sectors)
    found += fs_diagnostics.check(layout, entries)
    volumes: tuple[LogicalVolume, ...] = ()
    if layout.volume_manager == "lvm" and layout.systemdisk is not None:
        volumes = tuple(
            LogicalVolume(v.name, None if v.all_free else v.size_mb, v.mountpoint)
            for v in layout.systemdisk.volumes
        )
    return Plan(
        layout=layout,
        table=table,
        disk_sectors=disk_sectors,
        disk_size_estimated=r.size.estimated,
        entries=tuple(entries),
        free=tuple(free),
        partids=ids,
        diagnostics=tuple(diagnostics.ordered(found)),
        volumes=volumes,
        wanted=tuple(Wanted(q.key, q.role, q.clone_of, q.clone_index) for q in reqs),
        boot_partition=r.boot,
    )
