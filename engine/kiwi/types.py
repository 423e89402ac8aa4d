"""Which `<type>` of a description is read: KIWI's choice among profiles.

As KIWI does, the `<type>` sections of the `<preferences>` that apply (those
without a `profiles` attribute, plus those of `profile` when one is given, or
of the profiles marked `import="true"`), and among their `<type image="oem">`
the one marked `primary="true"`, else the first. Without a profile, when no
such section holds an oem type, the first oem type of the document is taken
(whatever its profile). A type index picks a type by its position among all
`<type>` elements, as `type_infos` numbers them.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from engine.errors import DescriptionError
from engine.kiwi._xml import bad, line_of, plain_children
from engine.kiwi.schema import shown


@dataclass(frozen=True)
class TypeInfo:
    """One `<type>` of a description, as `--list-types` shows it."""

    index: int
    image: str
    profiles: tuple[str, ...]  # () for a section that applies to every profile
    primary: bool
    line: int
    chosen: bool = False


def type_infos(root: etree._Element, chosen: etree._Element | None, source: str) -> list[TypeInfo]:
    """Every `<type>` of the document `root`, in document order, `chosen` marked."""
    if root.tag == "type":
        return [TypeInfo(0, root.get("image", ""), (), _is_primary(root), line_of(root), True)]
    if root.tag != "image":
        raise bad(source, root, "root element", "not a KIWI description; expected <image> or <type>")
    return [
        TypeInfo(i, t.get("image", ""), profiles, _is_primary(t), line_of(t), t is chosen)
        for i, (t, profiles) in enumerate(_all_types(root))
    ]


def _profiles_of(section: etree._Element) -> tuple[str, ...]:
    names = section.get("profiles")
    if not names:
        return ()
    return tuple(n.strip() for n in names.split(",") if n.strip())


def _all_types(root: etree._Element) -> list[tuple[etree._Element, tuple[str, ...]]]:
    found: list[tuple[etree._Element, tuple[str, ...]]] = []
    for section in plain_children(root):
        if section.tag != "preferences":
            continue
        profiles = _profiles_of(section)
        found.extend((t, profiles) for t in plain_children(section) if t.tag == "type")
    return found


def _is_primary(el: etree._Element) -> bool:
    return (el.get("primary") or "").strip() in ("true", "1")


def _defined_profiles(root: etree._Element) -> tuple[list[str], list[str]]:
    """(all profile names, names with import="true")."""
    names: list[str] = []
    imported: list[str] = []
    for section in plain_children(root):
        if section.tag != "profiles":
            continue
        for profile in plain_children(section):
            if profile.tag == "profile" and profile.get("name"):
                name = profile.get("name", "")
                names.append(name)
                if (profile.get("import") or "").strip() in ("true", "1"):
                    imported.append(name)
    return names, imported


def choose_type(
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
            raise bad(source, el, f"type #{type_index}", f"image={shown(el.get('image'))} is not oem; partwright designs oem disk layouts")
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
