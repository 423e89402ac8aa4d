"""Read a KIWI description into a Layout.

`load(path)` / `loads(data)` accept a full `<image>` description or a bare
`<type>` element (the form the KIWI documentation uses). From a full
description the reader takes, as KIWI does, the `<type>` sections of the
`<preferences>` that apply (those without a `profiles` attribute, plus those of
`profile` when one is given, or of the profiles marked `import="true"`), and
among their `<type image="oem">` the one marked `primary="true"`, else the
first. Without a profile, when no such section holds an oem type, the first
oem type of the document is taken (whatever its profile). `type_index` picks a
type by its position among all `<type>` elements, as `list_types` numbers them.

Parsing is safe: no network, no DTD loading, no entity expansion. Every
problem raises DescriptionError with one line naming the file and line (and
the column for XML syntax errors), and the attribute or element concerned. The
luks passphrase never appears in a message or a repr.

The `Description` keeps the original bytes and the parsed document, so
engine.kiwi.write can write a changed Layout back losslessly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from engine.errors import DescriptionError
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
from engine.layout.model import ARCHES, Layout, Partition, SystemDisk, Volume

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
        return None if self.source.startswith("<") else Path(self.source)

    @property
    def type_line(self) -> int:
        return _line(self.type_element)


@dataclass(frozen=True)
class TypeInfo:
    """One `<type>` of a description, as `--list-types` shows it."""

    index: int
    image: str
    profiles: tuple[str, ...]  # () for a section that applies to every profile
    primary: bool
    line: int
    chosen: bool = False


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        remove_blank_text=False,
        remove_comments=False,
        remove_pis=False,
        strip_cdata=False,
        huge_tree=False,
        collect_ids=False,
    )


def _to_bytes(data: str | bytes) -> bytes:
    if isinstance(data, bytes):
        return data
    match = re.match(r"""\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""", data)
    if match:
        try:
            return data.encode(match.group(1), errors="xmlcharrefreplace")
        except LookupError:
            pass
    return data.encode("utf-8")


def parse_document(raw: bytes, source: str) -> etree._ElementTree:
    """Parse with lxml, safely; syntax errors become one-line DescriptionErrors."""
    try:
        root = etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (exc.lineno or 0, 0)
        msg = (exc.msg or "not well-formed").splitlines()[0]
        msg = re.sub(r",? line \d+, column \d+$", "", msg).strip()
        raise DescriptionError(f"{source}:{line}:{column}: not well-formed XML: {msg}") from None
    except ValueError as exc:
        raise DescriptionError(f"{source}: not readable as XML: {exc}") from None
    if root is None:
        raise DescriptionError(f"{source}:1:1: not well-formed XML: the document is empty")
    return root.getroottree()


def _line(el: etree._Element) -> int:
    """The element's line (lxml-stubs type sourceline loosely)."""
    line = getattr(el, "sourceline", None)
    return int(line) if line else 0


def _where(source: str, el: etree._Element) -> str:
    return f"{source}:{_line(el)}"


def _bad(source: str, el: etree._Element, what: str, problem: str) -> DescriptionError:
    return DescriptionError(f"{_where(source, el)}: {what}: {problem}")


def _plain_children(el: etree._Element) -> list[etree._Element]:
    """Element children in no namespace (comments, PIs and foreign elements left out)."""
    return [c for c in el if isinstance(c.tag, str) and not c.tag.startswith("{")]


def element_text(el: etree._Element, source: str) -> str:
    """The text of a simple element (comments and PIs inside are skipped)."""
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str):
            raise _bad(source, child, f"<{el.tag}>", f"unexpected element <{child.tag}> inside")
        parts.append(child.tail or "")
    return "".join(parts)


def _profiles_of(section: etree._Element) -> tuple[str, ...]:
    names = section.get("profiles")
    if not names:
        return ()
    return tuple(n.strip() for n in names.split(",") if n.strip())


def _all_types(root: etree._Element) -> list[tuple[etree._Element, tuple[str, ...]]]:
    found: list[tuple[etree._Element, tuple[str, ...]]] = []
    for section in _plain_children(root):
        if section.tag != "preferences":
            continue
        profiles = _profiles_of(section)
        found.extend((t, profiles) for t in _plain_children(section) if t.tag == "type")
    return found


def _is_primary(el: etree._Element) -> bool:
    return (el.get("primary") or "").strip() in ("true", "1")


def _defined_profiles(root: etree._Element) -> tuple[list[str], list[str]]:
    """(all profile names, names with import="true")."""
    names: list[str] = []
    imported: list[str] = []
    for section in _plain_children(root):
        if section.tag != "profiles":
            continue
        for profile in _plain_children(section):
            if profile.tag == "profile" and profile.get("name"):
                name = profile.get("name", "")
                names.append(name)
                if (profile.get("import") or "").strip() in ("true", "1"):
                    imported.append(name)
    return names, imported


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
            try:
                raw = Path(desc).read_bytes()
            except OSError as exc:
                raise DescriptionError(f"{desc}: cannot read: {exc.strerror or exc}") from None
        root = parse_document(raw, source).getroot()
        chosen = None
        if root.tag == "image":
            try:
                chosen = _choose_type(root, source, profile, None)[0]
            except DescriptionError:
                chosen = None
    if root.tag == "type":
        return [TypeInfo(0, root.get("image", ""), (), _is_primary(root), _line(root), True)]
    if root.tag != "image":
        raise _bad(source, root, "root element", "not a KIWI description; expected <image> or <type>")
    return [
        TypeInfo(i, t.get("image", ""), profiles, _is_primary(t), _line(t), t is chosen)
        for i, (t, profiles) in enumerate(_all_types(root))
    ]


def _choose_type(
    root: etree._Element, source: str, profile: str | None, type_index: int | None
) -> tuple[etree._Element, int, tuple[str, ...]]:
    types = _all_types(root)
    if not types:
        raise DescriptionError(f"{source}: no <type> element in any <preferences> section")
    kinds = ", ".join(sorted({t.get("image", "?") for t, _ in types}))
    if type_index is not None:
        if not 0 <= type_index < len(types):
            raise DescriptionError(
                f"{source}: there is no type #{type_index}; the description has {len(types)} (0-{len(types) - 1})"
            )
        el, profiles = types[type_index]
        if el.get("image") != "oem":
            raise _bad(source, el, f"type #{type_index}", f"image={shown(el.get('image'))} is not oem; partwright designs oem disk layouts")
        return el, type_index, profiles
    defined, imported = _defined_profiles(root)
    if profile is not None:
        known = set(defined) | {p for _, ps in types for p in ps}
        if profile not in known:
            names = ", ".join(sorted(known)) or "none"
            raise DescriptionError(f"{source}: no profile {shown(profile)} (profiles: {names})")
        wanted = {profile}
    else:
        wanted = set(imported)
    candidates = [
        (i, t, ps) for i, (t, ps) in enumerate(types) if t.get("image") == "oem" and (not ps or wanted & set(ps))
    ]
    if not candidates and profile is None:
        candidates = [(i, t, ps) for i, (t, ps) in enumerate(types) if t.get("image") == "oem"]
    if not candidates:
        scope = f" for profile '{profile}'" if profile is not None else ""
        raise DescriptionError(
            f"{source}: no <type image=\"oem\">{scope} (types: {kinds}); partwright designs oem disk layouts"
        )
    primary = [c for c in candidates if _is_primary(c[1])]
    i, el, profiles = (primary or candidates)[0]
    return el, i, profiles


def _attr(spec: Spec, el: etree._Element, source: str, what: str) -> object:
    text = el.get(spec.xml)
    if text is None:
        if spec.required:
            raise _bad(source, el, what, f"the {spec.xml} attribute is missing")
        return 0 if spec.kind == "count" else None
    try:
        return parse_value(spec, text)
    except ValueProblem as exc:
        problem = "not valid" if spec.kind == "secret" else str(exc)
        raise _bad(source, el, f"{what} {spec.xml}", problem) from None


def _single_children(type_el: etree._Element, source: str) -> dict[str, etree._Element]:
    seen: dict[str, etree._Element] = {}
    for child in _plain_children(type_el):
        if child.tag in LAYOUT_CHILDREN:
            if child.tag in seen:
                raise _bad(
                    source, child, f"<{child.tag}>",
                    f"a second <{child.tag}> in <type> (the first is at line {_line(seen[child.tag])}); KIWI allows one",
                )
            seen[str(child.tag)] = child
    return seen


def _read_partitions(el: etree._Element, source: str) -> tuple[Partition, ...]:
    parts: list[Partition] = []
    lines: dict[str, int] = {}
    for child in _plain_children(el):
        if child.tag != "partition":
            raise _bad(source, child, "<partitions>", f"unexpected element <{child.tag}>; only <partition> belongs here")
        name = child.get("name")
        what = f"<partition name={shown(name)}>" if name is not None else "<partition>"
        values = {spec.field: _attr(spec, child, source, what) for spec in PARTITION_ATTRS}
        pname = str(values["name"])
        if pname in lines:
            raise _bad(source, child, what, f"duplicate partition name (also at line {lines[pname]})")
        lines[pname] = _line(child)
        parts.append(Partition(**values))  # type: ignore[arg-type]
    if not parts:
        raise _bad(source, el, "<partitions>", "holds no <partition>; KIWI needs at least one")
    return tuple(parts)


def _read_oemconfig(el: etree._Element, source: str) -> dict[str, object]:
    values: dict[str, object] = {}
    lines: dict[str, int] = {}
    for child in _plain_children(el):
        spec = OEM_BY_XML.get(str(child.tag))
        if spec is None:
            continue
        if child.tag in lines:
            raise _bad(source, child, f"<{child.tag}>", f"given twice (also at line {lines[str(child.tag)]})")
        lines[str(child.tag)] = _line(child)
        try:
            values[spec.field] = parse_value(spec, element_text(child, source))
        except ValueProblem as exc:
            raise _bad(source, child, f"<{child.tag}>", str(exc)) from None
    return values


def _read_size(el: etree._Element, source: str) -> dict[str, object]:
    unit = el.get("unit")
    if unit is not None and unit.strip() not in ("M", "G"):
        raise _bad(source, el, "<size> unit", f"{shown(unit)} is not a unit KIWI knows; use M or G")
    factor = 1024 if unit is not None and unit.strip() == "G" else 1
    try:
        value = parse_uint(element_text(el, source))
    except ValueProblem as exc:
        raise _bad(source, el, "<size>", str(exc)) from None
    out: dict[str, object] = {"size_mb": value * factor}
    additive = el.get("additive")
    if additive is not None:
        try:
            out["size_additive"] = parse_bool(additive)
        except ValueProblem as exc:
            raise _bad(source, el, "<size> additive", str(exc)) from None
    unpartitioned = el.get("unpartitioned")
    if unpartitioned is not None:
        try:
            number = parse_uint(unpartitioned)
        except ValueProblem as exc:
            raise _bad(source, el, "<size> unpartitioned", str(exc)) from None
        if number > value:
            raise _bad(source, el, "<size> unpartitioned", f"{number} is larger than the size {value}; KIWI refuses it")
        out["unpartitioned_mb"] = number * factor
    return out


def _read_systemdisk(el: etree._Element, source: str) -> SystemDisk:
    preferlvm_text = el.get("preferlvm")
    try:
        preferlvm = None if preferlvm_text is None else parse_bool(preferlvm_text)
    except ValueProblem as exc:
        raise _bad(source, el, "<systemdisk> preferlvm", str(exc)) from None
    volumes: list[Volume] = []
    for child in _plain_children(el):
        if child.tag != "volume":
            raise _bad(source, child, "<systemdisk>", f"unexpected element <{child.tag}>; only <volume> belongs here")
        name = child.get("name")
        what = f"<volume name={shown(name)}>" if name is not None else "<volume>"
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
    raw = _to_bytes(data)
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
            raise _bad(source, root, "<type>", f"{found}; partwright designs oem disk layouts (image=\"oem\")")
        return Description(source, read_layout(root, source, arch), raw, doc, root, 0, (), True, None)
    if root.tag != "image":
        tag = root.tag if isinstance(root.tag, str) else "?"
        local = etree.QName(tag).localname if tag.startswith("{") else tag
        space = f" in namespace {etree.QName(tag).namespace}" if tag.startswith("{") else ""
        raise _bad(source, root, "root element", f"<{local}>{space} is not a KIWI description; expected <image> or <type>")
    type_el, index, profiles = _choose_type(root, source, profile, type_index)
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
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DescriptionError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return loads(raw, source=str(path), profile=profile, type_index=type_index, arch=arch)
