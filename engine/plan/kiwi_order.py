"""What KIWI asks its partitioner for: the partitions of a Layout in creation order.

The order, sizes, names and map keys follow KIWI NG 11's
DiskBuilder._build_and_map_disk_partitions (see ../shared/spec/layout.md):
bios_grub, ESP, PReP, boot clones and boot, swap, each custom partition's
clones and origin, a middle spare, the read-only root of an overlay, root
clones and the root (plain, LVM or RAID), a spare at the end. Placement on
the disk is engine.plan.placement' job; engine.plan.planner puts the two together.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from engine.layout.model import Firmware, Layout, TableType
from engine.plan.disk_size import DiskSize, disk_size, estimate_mbytes
from engine.plan.model import Diagnostic, Role
from engine.units import GPT_MAX_ENTRIES, GRAIN, MSDOS_MAX_NUMBER

LEGACY_MB = 2
EFI_MB = 20
PREP_MB = 8
BOOT_MB = 300
SWAP_MB = 128
MIN_PARTITION_MB = 10  # KIWI's slack in the root size arithmetic
# requests kept: more than any table holds (128 GPT entries, 60 msdos numbers),
# so the first request past the limit is known; the rest are only counted
REQUEST_LIMIT = max(GPT_MAX_ENTRIES, MSDOS_MAX_NUMBER) + 32

@dataclass(frozen=True)
class Request:
    """One partition KIWI asks the partitioner for, in creation order."""

    gpt_name: str
    key: str  # KIWI's map key
    id_name: str  # the /config.partids key
    role: Role
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
    clone_index: int = 0  # 1..N for a clone, in creation order


@dataclass
class Requests:
    """The requests in creation order, the first REQUEST_LIMIT of them kept
    (a count of ten million clones is counted, never built)."""

    kept: list[Request]
    total: int = 0

    def add(self, req: Request) -> None:
        self.total += 1
        if len(self.kept) < REQUEST_LIMIT:
            self.kept.append(req)

    def add_clones(self, base: Request, name: str, count: int, mbsize: int | None,
                   part_id: int | None) -> None:
        """KIWI's Disk._create_clones: p.lx<name>clone<n>, numbered after part_id."""
        room = max(REQUEST_LIMIT - len(self.kept), 0)
        self.kept += _clones(base, name, min(count, room), mbsize, part_id)
        self.total += count


@dataclass(frozen=True)
class Resolved:
    """KIWI's view of a Layout: defaults applied."""

    firmware: Firmware
    table: TableType
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
    table: TableType
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
        start_sector=layout.disk_start_sector or GRAIN,
        resize=layout.oem_resize is not False,
        size=disk_size(layout, estimate),
    )


def overlay_size_assumed() -> Diagnostic:
    return Diagnostic(
        "overlay-size-assumed", "info",
        "overlayroot without overlayroot_readonly_partsize: KIWI sizes p.lxreadonly from the"
        " squashfs image at build time; the plan assumes 1024 MiB",
        "readonly", "set overlayroot_readonly_partsize",
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
                clone_index=clone_id,
            )
        )
    return out


def requests(layout: Layout, r: Resolved) -> tuple[Requests, list[Diagnostic]]:
    """The partitions KIWI creates for `layout`, in creation order."""
    notes: list[Diagnostic] = []
    reqs = Requests([])
    used = 0
    if r.legacy_mb:
        reqs.add(Request("p.legacy", "efi_csm", "kiwi_BiosGrub", "bios_grub", "t.csm",
                            r.legacy_mb, layout.eficsmpart_id))
        used += r.legacy_mb
    if r.efi:
        reqs.add(Request("p.UEFI", "efi", "kiwi_EfiPart", "efi", "t.efi", r.efi_mb,
                            layout.efipart_id, filesystem="fat16", mountpoint="/boot/efi",
                            label="EFI"))
        used += r.efi_mb
    if r.prep_mb:
        reqs.add(Request("p.prep", "prep", "kiwi_PrepPart", "prep", "t.prep", r.prep_mb))
        used += r.prep_mb
    if r.boot:
        boot = Request("p.lxboot", "boot", "kiwi_BootPart", "boot", "t.linux", r.boot_mb,
                       layout.bootpart_id, filesystem=layout.bootfilesystem or layout.filesystem,
                       mountpoint="/boot", label="BOOT", size_is_text=True)
        boot_clone = max(layout.boot_clone, 0)
        reqs.add_clones(boot, "boot", boot_clone, r.boot_mb, layout.bootpart_id)
        reqs.add(boot)
        used += r.boot_mb * (boot_clone + 1)
    if r.swap_mb and layout.volume_manager != "lvm":
        reqs.add(Request("p.swap", "swap", "kiwi_SwapPart", "swap", "t.swap", r.swap_mb,
                            filesystem="swap", label="SWAP", size_is_text=True))
        used += r.swap_mb
    for part in layout.kiwi_partitions:
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
        reqs.add_clones(origin, part.name, max(part.clone, 0), part.size_mb, part.part_id)
        reqs.add(origin)
    if r.spare_mb and not layout.spare_part_is_last:
        reqs.add(_spare(layout, r.spare_mb))

    root_clone = max(layout.root_clone, 0)  # a negative count is an input error
    overlay = bool(layout.overlayroot)
    if overlay:
        ro_mb = layout.overlayroot_readonly_partsize or 0
        if not ro_mb:
            notes.append(overlay_size_assumed())
            ro_mb = 1024
        ro = Request("p.lxreadonly", "readonly", "kiwi_ROPart", "readonly", "t.linux", ro_mb,
                     filesystem="squashfs")
        reqs.add_clones(ro, "root", root_clone, ro_mb, None)
        reqs.add(ro)
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
        reqs.add_clones(root, "root", root_clone, root_mb, layout.rootpart_id)
        reqs.add(root)
    if layout.spare_part_is_last:
        reqs.add(_spare(layout, None))
    return reqs, notes


def _spare(layout: Layout, mbsize: int | None) -> Request:
    return Request("p.spare", "spare", "kiwi_SparePart", "spare", "t.linux", mbsize,
                   filesystem=layout.spare_part_fs, mountpoint=layout.spare_part_mountpoint,
                   label="SPARE", size_is_text=True)
