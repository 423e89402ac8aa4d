"""Export a Layout as a complete KIWI description (or just its `<type>`).

`export(layout)` writes a pretty-printed `<image schemaversion="8.5">` that
KIWI's own schema and schematron accept: the `<description>` KIWI requires,
`<preferences>` with `<version>`, `<packagemanager>` and the `<type>`, and a
repository and package lists that are placeholders, each marked with a comment
saying to replace it. `type_only=True` writes just the `<type>` element, for
pasting into an existing description.

With `base` (a Description, e.g. a bare `<type>` read from a file), the
`<type>` is the base's own, with the layout applied: attributes and children
partwright does not model (kernelcmdline, `<bootloader>`, ...) are kept.

Before anything is written, partition names KIWI rejects (reserved
substrings, names that make invalid shell variables in /config.partids,
`partition_name` over 32 characters or outside `[a-zA-Z0-9_.-]`, duplicates)
and values KIWI would refuse raise a one-line DescriptionError.
"""

from __future__ import annotations

import copy
import re
from dataclasses import replace

from lxml import etree

from engine.errors import DescriptionError
from engine.kiwi.read import Description, check_unique_names, loads
from engine.kiwi.schema import (
    OEM_ELEMENTS,
    PARTITION_ATTRS,
    TYPE_ATTRS,
    VOLUME_ATTRS,
    format_value,
    shown,
)
from engine.kiwi.validate import name_problems, refuse, value_problems
from engine.kiwi.write import to_bytes
from engine.layout.model import Layout

IMAGE_NAME_RE = re.compile(r"^[a-zA-Z0-9_.-]+$")
INDENT = "    "
PLACEHOLDER_REPO = "obs://openSUSE:Leap:15.6/standard"
PLACEHOLDER_PACKAGES = ("patterns-base-minimal_base", "kernel-default", "grub2", "dracut-kiwi-oem-repart")
PLACEHOLDER_BOOTSTRAP = ("filesystem", "glibc-locale")


def check_exportable(layout: Layout, source: str = "export") -> None:
    """Refuse (DescriptionError, one line) a layout KIWI would not accept."""
    problems = name_problems(layout) + value_problems(layout)
    if layout.image != "oem":
        problems.append(f"<type> image={shown(layout.image)}: partwright exports oem disk layouts")
    if not layout.filesystem:
        problems.append("<type> filesystem: not set; KIWI requires it for an oem image")
    refuse(source, problems)


def type_element(layout: Layout) -> etree._Element:
    """A new `<type>` element holding `layout` (no whitespace; pretty-print later)."""
    el = etree.Element("type", image=layout.image)
    for spec in TYPE_ATTRS:
        value = getattr(layout, spec.field)
        if value is None or (spec.kind == "count" and value == 0):
            continue
        el.set(spec.xml, format_value(spec, value))
    if layout.partitions:
        box = etree.SubElement(el, "partitions")
        for part in layout.partitions:
            p = etree.SubElement(box, "partition")
            for spec in PARTITION_ATTRS:
                value = getattr(part, spec.field)
                if value is not None and not (spec.kind == "count" and value == 0):
                    p.set(spec.xml, format_value(spec, value))
    oem = [(s, getattr(layout, s.field)) for s in OEM_ELEMENTS if getattr(layout, s.field) is not None]
    if oem:
        box = etree.SubElement(el, "oemconfig")
        for spec, value in oem:
            etree.SubElement(box, spec.xml).text = format_value(spec, value)
    if layout.size_mb is not None:
        whole = layout.size_mb % 1024 == 0 and (layout.unpartitioned_mb or 0) % 1024 == 0 and layout.size_mb
        factor = 1024 if whole else 1
        size = etree.SubElement(el, "size", unit="G" if whole else "M")
        if layout.size_additive is not None:
            size.set("additive", "true" if layout.size_additive else "false")
        if layout.unpartitioned_mb is not None:
            size.set("unpartitioned", str(layout.unpartitioned_mb // factor))
        size.text = str(layout.size_mb // factor)
    if layout.systemdisk is not None:
        sd = layout.systemdisk
        box = etree.SubElement(el, "systemdisk")
        if sd.name is not None:
            box.set("name", sd.name)
        if sd.preferlvm is not None:
            box.set("preferlvm", "true" if sd.preferlvm else "false")
        for vol in sd.volumes:
            v = etree.SubElement(box, "volume", name=vol.name)
            if vol.all_free:
                v.set("size", "all")
            elif vol.size_mb is not None:
                v.set("size", str(vol.size_mb))
            if vol.freespace_mb is not None:
                v.set("freespace", str(vol.freespace_mb))
            for spec in VOLUME_ATTRS[3:]:
                value = getattr(vol, spec.field)
                if value is not None:
                    v.set(spec.xml, str(value))
    return el


def _base_type(base: Description, layout: Layout) -> etree._Element:
    """The base description's own `<type>`, with `layout` applied."""
    data = to_bytes(base, layout)
    index = None if base.bare else base.type_index
    return copy.deepcopy(loads(data, source=base.source, type_index=index).type_element)


def _strip_whitespace(el: etree._Element) -> None:
    for node in el.iter():
        if node is not el and node.tail is not None and not node.tail.strip():
            node.tail = None
        if len(node) and node.text is not None and not node.text.strip():
            node.text = None


def _serialise(el: etree._Element) -> str:
    etree.indent(el, space=INDENT)
    return etree.tostring(el, encoding="unicode") + "\n"


def export(
    layout: Layout,
    *,
    name: str = "partwright-image",
    type_only: bool = False,
    base: Description | None = None,
    source: str = "export",
) -> bytes:
    """A complete KIWI description (UTF-8) holding `layout` (see the module
    docstring); a refusal names `source` (the file that would be written)."""
    check_exportable(layout, source)
    if not IMAGE_NAME_RE.match(name):
        raise DescriptionError(f"export: image name {shown(name)} may hold only letters, digits, '_', '.' and '-'")
    typ = _base_type(base, layout) if base is not None else type_element(layout)
    _strip_whitespace(typ)
    typ.tail = None
    if type_only:
        return _serialise(typ).encode("utf-8")

    image = etree.Element("image", schemaversion="8.5", name=name)
    desc = etree.SubElement(image, "description", type="system")
    etree.SubElement(desc, "author").text = "partwright"
    etree.SubElement(desc, "contact").text = "nobody@example.invalid"
    etree.SubElement(desc, "specification").text = f"{name}: disk layout designed with partwright"
    prefs = etree.SubElement(image, "preferences")
    etree.SubElement(prefs, "version").text = "1.0.0"
    etree.SubElement(prefs, "packagemanager").text = "zypper"
    prefs.append(typ)
    image.append(etree.Comment(
        " PLACEHOLDER: replace this repository with your distribution's package source "
    ))
    repo = etree.SubElement(image, "repository", type="rpm-md")
    etree.SubElement(repo, "source", path=PLACEHOLDER_REPO)
    image.append(etree.Comment(" PLACEHOLDER: replace these packages with the ones your image needs "))
    packages = etree.SubElement(image, "packages", type="image")
    for pkg in PLACEHOLDER_PACKAGES:
        etree.SubElement(packages, "package", name=pkg)
    bootstrap = etree.SubElement(image, "packages", type="bootstrap")
    for pkg in PLACEHOLDER_BOOTSTRAP:
        etree.SubElement(bootstrap, "package", name=pkg)
    head = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        "<!-- Written by partwright. The disk layout is in <type>; the repository and\n"
        "     packages below are placeholders: replace them before building. -->\n"
    )
    return (head + _serialise(image)).encode("utf-8")


def description_bytes(desc: Description, layout: Layout, *, name: str = "partwright-image",
                      type_only: bool = False, upgrade: bool = False,
                      target: str | None = None) -> bytes:
    """What exporting `layout` from `desc` writes: a full `<image>` keeps its
    document, the layout applied losslessly (names checked first); a bare
    `<type>` (or `type_only`) becomes a complete description around the type
    (or just the type). A refusal names `target`, the file not written (by
    default the description's own)."""
    if len({p.name for p in layout.partitions}) < len(layout.partitions):
        check_unique_names(desc)  # says where the description names one twice
    if target is not None:
        desc = replace(desc, source=target)
    if desc.bare or type_only:
        return export(layout, name=name, type_only=type_only, base=desc,
                      source="export" if target is None else target)
    refuse(desc.source, name_problems(layout))
    return to_bytes(desc, layout, upgrade=upgrade)
