"""Read a KIWI description into a Layout.

`load(path)` / `loads(data)` accept a full `<image>` description or a bare
`<type>` element (the form the KIWI documentation uses). From a full
description the reader takes the `<type>` KIWI would build
(engine.kiwi.types: profiles, `primary`, the first oem type); `type_index`
picks a type by its position among all `<type>` elements, as `list_types`
numbers them.

Parsing is safe and bounded (engine.kiwi._xml: no network, no DTD, no entity
expansion, no file over 64 MiB). Every problem raises DescriptionError with
one line naming the file and line (and the column for XML syntax errors), and
the attribute or element concerned. The luks passphrase never appears in a
message or a repr.

The `Description` keeps the original bytes and the parsed document, so
engine.kiwi.write can write a changed Layout back losslessly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lxml import etree

from engine.errors import DescriptionError
from engine.kiwi._xml import (
    as_bytes,
    bad,
    element_text,
    line_of,
    parse_document,
    plain_children,
    read_bounded,
)
from engine.kiwi.schema import (
    OEM_BY_XML,
    PARTITION_ATTRS,
    TYPE_ATTRS,
    VOLUME_ATTRS,
    Spec,
    ValueProblem,
    parse_bool,
    parse_uint,
    parse_value,
    shown,
)
from engine.kiwi.types import TypeInfo, choose_type, type_infos
from engine.layout.model import ARCHES, Layout, Partition, SystemDisk, Volume

if TYPE_CHECKING:  # pathlib costs a reading process milliseconds (urllib.parse, ipaddress)
    from pathlib import Path

__all__ = ["Description", "TypeInfo", "check_unique_names", "list_types", "load", "loads", "read_layout"]

# the <type> children that shape the layout; KIWI allows each at most once
LAYOUT_CHILDREN: tuple[str, ...] = ("partitions", "oemconfig", "size", "systemdisk")


@dataclass(frozen=True, eq=False)
class Description:
    """A parsed KIWI description and the Layout of its chosen `<type>`."""

    source: str  # the path, or "<string>"
    layout: Layout
    raw: bytes = field(repr=False)  # the document as read, for lossless writing
    doc: etree._ElementTree = field(repr=False)
    type_element: etree._Element = field(repr=False)
    type_index: int  # position among all <type> elements (0 for a bare <type>)
    profiles: tuple[str, ...] = ()  # profiles of the chosen type's <preferences>
    bare: bool = False  # the document is a bare <type> element
    schemaversion: str | None = None  # <image schemaversion>, None for a bare <type>

    @property
    def path(self) -> Path | None:
        from pathlib import Path

        return None if self.source.startswith("<") else Path(self.source)


def list_types(desc: Description | str | Path | bytes, *, profile: str | None = None) -> list[TypeInfo]:
    """Every `<type>` of a description, in document order, the chosen one
    marked. `desc` is a loaded Description, a path, or the document's bytes;
    given a path or bytes, a description without any oem type is listed too
    (nothing is then marked chosen)."""
    if isinstance(desc, Description):
        root, chosen, source = desc.doc.getroot(), desc.type_element, desc.source
    else:
        source = "<bytes>" if isinstance(desc, bytes) else str(desc)
        if isinstance(desc, bytes):
            raw = desc
        else:
            raw = read_bounded(desc)
        root = parse_document(raw, source).getroot()
        chosen = None
        if root.tag == "image":
            try:
                chosen = choose_type(root, source, profile, None)[0]
            except DescriptionError:
                chosen = None
    return type_infos(root, chosen, source)


def _attr(spec: Spec, el: etree._Element, source: str, what: str) -> object:
    text = el.get(spec.xml)
    if text is None:
        if spec.required:
            raise bad(source, el, what, f"the {spec.xml} attribute is missing")
        return 0 if spec.kind == "count" else None
    try:
        return parse_value(spec, text)
    except ValueProblem as exc:
        problem = "not valid" if spec.kind == "secret" else str(exc)
        raise bad(source, el, f"{what} {spec.xml}", problem) from None


def _single_children(type_el: etree._Element, source: str) -> dict[str, etree._Element]:
    seen: dict[str, etree._Element] = {}
    for child in plain_children(type_el):
        if child.tag in LAYOUT_CHILDREN:
            if child.tag in seen:
                raise bad(
                    source, child, f"<{child.tag}>",
                    f"a second <{child.tag}> in <type> (the first is at line {line_of(seen[child.tag])}); KIWI allows one",
                )
            seen[str(child.tag)] = child
    return seen


def _named_children(el: etree._Element, tag: str, parent: str,
                    source: str) -> Iterator[tuple[etree._Element, str]]:
    """Each <tag> child of `el` with how a message names it; any other element is refused."""
    for child in plain_children(el):
        if child.tag != tag:
            raise bad(source, child, parent, f"unexpected element <{child.tag}>; only <{tag}> belongs here")
        name = child.get("name")
        yield child, f"<{tag} name={shown(name)}>" if name is not None else f"<{tag}>"


def _read_partitions(el: etree._Element, source: str) -> tuple[Partition, ...]:
    # a name given twice is read as given: KIWI keeps one partition for it
    # (the planner plans that and says so), the writer refuses to write it
    parts: list[Partition] = []
    for child, what in _named_children(el, "partition", "<partitions>", source):
        values = {spec.field: _attr(spec, child, source, what) for spec in PARTITION_ATTRS}
        parts.append(Partition(**values))  # type: ignore[arg-type]
    if not parts:
        raise bad(source, el, "<partitions>", "holds no <partition>; KIWI needs at least one")
    return tuple(parts)


def _read_oemconfig(el: etree._Element, source: str) -> dict[str, object]:
    values: dict[str, object] = {}
    lines: dict[str, int] = {}
    for child in plain_children(el):
        spec = OEM_BY_XML.get(str(child.tag))
        if spec is None:
            continue
        if child.tag in lines:
            raise bad(source, child, f"<{child.tag}>", f"given twice (also at line {lines[str(child.tag)]})")
        lines[str(child.tag)] = line_of(child)
        try:
            values[spec.field] = parse_value(spec, element_text(child, source))
        except ValueProblem as exc:
            raise bad(source, child, f"<{child.tag}>", str(exc)) from None
    return values


def _read_size(el: etree._Element, source: str) -> dict[str, object]:
    unit = el.get("unit")
    if unit is not None and unit.strip() not in ("M", "G"):
        raise bad(source, el, "<size> unit", f"{shown(unit)} is not a unit KIWI knows; use M or G")
    factor = 1024 if unit is not None and unit.strip() == "G" else 1
    try:
        value = parse_uint(element_text(el, source))
    except ValueProblem as exc:
        raise bad(source, el, "<size>", str(exc)) from None
    out: dict[str, object] = {"size_mb": value * factor}
    additive = el.get("additive")
    if additive is not None:
        try:
            out["size_additive"] = parse_bool(additive)
        except ValueProblem as exc:
            raise bad(source, el, "<size> additive", str(exc)) from None
    unpartitioned = el.get("unpartitioned")
    if unpartitioned is not None:
        try:
            number = parse_uint(unpartitioned)
        except ValueProblem as exc:
            raise bad(source, el, "<size> unpartitioned", str(exc)) from None
        if number > value:
            raise bad(source, el, "<size> unpartitioned", f"{number} is larger than the size {value}; KIWI refuses it")
        out["unpartitioned_mb"] = number * factor
    return out


def _read_systemdisk(el: etree._Element, source: str) -> SystemDisk:
    preferlvm_text = el.get("preferlvm")
    try:
        preferlvm = None if preferlvm_text is None else parse_bool(preferlvm_text)
    except ValueProblem as exc:
        raise bad(source, el, "<systemdisk> preferlvm", str(exc)) from None
    volumes: list[Volume] = []
    for child, what in _named_children(el, "volume", "<systemdisk>", source):
        values = {spec.xml: _attr(spec, child, source, what) for spec in VOLUME_ATTRS}
        size_text, free_text = child.get("size"), child.get("freespace")
        all_free = (size_text or "").strip() == "all" or (free_text or "").strip() == "all"
        volumes.append(
            Volume(
                name=str(values["name"]),
                size_mb=values["size"],  # type: ignore[arg-type]
                all_free=all_free,
                freespace_mb=values["freespace"],  # type: ignore[arg-type]
                mountpoint=values["mountpoint"],  # type: ignore[arg-type]
                label=values["label"],  # type: ignore[arg-type]
            )
        )
    return SystemDisk(name=el.get("name"), preferlvm=preferlvm, volumes=tuple(volumes))


def check_unique_names(desc: Description) -> None:
    """Refuse a description that names a `<partition>` twice (KIWI would keep
    one of them; the plan says so, but partwright writes no such description)."""
    lines: dict[str, int] = {}
    for el in desc.type_element.iter("partition"):
        name = el.get("name")
        if name is None:
            continue
        if name in lines:
            raise bad(desc.source, el, f"<partition name={shown(name)}>",
                      f"duplicate partition name (also at line {lines[name]})")
        lines[name] = line_of(el)


def read_layout(type_el: etree._Element, source: str, arch: str = "x86_64") -> Layout:
    """The Layout of one `<type>` element."""
    values: dict[str, object] = {"image": type_el.get("image", "oem"), "arch": arch}
    for spec in TYPE_ATTRS:
        values[spec.field] = _attr(spec, type_el, source, "<type>")
    children = _single_children(type_el, source)
    if "partitions" in children:
        values["partitions"] = _read_partitions(children["partitions"], source)
    if "oemconfig" in children:
        values.update(_read_oemconfig(children["oemconfig"], source))
    if "size" in children:
        values.update(_read_size(children["size"], source))
    if "systemdisk" in children:
        values["systemdisk"] = _read_systemdisk(children["systemdisk"], source)
    return Layout(**values)  # type: ignore[arg-type]


def loads(
    data: str | bytes,
    *,
    source: str = "<string>",
    profile: str | None = None,
    type_index: int | None = None,
    arch: str | None = None,
) -> Description:
    """Parse a description held in memory (see the module docstring)."""
    arch = arch or "x86_64"
    if arch not in ARCHES:
        raise DescriptionError(f"unknown architecture '{arch}' (known: {', '.join(ARCHES)})")
    raw = as_bytes(data)
    if not raw.strip():
        raise DescriptionError(f"{source}:1:1: not well-formed XML: the document is empty")
    doc = parse_document(raw, source)
    root = doc.getroot()
    if root.tag == "type":
        if profile is not None or type_index not in (None, 0):
            raise DescriptionError(f"{source}: a bare <type> has no profiles or other types to choose from")
        if root.get("image") != "oem":
            image = root.get("image")
            found = f"image={shown(image)}" if image is not None else "no image attribute"
            raise bad(source, root, "<type>", f"{found}; partwright designs oem disk layouts (image=\"oem\")")
        return Description(source, read_layout(root, source, arch), raw, doc, root, 0, (), True, None)
    if root.tag != "image":
        tag = root.tag if isinstance(root.tag, str) else "?"
        local = etree.QName(tag).localname if tag.startswith("{") else tag
        space = f" in namespace {etree.QName(tag).namespace}" if tag.startswith("{") else ""
        raise bad(source, root, "root element", f"<{local}>{space} is not a KIWI description; expected <image> or <type>")
    type_el, index, profiles = choose_type(root, source, profile, type_index)
    layout = read_layout(type_el, source, arch)
    return Description(source, layout, raw, doc, type_el, index, profiles, False, root.get("schemaversion"))


def load(
    path: str | Path,
    *,
    profile: str | None = None,
    type_index: int | None = None,
    arch: str | None = None,
) -> Description:
    """Read a description file (see the module docstring)."""
    raw = read_bounded(path)
    return loads(raw, source=str(path), profile=profile, type_index=type_index, arch=arch)
