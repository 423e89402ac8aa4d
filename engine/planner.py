"""plan(layout) -> Plan: the partition table KIWI NG 11 builds, sector for sector.

Pure and deterministic, no I/O. The order, sizes and names follow KIWI's
DiskBuilder._build_and_map_disk_partitions (see ../shared/spec/layout.md);
placement follows sgdisk/fdisk (engine.tables). Where KIWI itself would fail
(a partition that does not fit, more than 128 GPT entries, a fifth msdos
primary) the plan holds what KIWI would have created up to that point and
an error diagnostic saying why.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from engine import diagnostics
from engine.disksize import DiskSize, disk_size, estimate_mbytes
from engine.layout import Layout
from engine.partids import partids_for
from engine.plan import MIB_SECTORS, Entry, FreeRegion, LogicalVolume, Plan
from engine.tables import GptTable, MsdosTable, PlacementError, Slot

LEGACY_MB = 2
EFI_MB = 20
PREP_MB = 8
BOOT_MB = 300
SWAP_MB = 128
MIN_PARTITION_MB = 10  # KIWI's slack in the root size arithmetic

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


@dataclass(frozen=True)
class Request:
    """One partition KIWI asks the partitioner for, in creation order."""

    gpt_name: str
    key: str  # KIWI's map key
    id_name: str  # the /config.partids key
    role: str
    type_name: str  # t.linux, t.efi ...
    mbsize: int | None  # None: all free space
    part_id: int | None = None
    clone_of: str | None = None
    filesystem: str | None = None
    mountpoint: str | None = None
    label: str | None = None
    # KIWI hands this size to the partitioner as text (boot, swap, spare,
    # clones): its msdos start-sector arithmetic then raises a TypeError
    size_is_text: bool = False


@dataclass(frozen=True)
class Resolved:
    """KIWI's view of a Layout: defaults applied."""

    firmware: str
    table: str
    efi: bool
    legacy_mb: int
    efi_mb: int
    prep_mb: int
    boot: bool
    boot_mb: int
    swap_mb: int
    spare_mb: int
    start_sector: int
    resize: bool
    size: DiskSize


def resolve(layout: Layout) -> Resolved:
    firmware = layout.resolved_firmware
    efi = firmware in ("efi", "uefi")
    arch = layout.arch
    if arch.startswith("s390"):
        table = "msdos"
    elif arch.startswith("ppc64"):
        table = "gpt"
    elif efi:
        table = layout.efiparttable or "gpt"
    else:
        table = "msdos"
    x86 = arch == "x86_64" or (len(arch) == 4 and arch[0] == "i" and arch.endswith("86"))
    if table == "gpt":
        legacy_mode = x86 and efi and layout.eficsm is not False
    else:
        legacy_mode = table == "msdos" and x86
    legacy_mb = LEGACY_MB if legacy_mode and efi else 0
    efi_mb = (layout.efipartsize or EFI_MB) if efi else 0
    prep_mb = PREP_MB if firmware == "ofw" else 0
    boot = _need_boot_partition(layout)
    boot_mb = (layout.bootpartsize or BOOT_MB) if boot else 0
    swap_mb = 0
    if layout.oem_swap:
        swap_mb = SWAP_MB if layout.oem_swapsize is None else layout.oem_swapsize
    spare_mb = layout.spare_part_mb or 0
    estimate = estimate_mbytes(
        layout, legacy_mb=legacy_mb, efi_mb=efi_mb, prep_mb=prep_mb,
        boot_mb=boot_mb, swap_mb=swap_mb, spare_mb=spare_mb,
    )
    return Resolved(
        firmware=firmware, table=table, efi=efi, legacy_mb=legacy_mb,
        efi_mb=efi_mb, prep_mb=prep_mb, boot=boot, boot_mb=boot_mb,
        swap_mb=swap_mb, spare_mb=spare_mb,
        start_sector=layout.disk_start_sector or 2048,
        resize=layout.oem_resize is not False,
        size=disk_size(layout, estimate),
    )


def _need_boot_partition(layout: Layout) -> bool:
    if layout.bootpartition is not None:
        return layout.bootpartition
    if layout.mdraid:
        return True
    vm = layout.volume_manager
    if vm == "lvm":
        return True
    if vm == "btrfs":
        return False
    return bool(layout.overlayroot)


def _clones(
    base: Request, name: str, count: int, mbsize: int | None, part_id: int | None
) -> list[Request]:
    """KIWI's Disk._create_clones: p.lx<name>clone<n>, numbered after part_id."""
    out: list[Request] = []
    pid = part_id
    for clone_id in range(1, count + 1):
        if pid:
            pid += 1
        suffix = pid or clone_id
        out.append(
            Request(
                gpt_name=f"p.lx{name}clone{suffix}",
                key=f"{name}clone{suffix}",
                id_name=f"kiwi_{name}PartClone{suffix}",
                role=base.role,
                type_name=base.type_name,
                mbsize=mbsize,
                part_id=pid,
                clone_of=base.key,
                filesystem=base.filesystem,
                mountpoint=None,
                label=base.label,
                size_is_text=True,
            )
        )
    return out


def requests(layout: Layout, r: Resolved) -> tuple[list[Request], list[diagnostics.Diagnostic]]:
    """The partitions KIWI creates for `layout`, in creation order."""
    notes: list[diagnostics.Diagnostic] = []
    reqs: list[Request] = []
    used = 0
    if r.legacy_mb:
        reqs.append(Request("p.legacy", "efi_csm", "kiwi_BiosGrub", "bios_grub", "t.csm",
                            r.legacy_mb, layout.eficsmpart_id))
        used += r.legacy_mb
    if r.efi:
        reqs.append(Request("p.UEFI", "efi", "kiwi_EfiPart", "efi", "t.efi", r.efi_mb,
                            layout.efipart_id, filesystem="fat16", mountpoint="/boot/efi",
                            label="EFI"))
        used += r.efi_mb
    if r.prep_mb:
        reqs.append(Request("p.prep", "prep", "kiwi_PrepPart", "prep", "t.prep", r.prep_mb))
        used += r.prep_mb
    if r.boot:
        boot = Request("p.lxboot", "boot", "kiwi_BootPart", "boot", "t.linux", r.boot_mb,
                       layout.bootpart_id, filesystem=layout.bootfilesystem or layout.filesystem,
                       mountpoint="/boot", label="BOOT", size_is_text=True)
        boot_clone = max(layout.boot_clone, 0)
        reqs += _clones(boot, "boot", boot_clone, r.boot_mb, layout.bootpart_id)
        reqs.append(boot)
        used += r.boot_mb * (boot_clone + 1)
    if r.swap_mb and layout.volume_manager != "lvm":
        reqs.append(Request("p.swap", "swap", "kiwi_SwapPart", "swap", "t.swap", r.swap_mb,
                            filesystem="swap", label="SWAP", size_is_text=True))
        used += r.swap_mb
    for part in layout.partitions:
        type_name = part.partition_type or "t.linux"
        origin = Request(
            gpt_name=part.partition_name or f"p.lx{part.name}",
            key=part.name,
            id_name=f"kiwi_{part.name.title()}Part",
            role="custom",
            type_name=type_name,
            mbsize=part.size_mb,
            part_id=part.part_id,
            filesystem=part.filesystem,
            mountpoint=part.mountpoint,
            label=part.label or part.name.upper(),
        )
        reqs += _clones(origin, part.name, max(part.clone, 0), part.size_mb, part.part_id)
        reqs.append(origin)
    if r.spare_mb and not layout.spare_part_is_last:
        reqs.append(_spare(layout, r.spare_mb))

    root_clone = max(layout.root_clone, 0)  # a negative count is an input error
    overlay = bool(layout.overlayroot)
    if overlay:
        ro_mb = layout.overlayroot_readonly_partsize or 0
        if not ro_mb:
            notes.append(diagnostics.overlay_size_assumed())
            ro_mb = 1024
        ro = Request("p.lxreadonly", "readonly", "kiwi_ROPart", "readonly", "t.linux", ro_mb,
                     filesystem="squashfs")
        reqs += _clones(ro, "root", root_clone, ro_mb, None)
        reqs.append(ro)
        used += ro_mb * (root_clone + 1)
        root_clone = 0

    disk_mb = r.size.partitioned_mb
    root_mb: int | None
    if r.spare_mb and layout.spare_part_is_last:
        root_mb = disk_mb - used - r.spare_mb - MIN_PARTITION_MB
        if root_clone:
            root_mb = int(root_mb / (root_clone + 1))
    elif layout.oem_systemsize and (not r.resize or layout.spare_part_is_last):
        root_mb = layout.oem_systemsize
    else:
        root_mb = None
    if root_clone and root_mb is None:
        root_mb = int((disk_mb - used - MIN_PARTITION_MB) / (root_clone + 1))

    if not (overlay and layout.overlayroot_write_partition is False):
        vm = layout.volume_manager
        fs = layout.filesystem
        if vm == "lvm":
            root = Request("p.lxlvm", "root", "kiwi_RootPart", "lvm", "t.lvm", root_mb,
                           layout.rootpart_id, filesystem="LVM2_member", mountpoint="/")
        elif layout.mdraid:
            root = Request("p.lxraid", "root", "kiwi_RootPart", "raid", "t.raid", root_mb,
                           layout.rootpart_id, filesystem=fs, mountpoint="/",
                           label=layout.rootfs_label or "ROOT")
        else:
            root = Request("p.lxroot", "root", "kiwi_RootPart", "root", "t.linux", root_mb,
                           layout.rootpart_id, filesystem=fs if not overlay else "ext4",
                           mountpoint="/", label=layout.rootfs_label or "ROOT")
        if root_clone:  # the size string becomes clone:S:S
            root = replace(root, size_is_text=True)
        reqs += _clones(root, "root", root_clone, root_mb, layout.rootpart_id)
        reqs.append(root)
    if layout.spare_part_is_last:
        reqs.append(_spare(layout, None))
    return reqs, notes


def _spare(layout: Layout, mbsize: int | None) -> Request:
    return Request("p.spare", "spare", "kiwi_SparePart", "spare", "t.linux", mbsize,
                   filesystem=layout.spare_part_fs, mountpoint=layout.spare_part_mountpoint,
                   label="SPARE", size_is_text=True)


def place(
    reqs: list[Request], r: Resolved, layout: Layout, disk_sectors: int
) -> tuple[list[tuple[Request | None, Slot]], str | None]:
    """Run the requests through the table emulator. Returns the placed slots
    (None request = the msdos extended partition) and KIWI's failure, if any."""
    placed: list[tuple[Request | None, Slot]] = []
    number = 0
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
            if any(slot.number == 1 for slot in dos.slots):
                dos.move_first_start(r.start_sector)
                placed = [
                    (q, next(s for s in dos.slots if s.number == slot.number))
                    for q, slot in placed
                ]
    except PlacementError as exc:
        return placed, str(exc)
    return placed, None


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


def free_regions(entries: list[Entry], table: str, disk_sectors: int,
                 partitioned_sectors: int) -> list[FreeRegion]:
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
    tail_start = cursor + (MIB_SECTORS if ext is not None and cursor <= ext.end else 0)
    if last_usable - tail_start + 1 >= MIB_SECTORS:
        regions.append(FreeRegion(tail_start if ext is None else cursor, last_usable))
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
    placed, failure = place(reqs[: diagnostics.PLACE_LIMIT], r, layout, partitioned_sectors)
    entries = [_entry(q, s, r.table) for q, s in placed]
    if r.table == "msdos" and failure is None:
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
    free = free_regions(entries, table, disk_sectors, partitioned_sectors)
    ids = partids_for(placed, layout)
    found += diagnostics.check_plan(layout, r, reqs, entries, free, failure, disk_sectors)
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
