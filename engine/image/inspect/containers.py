"""The containers inside an image's partitions, read without a key and
without device-mapper.

A partition blkid finds to be crypto_LUKS, LVM2_member or
linux_raid_member gets a `ContainerInfo`: the LUKS UUID, version and cipher
from the header (the filesystem inside is encrypted and not read: inspect
takes no key); the PV UUID and, where loop devices can be attached (root),
the VG name, VG UUID and logical volumes (`pvs`/`lvs` with the private
configuration of lvm.py, on a read-only loop device) with the filesystem in
each volume at its extents; otherwise blkid's PV UUID only, and the report
says so; the md array and device UUIDs, level and data offset from the v1.2
superblock (mdraid.read_member) with the filesystem at the data offset.
"""

from __future__ import annotations

import shutil

from engine.errors import PartwrightError, ToolError
from engine.host import kernel
from engine.image import luks, lvm, mdraid
from engine.image.clone import Region, probe
from engine.image.inspect.model import ContainerInfo, InnerFilesystem


def read_container(raw: str, offset: int, size: int, fs: dict[str, str]) -> ContainerInfo | None:
    """The container in [offset, offset+size) of `raw`, when blkid found one
    (`fs`: its probe); None for a plain filesystem or nothing."""
    kind = fs.get("TYPE", "")
    if kind == "crypto_LUKS":
        return _read_luks(raw, offset, fs)
    if kind == "LVM2_member":
        return _read_lvm(raw, offset, size, fs)
    if kind == "linux_raid_member":
        return _read_md(raw, offset, size, fs)
    return None


def _inner(raw: str, where: str, offset: int, size: int, first_extent: int | None = None,
           extents: int | None = None) -> InnerFilesystem:
    found = probe(Region(raw, offset, size)) if size > 0 else {}
    return InnerFilesystem(where=where, offset=offset, size=size, filesystem=found.get("TYPE"),
                           uuid=found.get("UUID"), label=found.get("LABEL"),
                           first_extent=first_extent, extents=extents)


def _read_luks(raw: str, offset: int, fs: dict[str, str]) -> ContainerInfo:
    try:
        header = luks.read_header(raw, offset)
    except (ToolError, PartwrightError) as exc:
        return ContainerInfo("crypto_LUKS", fs.get("UUID", ""), version=fs.get("VERSION"),
                             note=f"LUKS header not read: {exc}")
    return ContainerInfo("crypto_LUKS", header.uuid, version=str(header.version),
                         cipher=header.cipher or None, data_offset=header.data_offset,
                         note="the filesystem inside is encrypted: not read (inspect takes no key)")


def _read_lvm(raw: str, offset: int, size: int, fs: dict[str, str]) -> ContainerInfo:
    pv_uuid = fs.get("UUID", "")
    reason = kernel.missing("loop")
    if reason is None and not all(_tool(t) for t in ("losetup", "lvm")):
        reason = "losetup or lvm is not installed"
    if reason is not None:
        return ContainerInfo("LVM2_member", pv_uuid,
                             note=f"PV UUID from blkid only; VG name, VG UUID and volumes not"
                                  f" read: {reason}")
    try:
        vg = lvm.read_volume_group(raw, offset, size, read_only=True)
    except (ToolError, PartwrightError) as exc:
        return ContainerInfo("LVM2_member", pv_uuid,
                             note=f"PV UUID from blkid only; the volume group not read: {exc}")
    volumes = tuple(_inner(raw, lv.name, lv.offset, lv.size, first_extent=lv.first_extent,
                           extents=lv.extents) for lv in vg.volumes)
    return ContainerInfo("LVM2_member", vg.pv_uuid, vg_name=vg.name, vg_uuid=vg.uuid,
                         extent_size=vg.extent_size, pe_start=vg.pe_start, inner=volumes)


def _read_md(raw: str, offset: int, size: int, fs: dict[str, str]) -> ContainerInfo:
    try:
        sb = mdraid.read_member(raw, offset)
    except (ToolError, PartwrightError) as exc:
        return ContainerInfo("linux_raid_member", fs.get("UUID", ""), version=fs.get("VERSION"),
                             device_uuid=fs.get("UUID_SUB"),
                             note=f"md superblock not read (only v1.2 is): {exc}")
    length = min(sb.data_size, size - sb.data_offset)
    data = _inner(raw, "data", offset + sb.data_offset, length)
    note = None if sb.checksum_ok else "the md superblock checksum is wrong"
    return ContainerInfo("linux_raid_member", sb.set_uuid, version="1.2",
                         data_offset=sb.data_offset, level=sb.level, raid_disks=sb.raid_disks,
                         device_uuid=sb.device_uuid, data_size=sb.data_size,
                         checksum_ok=sb.checksum_ok, inner=(data,) if data.filesystem else (),
                         note=note)


def _tool(name: str) -> bool:
    return bool(shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin"))
