"""Edit a Layout with `KEY=VALUE` assignments (`partwright export --set`).

Keys are KIWI's own names:
  root_clone=2, firmware=efi, spare_part=2G ...   a `<type>` attribute
  oem-systemsize=4096 (or oem_systemsize)         an `<oemconfig>` child
  size=50G, size.additive=true, size.unpartitioned=1G
  partition.NAME.ATTR=VALUE                       a `<partition>` attribute;
      partition.NAME.size=N creates the partition when there is none
  partition.NAME=                                 removes the partition
  systemdisk.name=VG, systemdisk.preferlvm=true, systemdisk=   (removes it)
  volume.NAME.ATTR=VALUE, volume.NAME=            `<systemdisk>` volumes
An empty VALUE unsets the attribute (a clone count becomes 0). Values follow
the same rules as when they are read from a file; a bad key or value raises
a one-line DescriptionError.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from engine.errors import DescriptionError
from engine.kiwi.schema import (
    OEM_BY_XML,
    PARTITION_ATTR_BY_XML,
    TYPE_ATTR_BY_XML,
    VOLUME_ATTR_BY_XML,
    Spec,
    ValueProblem,
    parse_bool,
    parse_size_mb,
    parse_value,
    shown,
)
from engine.layout.model import Layout, Partition, SystemDisk, Volume

KEY_FORMS = (
    "a <type> attribute (root_clone, firmware, ...), oem-systemsize and the other <oemconfig> children,"
    " size, size.additive, size.unpartitioned, partition.NAME.ATTR, systemdisk.name,"
    " systemdisk.preferlvm, volume.NAME.ATTR"
)


def _value(spec: Spec, key: str, text: str) -> object:
    if text == "":
        if spec.required:
            raise DescriptionError(f"--set {key}=: {spec.xml} cannot be unset")
        return 0 if spec.kind == "count" else None
    try:
        return parse_value(spec, text)
    except ValueProblem as exc:
        shown_text = "..." if spec.kind == "secret" else text
        problem = "not valid" if spec.kind == "secret" else str(exc)
        raise DescriptionError(f"--set {key}={shown_text}: {problem}") from None


def _size_key(layout: Layout, key: str, text: str) -> Layout:
    try:
        if key == "size":
            return replace(layout, size_mb=None if text == "" else parse_size_mb(text))
        if key == "size.additive":
            return replace(layout, size_additive=None if text == "" else parse_bool(text))
        return replace(layout, unpartitioned_mb=None if text == "" else parse_size_mb(text))
    except ValueProblem as exc:
        raise DescriptionError(f"--set {key}={text}: {exc}") from None


def _partition(layout: Layout, key: str, name: str, attr: str | None, text: str) -> Layout:
    part = layout.partition(name)
    if attr is None:
        if text != "":
            raise DescriptionError(f"--set {key}={text}: give an attribute (partition.{name}.size=...) or an empty value to remove it")
        if part is None:
            raise DescriptionError(f"--set {key}=: there is no partition {shown(name)}")
        return replace(layout, partitions=tuple(p for p in layout.partitions if p.name != name))
    spec = PARTITION_ATTR_BY_XML.get(attr)
    if spec is None:
        known = ", ".join(PARTITION_ATTR_BY_XML)
        raise DescriptionError(f"--set {key}: unknown partition attribute {shown(attr)} (known: {known})")
    value = _value(spec, key, text)
    if part is None:
        if attr != "size":
            raise DescriptionError(f"--set {key}: there is no partition {shown(name)}; create it with partition.{name}.size=N")
        return replace(layout, partitions=(*layout.partitions, Partition(name=name, size_mb=int(str(value)))))
    return layout.with_partition(name, **{spec.field: value})


def _volume(layout: Layout, key: str, name: str, attr: str | None, text: str) -> Layout:
    disk = layout.systemdisk or SystemDisk()
    vols = list(disk.volumes)
    index = next((i for i, v in enumerate(vols) if v.name == name), None)
    if attr is None:
        if text != "" or index is None:
            raise DescriptionError(f"--set {key}={text}: give an attribute, or an empty value to remove an existing volume")
        del vols[index]
        return replace(layout, systemdisk=replace(disk, volumes=tuple(vols)))
    spec = VOLUME_ATTR_BY_XML.get(attr)
    if spec is None:
        raise DescriptionError(f"--set {key}: unknown volume attribute {shown(attr)} (known: {', '.join(VOLUME_ATTR_BY_XML)})")
    value = _value(spec, key, text)
    vol = vols[index] if index is not None else Volume(name=name)
    if spec.kind == "vsize":
        is_all = text.strip() == "all"
        if attr == "size":
            vol = replace(vol, size_mb=None if is_all else value, all_free=is_all)  # type: ignore[arg-type]
        else:
            vol = replace(vol, freespace_mb=None if is_all else value, all_free=is_all or vol.all_free)  # type: ignore[arg-type]
    else:
        vol = replace(vol, **{spec.field: value})  # type: ignore[arg-type]
    if index is None:
        vols.append(vol)
    else:
        vols[index] = vol
    return replace(layout, systemdisk=replace(disk, volumes=tuple(vols)))


def apply_set(layout: Layout, assignment: str) -> Layout:
    """The layout with one `KEY=VALUE` assignment applied."""
    key, eq, text = assignment.partition("=")
    key = key.strip()
    if not eq or not key:
        raise DescriptionError(f"--set {shown(assignment)}: expected KEY=VALUE")
    if key in TYPE_ATTR_BY_XML:
        spec = TYPE_ATTR_BY_XML[key]
        return layout.with_changes(**{spec.field: _value(spec, key, text)})
    oem = OEM_BY_XML.get(key) or OEM_BY_XML.get(key.replace("_", "-"))
    if oem is not None:
        return layout.with_changes(**{oem.field: _value(oem, key, text)})
    if key in ("size", "size.additive", "size.unpartitioned"):
        return _size_key(layout, key, text)
    parts = key.split(".")
    if parts[0] == "partition" and len(parts) in (2, 3) and parts[1]:
        return _partition(layout, key, parts[1], parts[2] if len(parts) == 3 else None, text)
    if parts[0] == "volume" and len(parts) in (2, 3) and parts[1]:
        return _volume(layout, key, parts[1], parts[2] if len(parts) == 3 else None, text)
    if key == "systemdisk":
        if text != "":
            raise DescriptionError(f"--set systemdisk={text}: only an empty value (remove <systemdisk>) is allowed")
        return replace(layout, systemdisk=None)
    if key in ("systemdisk.name", "systemdisk.preferlvm"):
        disk = layout.systemdisk or SystemDisk()
        if key == "systemdisk.name":
            return replace(layout, systemdisk=replace(disk, name=text or None))
        try:
            return replace(layout, systemdisk=replace(disk, preferlvm=None if text == "" else parse_bool(text)))
        except ValueProblem as exc:
            raise DescriptionError(f"--set {key}={text}: {exc}") from None
    raise DescriptionError(f"--set {shown(key)}: unknown attribute; use {KEY_FORMS}")


def apply_sets(layout: Layout, assignments: Sequence[str]) -> Layout:
    """The layout with every assignment applied, in order."""
    for assignment in assignments:
        layout = apply_set(layout, assignment)
    return layout
