"""Render a Layout as a minimal KIWI description, for the oracle (test-only).

Deliberately independent of engine.kiwi.read's writer, so a bug in one
cannot hide a bug in the other.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from engine.layout.model import Layout


def _b(value: bool) -> str:
    return "true" if value else "false"


def type_xml(layout: Layout) -> str:
    attrs: list[tuple[str, str]] = [("image", layout.image)]
    simple = (
        "firmware", "filesystem", "efiparttable", "bootfilesystem", "mdraid",
        "devicepersistency", "rootfs_label",
    )
    for name in simple:
        value = getattr(layout, name)
        if value is not None:
            attrs.append((name, str(value)))
    for name in ("eficsm", "bootpartition", "spare_part_is_last", "dosparttable_extended_layout",
                 "force_mbr", "gpt_hybrid_mbr", "overlayroot", "overlayroot_write_partition",
                 "apply_dps_codes"):
        value = getattr(layout, name)
        if value is not None:
            attrs.append((name, _b(value)))
    for name in ("bootpartsize", "efipartsize", "disk_start_sector", "eficsmpart_id",
                 "efipart_id", "bootpart_id", "rootpart_id", "overlayroot_readonly_partsize"):
        value = getattr(layout, name)
        if value is not None:
            attrs.append((name, str(value)))
    if layout.root_clone:
        attrs.append(("root_clone", str(layout.root_clone)))
    if layout.boot_clone:
        attrs.append(("boot_clone", str(layout.boot_clone)))
    if layout.spare_part_mb is not None:
        attrs.append(("spare_part", f"{layout.spare_part_mb}M"))
    lines = ["<type " + " ".join(f"{k}={quoteattr(v)}" for k, v in attrs) + ">"]
    if layout.partitions:
        lines.append("  <partitions>")
        for p in layout.partitions:
            pa = [("name", p.name), ("size", str(p.size_mb))]
            for name in ("mountpoint", "filesystem", "partition_name", "partition_type", "label"):
                value = getattr(p, name)
                if value is not None:
                    pa.append((name, value))
            if p.clone:
                pa.append(("clone", str(p.clone)))
            if p.part_id is not None:
                pa.append(("part_id", str(p.part_id)))
            lines.append("    <partition " + " ".join(f"{k}={quoteattr(v)}" for k, v in pa) + "/>")
        lines.append("  </partitions>")
    oem: list[str] = []
    if layout.oem_resize is not None:
        oem.append(f"<oem-resize>{_b(layout.oem_resize)}</oem-resize>")
    if layout.oem_swap is not None:
        oem.append(f"<oem-swap>{_b(layout.oem_swap)}</oem-swap>")
    if layout.oem_swapsize is not None:
        oem.append(f"<oem-swapsize>{layout.oem_swapsize}</oem-swapsize>")
    if layout.oem_swapname is not None:
        oem.append(f"<oem-swapname>{layout.oem_swapname}</oem-swapname>")
    if layout.oem_systemsize is not None:
        oem.append(f"<oem-systemsize>{layout.oem_systemsize}</oem-systemsize>")
    if oem:
        lines.append("  <oemconfig>" + "".join(oem) + "</oemconfig>")
    if layout.size_mb is not None:
        extra = ""
        if layout.size_additive is not None:
            extra += f' additive="{_b(layout.size_additive)}"'
        if layout.unpartitioned_mb is not None:
            extra += f' unpartitioned="{layout.unpartitioned_mb}"'
        lines.append(f'  <size unit="M"{extra}>{layout.size_mb}</size>')
    if layout.systemdisk is not None:
        sd = layout.systemdisk
        sattrs = ""
        if sd.name:
            sattrs += f" name={quoteattr(sd.name)}"
        if sd.preferlvm is not None:
            sattrs += f' preferlvm="{_b(sd.preferlvm)}"'
        lines.append(f"  <systemdisk{sattrs}>")
        for v in sd.volumes:
            size = ' size="all"' if v.all_free else ""
            if v.size_mb is not None:
                size = f' size="{v.size_mb}M"'
            elif v.freespace_mb is not None:
                size = f' freespace="{v.freespace_mb}M"'
            mp = f" mountpoint={quoteattr(v.mountpoint)}" if v.mountpoint else ""
            label = f" label={quoteattr(v.label)}" if v.label else ""
            lines.append(f"    <volume name={quoteattr(v.name)}{size}{mp}{label}/>")
        lines.append("  </systemdisk>")
    lines.append("</type>")
    return "\n".join(lines)


def image_xml(layout: Layout) -> str:
    body = "\n".join("    " + line for line in type_xml(layout).splitlines())
    return f"""<?xml version="1.0" encoding="utf-8"?>
<image schemaversion="8.5" name="oracle-test">
  <description type="system">
    <author>partwright</author>
    <contact>partwright@example.invalid</contact>
    <specification>differential test</specification>
  </description>
  <preferences>
    <version>1.0.0</version>
    <packagemanager>zypper</packagemanager>
{body}
  </preferences>
</image>
"""
