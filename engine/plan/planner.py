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

from engine.layout.model import Layout
from engine.plan import diagnostics, fs_diagnostics
from engine.plan.kiwi_order import Request, Resolved, requests, resolve
from engine.plan.model import MIB_SECTORS, Entry, FreeRegion, LogicalVolume, Plan
from engine.plan.partids import partids_for
from engine.plan.placement import GptTable, MsdosTable, PlacementError, Slot

GPT_CODES = {
    "t.csm": "EF02", "t.efi": "EF00", "t.linux": "8300", "t.swap": "8200",
    "t.lvm": "8E00", "t.raid": "FD00", "t.prep": "4100",
}
MSDOS_CODES = {
    "t.csm": "83", "t.efi": "83", "t.linux": "83", "t.swap": "82",
    "t.lvm": "8e", "t.raid": "fd", "t.prep": "41",
}

MBR_FROM_GPT = {  # sgdisk's MBR conversion of the GPT type codes KIWI uses
    "EF02": "ef", "EF00": "ef", "8300": "83", "8200": "82", "8E00": "8e", "FD00": "fd",
    "4100": "41",
}


def place(
    reqs: list[Request], r: Resolved, layout: Layout, disk_sectors: int
) -> tuple[list[tuple[Request | None, Slot]], str | None, bool]:
    """Run the requests through the table emulator. Returns the placed slots
    (None request = the msdos extended partition), KIWI's failure if any, and
    whether the msdos start-sector fix-up re-created partition 1."""
    placed: list[tuple[Request | None, Slot]] = []
    number = 0
    recreated = False
    try:
        if r.table == "gpt":
            gpt = GptTable(disk_sectors)
            for i, req in enumerate(reqs):
                number = req.part_id if req.part_id else number + 1
                start = r.start_sector if i == 0 else 0
                placed.append((req, gpt.add(number, req.mbsize, start)))
        else:
            dos = MsdosTable(disk_sectors)
            extended = bool(layout.dosparttable_extended_layout)
            first_mb_extra = 0
            if r.start_sector > 2048:
                first_mb_extra = int((r.start_sector - 2048) * 512 / (1024 * 1024))
            for i, req in enumerate(reqs):
                if extended and i == 3:
                    number = number + 1
                    placed.append((None, dos.add_extended(number)))
                number = req.part_id if req.part_id else number + 1
                if extended and i >= 3:
                    placed.append((req, dos.add_logical(number, req.mbsize)))
                else:
                    mb = req.mbsize
                    if number == 1 and mb is not None and r.start_sector > 2048:
                        if req.size_is_text:
                            raise PlacementError(
                                f"KIWI crashes: TypeError adding the start-sector offset to"
                                f" the size of {req.gpt_name}, which it holds as text"
                            )
                        mb += first_mb_extra
                    placed.append((req, dos.add_primary(number, mb)))
            recreated = dos.move_first_start(r.start_sector)
            placed = [
                (q, next(s for s in dos.slots if s.number == slot.number))
                for q, slot in placed
            ]
    except PlacementError as exc:
        return placed, str(exc), False
    return placed, None, recreated


def _entry(req: Request | None, slot: Slot, table: str) -> Entry:
    if req is None:
        return Entry(number=slot.number, start=slot.start, end=slot.end, code="5",
                     name=None, role="extended", key="extended")
    codes = GPT_CODES if table == "gpt" else MSDOS_CODES
    return Entry(
        number=slot.number, start=slot.start, end=slot.end,
        code=codes[req.type_name],
        name=req.gpt_name if table == "gpt" else None,
        role=req.role, key=req.key, clone_of=req.clone_of,
        filesystem=req.filesystem, mountpoint=req.mountpoint, label=req.label,
        logical=slot.logical,
    )


# sgdisk's codes for the Discoverable Partitions root type of each arch
DPS_ROOT = {"x86_64": "8304", "aarch64": "8305", "i686": "8303", "i586": "8303",
            "ppc64le": "FFFF", "riscv64": "FFFF", "s390x": "FFFF"}


def _dps(entry: Entry, arch: str) -> Entry:
    """apply_dps_codes: KIWI types the root (and read-only root) by arch and
    the boot partition as XBOOTLDR; clones, LVM and RAID roots keep theirs."""
    if entry.clone_of:
        return entry
    if entry.role in ("root", "readonly"):
        return replace(entry, code=DPS_ROOT.get(arch, "FFFF"))
    if entry.role == "boot":
        return replace(entry, code="EA00")
    return entry


def free_regions(entries: list[Entry], table: str, disk_sectors: int) -> list[FreeRegion]:
    """Unpartitioned space of at least 1 MiB after the first partition
    (the lead-in and EBR slots are not free space)."""
    if table == "gpt":
        last_usable = disk_sectors - 34
    else:
        last_usable = disk_sectors - 1
    spans = sorted((e.start, e.end, e.logical) for e in entries if e.role != "extended")
    ext = next((e for e in entries if e.role == "extended"), None)
    regions: list[FreeRegion] = []
    cursor = spans[0][0] if spans else MIB_SECTORS
    for start, end, logical in spans:
        gap = start - cursor
        ebr = MIB_SECTORS if logical else 0
        if gap > ebr and gap - ebr >= MIB_SECTORS:
            regions.append(FreeRegion(cursor, start - 1 - ebr))
        cursor = max(cursor, end + 1)
    # inside the extended partition another logical one costs its EBR grain too
    tail_ebr = MIB_SECTORS if ext is not None and cursor <= ext.end else 0
    if last_usable - cursor - tail_ebr + 1 >= MIB_SECTORS:
        regions.append(FreeRegion(cursor, last_usable))
    return regions


def plan(layout: Layout) -> Plan:
    """The partition table, /config.partids and diagnostics for `layout`."""
    found = diagnostics.check_input(layout)
    r = resolve(layout)
    reqs, notes = requests(layout, r)
    found += notes
    partitioned_sectors = max(r.size.partitioned_mb, 0) * MIB_SECTORS
    disk_sectors = max(r.size.total_mb, 0) * MIB_SECTORS
    # a table holds at most a few hundred entries: place no further than that
    placed, failure, recreated = place(
        reqs[: diagnostics.PLACE_LIMIT], r, layout, partitioned_sectors)
    entries = [_entry(q, s, r.table) for q, s in placed]
    if recreated:
        # KIWI's set_start_sector (run last) deletes partition 1 and re-creates it with
        # fdisk, which gives it the default type 83 and no boot flag
        entries = [replace(e, code="83") if e.number == 1 else e for e in entries]
    entries.sort(key=lambda e: e.number)
    if layout.apply_dps_codes and r.table == "gpt":
        entries = [_dps(e, layout.arch) for e in entries]
    table = r.table
    if layout.force_mbr and r.efi and table == "gpt" and failure is None and len(entries) <= 4:
        # sgdisk -m: the same sectors in an msdos table, GPT types mapped
        table = "msdos"
        entries = [replace(e, name=None, code=MBR_FROM_GPT.get(e.code, "83")) for e in entries]
    free = free_regions(entries, table, disk_sectors)
    ids = partids_for(placed, layout)
    found += diagnostics.check_plan(layout, r, reqs, entries, free, failure, disk_sectors)
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
    )
