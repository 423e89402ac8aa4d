"""The Layout: an immutable model of the layout-bearing parts of a KIWI `<type>`.

Field names follow KIWI's attribute and element names (root_clone,
oem_systemsize, spare_part_is_last ...). A value of None means "not set in
the description", so KIWI's default applies; the planner resolves defaults,
the XML writer leaves unset attributes unset. All sizes are whole MiB.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal, get_args

Firmware = Literal["bios", "ec2", "efi", "uefi", "ofw", "opal", "custom"]
TableType = Literal["gpt", "msdos"]  # KIWI's efiparttable values; DASD is not modelled
Arch = Literal["x86_64", "i686", "aarch64", "ppc64le", "s390x", "riscv64"]
RootFilesystem = Literal["btrfs", "ext2", "ext3", "ext4", "squashfs", "erofs", "xfs"]
BootFilesystem = Literal["btrfs", "ext2", "ext3", "ext4", "xfs", "fat32", "fat16"]
PartitionFilesystem = Literal["btrfs", "ext2", "ext3", "ext4", "squashfs", "xfs", "fat32", "fat16"]
SpareFilesystem = Literal["btrfs", "ext2", "ext3", "ext4", "xfs"]
Persistency = Literal["by-uuid", "by-label", "by-partuuid"]
MdraidLevel = Literal["mirroring", "striping"]
PartitionType = Literal["t.linux", "t.raid"]
VolumeManager = Literal["lvm", "btrfs"]
LuksVersion = Literal["luks", "luks1", "luks2"]

FIRMWARES: tuple[Firmware, ...] = get_args(Firmware)
TABLE_TYPES: tuple[TableType, ...] = get_args(TableType)
ARCHES: tuple[Arch, ...] = get_args(Arch)
ROOT_FILESYSTEMS: tuple[RootFilesystem, ...] = get_args(RootFilesystem)
BOOT_FILESYSTEMS: tuple[BootFilesystem, ...] = get_args(BootFilesystem)
PARTITION_FILESYSTEMS: tuple[PartitionFilesystem, ...] = get_args(PartitionFilesystem)
SPARE_FILESYSTEMS: tuple[SpareFilesystem, ...] = get_args(SpareFilesystem)
PERSISTENCY: tuple[Persistency, ...] = get_args(Persistency)
MDRAID_LEVELS: tuple[MdraidLevel, ...] = get_args(MdraidLevel)
PARTITION_TYPES: tuple[PartitionType, ...] = get_args(PartitionType)
LUKS_VERSIONS: tuple[LuksVersion, ...] = get_args(LuksVersion)
# the firmware KIWI's FirmWare class implements per architecture (Defaults.get_firmware_types);
# "custom" is accepted everywhere
FIRMWARES_BY_ARCH: dict[Arch, tuple[Firmware, ...]] = {
    "x86_64": ("efi", "uefi", "bios", "ec2"),
    "i686": ("bios",),
    "aarch64": ("efi", "uefi"),
    "ppc64le": ("ofw", "opal"),
    "s390x": (),
    "riscv64": ("efi", "uefi"),
}

# Default root data size (MiB) assumed for the disk-size estimate when a
# description has no <size> and no root tree is given.
DEFAULT_ROOT_MBYTES = 1024


@dataclass(frozen=True)
class Partition:
    """One `<partition>` of `<partitions>` (a custom partition)."""

    name: str
    size_mb: int
    mountpoint: str | None = None
    filesystem: PartitionFilesystem | None = None
    clone: int = 0
    partition_name: str | None = None
    partition_type: PartitionType | None = None
    label: str | None = None
    part_id: int | None = None


@dataclass(frozen=True)
class Volume:
    """One `<volume>` of `<systemdisk>` (an LVM logical volume)."""

    name: str
    size_mb: int | None = None  # None with freespace or "all"
    all_free: bool = False  # size="all"
    freespace_mb: int | None = None
    mountpoint: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class SystemDisk:
    """`<systemdisk>`: the volume group holding the root (LVM)."""

    name: str | None = None  # VG name; KIWI's default is systemVG
    preferlvm: bool | None = None
    volumes: tuple[Volume, ...] = ()


@dataclass(frozen=True)
class Layout:
    """Everything in a KIWI `<type image="oem">` that shapes the disk."""

    image: str = "oem"
    arch: Arch = "x86_64"
    firmware: Firmware | None = None
    filesystem: RootFilesystem | None = "ext4"
    efiparttable: TableType | None = None
    eficsm: bool | None = None
    bootpartition: bool | None = None
    bootfilesystem: BootFilesystem | None = None
    bootpartsize: int | None = None
    efipartsize: int | None = None
    root_clone: int = 0
    boot_clone: int = 0
    partitions: tuple[Partition, ...] = ()
    # <oemconfig>
    oem_systemsize: int | None = None
    oem_resize: bool | None = None
    oem_swap: bool | None = None
    oem_swapsize: int | None = None
    oem_swapname: str | None = None
    # <size unit additive unpartitioned>
    size_mb: int | None = None
    size_additive: bool | None = None
    unpartitioned_mb: int | None = None
    # spare partition
    spare_part_mb: int | None = None
    spare_part_is_last: bool | None = None
    spare_part_mountpoint: str | None = None
    spare_part_fs: SpareFilesystem | None = None
    # table details
    disk_start_sector: int | None = None
    dosparttable_extended_layout: bool | None = None
    force_mbr: bool | None = None
    gpt_hybrid_mbr: bool | None = None
    apply_dps_codes: bool | None = None  # KIWI 11: Discoverable Partitions type codes
    eficsmpart_id: int | None = None
    efipart_id: int | None = None
    bootpart_id: int | None = None
    rootpart_id: int | None = None
    # root roles
    mdraid: MdraidLevel | None = None
    systemdisk: SystemDisk | None = None
    overlayroot: bool | None = None
    overlayroot_write_partition: bool | None = None
    overlayroot_readonly_partsize: int | None = None
    # identity and encryption
    devicepersistency: Persistency | None = None
    rootfs_label: str | None = None
    luks: str | None = field(default=None, repr=False)  # a passphrase: never in repr
    luks_version: LuksVersion | None = None
    # planner inputs, not KIWI attributes: the root tree as KIWI measures it
    # for the disk-size estimate (engine.host.root_tree)
    root_mbytes: int | None = None
    root_files: int | None = None
    partition_data_mb: tuple[tuple[str, int], ...] = ()  # (mountpoint, MiB) below it

    def with_changes(self, **changes: object) -> Layout:
        """A copy with some fields changed (dataclasses.replace)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def kiwi_partitions(self) -> tuple[Partition, ...]:
        """The custom partitions as KIWI reads them (XMLState.get_partitions, a
        dict by name): a name given twice keeps its first place and takes its
        last attributes."""
        merged: dict[str, Partition] = {}
        for part in self.partitions:
            merged[part.name] = part
        return tuple(merged.values())

    def partition(self, name: str) -> Partition | None:
        for part in self.partitions:
            if part.name == name:
                return part
        return None

    def with_partition(self, name: str, /, **changes: object) -> Layout:
        """A copy in which the custom partition `name` has some fields changed
        (`name=` among the changes renames it)."""
        parts = tuple(
            replace(p, **changes) if p.name == name else p  # type: ignore[arg-type]
            for p in self.partitions
        )
        return replace(self, partitions=parts)

    # --- resolved values (KIWI's defaults) -------------------------------
    @property
    def resolved_firmware(self) -> Firmware:
        if self.firmware:
            return self.firmware
        if self.arch in ("x86_64", "i686", "i586"):
            return "bios"
        if self.arch.startswith("ppc"):
            return "ofw"
        if self.arch == "s390x":
            return "bios"
        return "efi"

    @property
    def volume_manager(self) -> VolumeManager | None:
        """'lvm', 'btrfs' or None, as KIWI's XMLState.get_volume_management."""
        if self.systemdisk is None:
            return None
        if self.systemdisk.preferlvm:
            return "lvm"
        if self.filesystem == "btrfs":
            return "btrfs"
        return "lvm"
