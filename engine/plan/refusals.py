"""What KIWI refuses before it partitions, and values no description holds.

`check_input`: values a KIWI description could not hold (the designer can
produce them). `kiwi_refusals`: KIWI's own checks that stop a build before
any partition exists: the firmware its FirmWare class implements for the
architecture, DiskBuilder.create_disk's overlay check and the RuntimeChecker
checks that concern the layout, each with KIWI's reason. `counts_and_sizes`:
counts and sizes past what any table or image file holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.layout.model import (
    BOOT_FILESYSTEMS,
    FIRMWARES,
    FIRMWARES_BY_ARCH,
    PARTITION_FILESYSTEMS,
    PERSISTENCY,
    ROOT_FILESYSTEMS,
    Layout,
    Volume,
)
from engine.layout.names import name_problems, partition_name_problems
from engine.plan.model import Diagnostic
from engine.units import GRAIN, MAX_IMAGE_BYTES, MIB, SECTOR_SIZE

if TYPE_CHECKING:
    from engine.plan.kiwi_order import Resolved

# LVM keeps each volume's text in the 1 MiB metadata area vgcreate makes by
# default; a thousand volumes are far past any real layout and below that limit
VOLUME_LIMIT = 1000
# labels KIWI keeps for itself on LVM (RuntimeChecker.check_volume_setup_defines_reserved_labels)
RESERVED_VOLUME_LABELS = ("SWAP", "SPARE")


def check_input(layout: Layout) -> list[Diagnostic]:
    """Values no KIWI description could hold (the TUI can produce them)."""
    out: list[Diagnostic] = []
    if layout.firmware is not None and layout.firmware not in FIRMWARES:
        out.append(Diagnostic("unknown-firmware", "error",
                              f"firmware '{layout.firmware}' is not one of {', '.join(FIRMWARES)}"))
    if layout.filesystem is not None and layout.filesystem not in ROOT_FILESYSTEMS:
        out.append(Diagnostic("unknown-filesystem", "error",
                              f"root filesystem '{layout.filesystem}' is not one of"
                              f" {', '.join(ROOT_FILESYSTEMS)}", "root"))
    if layout.bootfilesystem is not None and layout.bootfilesystem not in BOOT_FILESYSTEMS:
        out.append(Diagnostic("unknown-filesystem", "error",
                              f"boot filesystem '{layout.bootfilesystem}' is not one of"
                              f" {', '.join(BOOT_FILESYSTEMS)}", "boot"))
    if layout.root_clone < 0 or layout.boot_clone < 0:
        out.append(Diagnostic("negative-clones", "error", "a clone count cannot be negative"))
    if layout.size_mb is not None and layout.size_mb <= 0:
        out.append(Diagnostic("bad-size", "error", f"<size> must be positive, not {layout.size_mb} MiB"))
    if layout.disk_start_sector is not None:
        dss = layout.disk_start_sector
        if dss < GRAIN:
            out.append(Diagnostic("start-sector", "error",
                                  f"disk_start_sector {dss} is below {GRAIN}, which KIWI's schema requires"))
        elif dss % GRAIN:
            out.append(Diagnostic(
                "start-sector-unaligned", "warning",
                f"disk_start_sector {dss} is not a multiple of {GRAIN}: sgdisk moves the first"
                " partition to an aligned sector and its size comes out wrong",
                None, f"use a multiple of {GRAIN}"))
    if layout.devicepersistency is not None and layout.devicepersistency not in PERSISTENCY:
        out.append(Diagnostic("unknown-persistency", "error",
                              f"devicepersistency '{layout.devicepersistency}' is not one of"
                              f" {', '.join(PERSISTENCY)}"))
    seen: set[str] = set()
    for part in layout.partitions:
        if part.name in seen:
            out.append(Diagnostic("duplicate-name", "error",
                                  f"two partitions are named '{part.name}'", part.name))
        seen.add(part.name)
        for problem in name_problems(part.name):
            code = "reserved-name" if "reserved" in problem else "shell-name"
            out.append(Diagnostic(code, "error", f"partition {problem}", part.name,
                                  "choose another name"))
        if part.partition_name is not None:
            for problem in partition_name_problems(part.partition_name):
                out.append(Diagnostic("partition-name", "error", problem, part.name))
        if part.size_mb <= 0:
            out.append(Diagnostic(
                "clone-no-size" if part.clone else "bad-size", "error",
                f"partition '{part.name}' has size {part.size_mb} MiB"
                + (f"; its {part.clone} clone(s) need a fixed size" if part.clone else ""),
                part.name, "give the partition a size in MiB"))
        if part.clone < 0:
            out.append(Diagnostic("negative-clones", "error",
                                  f"partition '{part.name}' has clone=\"{part.clone}\"", part.name))
        if part.filesystem is not None and part.filesystem not in PARTITION_FILESYSTEMS:
            out.append(Diagnostic("unknown-filesystem", "error",
                                  f"partition '{part.name}' has filesystem '{part.filesystem}',"
                                  f" not one of {', '.join(PARTITION_FILESYSTEMS)}", part.name))
        # a Layout built in code can carry values no description holds (swap here)
        if str(part.filesystem) == "swap" and part.clone:
            out.append(Diagnostic("swap-clone", "warning",
                                  f"partition '{part.name}' is swap with {part.clone} clone(s):"
                                  " KIWI never clones swap", part.name, "set clone=\"0\""))
    return out


def kiwi_refusals(layout: Layout, r: Resolved) -> list[Diagnostic]:
    """What KIWI refuses before it creates any partition, in KIWI's words."""
    out: list[Diagnostic] = []
    fw = layout.firmware
    if fw is not None and fw != "custom" and fw in FIRMWARES and fw not in FIRMWARES_BY_ARCH[layout.arch]:
        known = ", ".join(FIRMWARES_BY_ARCH[layout.arch]) or "none"
        out.append(Diagnostic(
            "firmware-arch", "error",
            f"KIWI refuses firmware=\"{fw}\" on {layout.arch}: \"support for firmware {fw} for arch"
            f" {layout.arch} not implemented\" (KiwiNotImplementedError)",
            None, f"use one of {known} on {layout.arch}"))
    vm = layout.volume_manager
    volumes = layout.systemdisk.volumes if layout.systemdisk is not None else ()
    if layout.overlayroot and vm is not None:
        out.append(Diagnostic(
            "overlay-volumes", "error",
            f"overlayroot with {'LVM' if vm == 'lvm' else 'btrfs'} volumes (<systemdisk>): KIWI"
            " refuses it, \"Volume management together with root overlay is not supported\""
            " (KiwiVolumeManagerSetupError)",
            None, "drop <systemdisk> or overlayroot"))
    if r.table == "msdos" and layout.devicepersistency == "by-partuuid":
        out.append(Diagnostic("partuuid-msdos", "error",
                              "devicepersistency=\"by-partuuid\" on an msdos table: KIWI refuses"
                              " it at build time", None, "use by-uuid or by-label, or a gpt table"))
    if layout.oem_swapname and vm != "lvm":
        out.append(Diagnostic(
            "swapname-no-lvm", "error",
            f"<oem-swapname>{layout.oem_swapname}</oem-swapname> without LVM: KIWI refuses it"
            " (\"Specified swap space name will not be used\", KiwiRuntimeError)",
            None, "drop <oem-swapname>, or use LVM (<systemdisk>)"))
    full = [v for v in volumes if v.all_free and v.size_mb is None]
    if len(full) > 1:
        out.append(Diagnostic(
            "volumes-all-twice", "error",
            f"volumes {', '.join(v.name for v in full)} all take size \"all\": KIWI refuses it"
            " (\"Multiple all size volumes found but only one is allowed\", KiwiRuntimeError)",
            None, "give all but one of them a size"))
    for vol in volumes:
        out += _volume_refusals(layout, vol)
    return out


def _volume_refusals(layout: Layout, vol: Volume) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    vm = layout.volume_manager
    if "@root" not in vol.name and (vol.mountpoint or vol.name) == "/":
        out.append(Diagnostic(
            "volume-root", "error",
            f"volume '{vol.name}' is for \"/\": KIWI refuses it (\"Volume setup for / found. The"
            " size of the root volume must be specified via the @root volume name\")",
            None, "use <volume name=\"@root\" size=\"...\"/>"))
    if vol.label and vm != "lvm" and vol.label != "SWAP":
        out.append(Diagnostic(
            "volume-label-no-lvm", "error",
            f"volume '{vol.name}' has label '{vol.label}' without LVM: KIWI refuses it (\"Custom"
            f" volume label setup used without LVM\", {vm} has no volume labels)",
            None, "drop the label, or set preferlvm=\"true\" on <systemdisk>"))
    reserved = (layout.rootfs_label or "ROOT", *RESERVED_VOLUME_LABELS)
    if vol.label and vm == "lvm" and vol.label in reserved:
        out.append(Diagnostic(
            "volume-label-reserved", "error",
            f"volume '{vol.name}' has label '{vol.label}', which KIWI keeps for itself"
            f" ({', '.join(reserved)}): KIWI refuses it (\"Reserved label name used in LVM"
            " volume setup\")",
            None, "choose another label"))
    return out


def counts_and_sizes(layout: Layout, r: Resolved, disk_sectors: int) -> list[Diagnostic]:
    """Counts and sizes no table or image file can hold, and counts with no effect."""
    out: list[Diagnostic] = []
    if layout.boot_clone > 0 and not r.boot:
        out.append(Diagnostic(
            "boot-clone-no-boot", "warning",
            f"boot_clone=\"{layout.boot_clone}\" has no effect: this layout has no boot"
            " partition, and KIWI clones only a boot partition it makes",
            None, "set bootpartition=\"true\", or drop boot_clone"))
    volumes = layout.systemdisk.volumes if layout.systemdisk is not None else ()
    if len(volumes) > VOLUME_LIMIT:
        out.append(Diagnostic(
            "too-many-volumes", "error",
            f"<systemdisk> has {len(volumes)} volumes; LVM's default metadata area, which"
            f" KIWI's vgcreate keeps, holds about {VOLUME_LIMIT} and lvcreate fails past it",
            None, "use fewer volumes"))
    if disk_sectors * SECTOR_SIZE > MAX_IMAGE_BYTES:
        out.append(Diagnostic(
            "disk-too-large", "error",
            f"the disk would be {disk_sectors // GRAIN} MiB ({disk_sectors} sectors); no image"
            f" file can be larger than {MAX_IMAGE_BYTES // MIB} MiB (a signed 64-bit offset),"
            " so KIWI's qemu-img and the build fail",
            None, "use a smaller <size>, oem-systemsize or partition sizes"))
    return out


