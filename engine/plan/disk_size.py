"""The disk size: `<size>` when given, else KIWI's estimate from the root data.

KIWI (DiskSetup.get_disksize_mbytes) adds: the root data size with a
filesystem factor (x1.5 for ext*, xfs, btrfs, plus two inodes per file for
ext*), times (root_clone + 1); each custom partition that has a mountpoint,
(size - data below it) x (clone + 1); with LVM 80 MiB plus the volumes,
otherwise the swap; bios_grub, boot x (boot_clone + 1), spare, ESP, PReP.
`<size additive="true">` adds the configured size to that estimate;
`unpartitioned` is taken off before partitioning and appended afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.layout.model import DEFAULT_ROOT_MBYTES, Layout
from engine.units import MIB

INODE_SIZE = 256
LVM_OVERHEAD_MB = 80
MIN_VOLUME_MB = {"btrfs": 120, "xfs": 300}
MIN_VOLUME_MB_DEFAULT = 30
# a root tree of one directory and one file: what `find | wc -l` counts
# when the estimate has no real tree to look at
ASSUMED_FILE_COUNT = 2


@dataclass(frozen=True)
class DiskSize:
    total_mb: int  # the whole disk, unpartitioned space included
    partitioned_mb: int  # what KIWI partitions (total - unpartitioned)
    estimated: bool  # no <size> (or additive): depends on the root data
    estimate_mb: int  # KIWI's calculated size for this layout
    root_mbytes: int  # the root data size the estimate assumed


def root_filesystem_mbytes(root_mbytes: int, filesystem: str | None, files: int) -> int:
    size = float(root_mbytes)
    if filesystem:
        if filesystem.startswith("ext"):
            size *= 1.5
            size += 2 * (files * INODE_SIZE / MIB)
        elif filesystem in ("btrfs", "xfs"):
            size *= 1.5
    return int(size)


def estimate_mbytes(
    layout: Layout,
    *,
    legacy_mb: int,
    efi_mb: int,
    prep_mb: int,
    boot_mb: int,
    swap_mb: int,
    spare_mb: int,
    files: int = ASSUMED_FILE_COUNT,
) -> int:
    """KIWI's calculated disk size in MiB for `layout` (root data from
    `layout.root_mbytes`, or DEFAULT_ROOT_MBYTES)."""
    root_data = layout.root_mbytes if layout.root_mbytes is not None else DEFAULT_ROOT_MBYTES
    if layout.root_files is not None:
        files = layout.root_files
    total = root_filesystem_mbytes(root_data, layout.filesystem, files)
    if layout.root_clone > 0:
        total *= layout.root_clone + 1
    below = dict(layout.partition_data_mb)
    for part in layout.kiwi_partitions:
        if part.mountpoint:
            if part.filesystem == "squashfs":
                add = part.size_mb
            else:
                add = part.size_mb - below.get(part.mountpoint, 0)
            if add > 0:
                total += add * (max(part.clone, 0) + 1)
    if layout.volume_manager == "lvm":
        total += LVM_OVERHEAD_MB + _volume_mbytes(layout, swap_mb)
    elif swap_mb:
        total += swap_mb
    total += legacy_mb
    total += boot_mb * (max(layout.boot_clone, 0) + 1) if boot_mb else 0
    total += spare_mb + efi_mb + prep_mb
    return total


def _volume_mbytes(layout: Layout, swap_mb: int) -> int:
    """KIWI's DiskSetup._accumulate_volume_size for an empty root tree."""
    minimum = MIN_VOLUME_MB.get(layout.filesystem or "", MIN_VOLUME_MB_DEFAULT)
    # (is_root, fullsize, kind, mbytes) per volume, as XMLState.get_volumes
    vols: list[tuple[bool, bool, str, int]] = []
    explicit = layout.systemdisk.volumes if layout.systemdisk else ()
    have_root = False
    have_full = False
    for vol in explicit:
        is_root = vol.name.startswith("@root")
        have_root = have_root or is_root
        if vol.all_free:
            have_full = True
            vols.append((is_root, True, "size", 0))
        elif vol.size_mb is not None:
            vols.append((is_root, False, "size", vol.size_mb))
        else:
            vols.append((is_root, False, "freespace", vol.freespace_mb or minimum))
    if not have_root:
        vols.append((True, not have_full, "freespace", minimum))
    if swap_mb:
        vols.append((False, False, "size", swap_mb))
    if layout.oem_resize is not False:
        return minimum * len(vols)
    total = 0
    for _is_root, fullsize, _kind, mbytes in vols:
        if fullsize:
            continue
        if mbytes > 0:
            total += mbytes + minimum
    return total


def disk_size(layout: Layout, estimate_mb: int) -> DiskSize:
    root_data = layout.root_mbytes if layout.root_mbytes is not None else DEFAULT_ROOT_MBYTES
    unpart = layout.unpartitioned_mb or 0
    if layout.size_mb is None:
        return DiskSize(estimate_mb, estimate_mb, True, estimate_mb, root_data)
    configured = layout.size_mb - unpart
    if layout.size_additive:
        partitioned = configured + estimate_mb
        return DiskSize(partitioned + unpart, partitioned, True, estimate_mb, root_data)
    return DiskSize(layout.size_mb, configured, False, estimate_mb, root_data)
