"""Write a Layout back onto the description it came from, losslessly.

`to_bytes(desc, layout)` compares `desc.layout` with `layout` and edits only
the layout-bearing attributes and elements of the chosen `<type>` that
differ. The edits are made on the original text (engine.kiwi._text_scan says where
each element and attribute is), so everything else stays byte for byte:
comments, processing instructions, CDATA, the DOCTYPE, other `<type>`s and
profiles, element and attribute order, quotes, whitespace inside tags,
indentation, line endings (CRLF stays CRLF), the encoding and byte order mark,
and the XML declaration exactly as written. Saving an unchanged Layout gives
back the very bytes that were read; the XML declaration never differs.

- A changed value is written in place, in the attribute's own quotes. A size
  keeps the unit the user wrote when that unit still says the value exactly
  (`20G` -> `21G`, but `20G` -> `20000M` for 20000 MiB; `<size unit="G">`
  becomes `unit="M"` when the new size is not whole GiB).
- A new attribute goes after the last one, on its own line when the
  attributes are one per line. A new element (a `<partition>`, an
  `<oemconfig>` child, `<size>`) gets the indentation of its siblings, or its
  parent's plus the document's indentation step.
- A removed element takes its line with it.

`save(desc, layout, path)` writes atomically (a temporary file in the same
directory, fsync, rename): an error leaves the target as it was. A description
older than schemaversion 8.5 keeps its version unless `upgrade=True`, which
sets 8.5 and applies the renames of KIWI's own converters
(kiwi/xsl/convert*.xsl) to the whole document.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import fields, replace
from pathlib import Path

from engine.errors import DescriptionError
from engine.host.atomic import write_bytes
from engine.kiwi._text_edit import Editor, escape_attr, escape_text
from engine.kiwi.read import Description, loads
from engine.kiwi.schema import (
    OEM_ELEMENTS,
    PARTITION_ATTRS,
    TYPE_ATTRS,
    VOLUME_ATTRS,
    Spec,
    format_value,
    same_value,
    shown,
)
from engine.kiwi.validate import name_problems, refuse, value_problems
from engine.layout.model import Layout, Partition, SystemDisk, Volume

Render = Callable[[str], str]

# schemaversion upgrades, from kiwi/xsl/convert*.xsl (KIWI NG reads 7.4 and later)
OLDEST_CONVERTIBLE = (7, 4)
CURRENT = (8, 5)
# <type> attributes renamed by the converters. None of them carries the disk
# layout; btrfs_root_is_snapshot is the only rename of a <type> attribute.
RENAMED_TYPE_ATTRIBUTES = {"btrfs_root_is_snapshot": ((8, 3), "btrfs_root_is_snapper_snapshot")}


def _xml_part(layout: Layout) -> Layout:
    """The layout without the fields that are not in the XML (arch, root_mbytes)."""
    return replace(layout, arch="x86_64", root_mbytes=None, root_files=None,
                   partition_data_mb=())


class _LayoutEditor(Editor):
    """The edits that turn `old` into `new` on the chosen `<type>`."""

    def apply(self, old: Layout, new: Layout) -> None:
        t = self.type_span
        if old.image != new.image:
            self.set_attr(t, "image", new.image)
        for spec in TYPE_ATTRS:
            self.set_value(t, spec, getattr(old, spec.field), getattr(new, spec.field))
        self._partitions(old.partitions, new.partitions)
        self._oemconfig(old, new)
        self._size(old, new)
        self._systemdisk(old.systemdisk, new.systemdisk)
        self.flush()

    def set_value(self, el: int, spec: Spec, old: object, new: object) -> None:
        if old == new:
            return
        span = self.spans[el]
        a = span.attr(spec.xml)
        if new is None or (spec.kind == "count" and new == 0 and a is None):
            self.set_attr(el, spec.xml, None)
            return
        like = self.text[a.value_start:a.value_end] if a else None
        if a is not None and same_value(spec, self.attr_value(el, spec.xml) or "", new):
            return
        self.set_attr(el, spec.xml, format_value(spec, new, like))

    # --- <partitions> ------------------------------------------------------
    def _partitions(self, old: tuple[Partition, ...], new: tuple[Partition, ...]) -> None:
        if old == new:
            return
        box = self.child(self.type_span, "partitions")
        if not new:
            if box is not None:
                self.remove(box)
            return
        if box is None:
            self.add_child(self.type_span, self._render_box("partitions", "", [self._render_partition(p) for p in new]))
            return
        items = [c for c in self.spans[box].children if self.spans[c].local == "partition"]
        self.sync_list(box, items, [p.name for p in old], [p.name for p in new],
                       lambda i, j: self._edit_partition(items[i], old[i], new[j]),
                       lambda j: self._render_partition(new[j]))

    def _edit_partition(self, el: int, old: Partition, new: Partition) -> None:
        for spec in PARTITION_ATTRS:
            self.set_value(el, spec, getattr(old, spec.field), getattr(new, spec.field))

    def _render_partition(self, part: Partition) -> Render:
        return self._render_empty("partition", [(s, getattr(part, s.field)) for s in PARTITION_ATTRS])

    # --- <oemconfig> -------------------------------------------------------
    def _oemconfig(self, old: Layout, new: Layout) -> None:
        changed = [s for s in OEM_ELEMENTS if getattr(old, s.field) != getattr(new, s.field)]
        if not changed:
            return
        box = self.child(self.type_span, "oemconfig")
        wanted = [(s, getattr(new, s.field)) for s in OEM_ELEMENTS if getattr(new, s.field) is not None]
        if box is None:
            if wanted:
                renders = [self._render_leaf(s.xml, format_value(s, v)) for s, v in wanted]
                self.add_child(self.type_span, self._render_box("oemconfig", "", renders))
            return
        kept = {self.spans[c].local for c in self.spans[box].children}
        for spec in changed:
            el = self.child(box, spec.xml)
            value = getattr(new, spec.field)
            if value is None:
                if el is not None:
                    self.remove(el)
                    kept.discard(spec.xml)
            elif el is None:
                self.add_child(box, self._render_leaf(spec.xml, format_value(spec, value)))
                kept.add(spec.xml)
            elif not same_value(spec, self.element_text(el), value):
                self.set_text(el, format_value(spec, value), keep_blanks=spec.kind != "text")
        if not kept and not self.has_comments(box):
            self.remove(box)

    # --- <size> -------------------------------------------------------------
    def _size(self, old: Layout, new: Layout) -> None:
        keys = ("size_mb", "size_additive", "unpartitioned_mb")
        if all(getattr(old, k) == getattr(new, k) for k in keys):
            return
        el = self.child(self.type_span, "size")
        if new.size_mb is None:
            if el is not None:
                self.remove(el)
            return
        whole_gib = new.size_mb % 1024 == 0 and (new.unpartitioned_mb or 0) % 1024 == 0
        if el is None:
            unit, factor = ("G", 1024) if whole_gib and new.size_mb else ("M", 1)
            attrs = f' unit="{unit}"'
            if new.size_additive is not None:
                attrs += f' additive="{format_value(Spec("additive", "", "bool"), new.size_additive)}"'
            if new.unpartitioned_mb is not None:
                attrs += f' unpartitioned="{new.unpartitioned_mb // factor}"'
            text = f"<size{attrs}>{new.size_mb // factor}</size>"
            self.add_child(self.type_span, lambda ind: text)
            return
        unit = (self.attr_value(el, "unit") or "").strip()
        factor = 1024 if unit == "G" else 1
        to_mib = factor == 1024 and not whole_gib
        if to_mib:
            self.set_attr(el, "unit", "M")
            factor = 1
        if to_mib or old.size_mb != new.size_mb:
            self.set_text(el, str(new.size_mb // factor))
        self.set_value(el, Spec("additive", "", "bool"), old.size_additive, new.size_additive)
        if to_mib or old.unpartitioned_mb != new.unpartitioned_mb:
            value = None if new.unpartitioned_mb is None else str(new.unpartitioned_mb // factor)
            self.set_attr(el, "unpartitioned", value)

    # --- <systemdisk> -------------------------------------------------------
    def _systemdisk(self, old: SystemDisk | None, new: SystemDisk | None) -> None:
        if old == new:
            return
        el = self.child(self.type_span, "systemdisk")
        if new is None:
            if el is not None:
                self.remove(el)
            return
        attrs = [(Spec("name", "", "text"), new.name), (Spec("preferlvm", "", "bool"), new.preferlvm)]
        if el is None or old is None:
            renders = [self._render_volume(v) for v in new.volumes]
            if renders:
                self.add_child(self.type_span, self._render_box("systemdisk", self._attrs_text(attrs), renders))
            else:
                self.add_child(self.type_span, self._render_empty("systemdisk", attrs))
            return
        self.set_value(el, attrs[0][0], old.name, new.name)
        self.set_value(el, attrs[1][0], old.preferlvm, new.preferlvm)
        items = [c for c in self.spans[el].children if self.spans[c].local == "volume"]
        self.sync_list(el, items, [v.name for v in old.volumes], [v.name for v in new.volumes],
                       lambda i, j: self._edit_volume(items[i], old.volumes[i], new.volumes[j]),
                       lambda j: self._render_volume(new.volumes[j]))

    def _volume_targets(self, el: int | None, vol: Volume) -> tuple[object, object]:
        """(size, freespace) as they should read: a number, "all" or None."""
        if vol.all_free:
            free_all = el is not None and (self.attr_value(el, "freespace") or "").strip() == "all"
            if free_all and vol.freespace_mb is None:
                return vol.size_mb, "all"
            return "all", vol.freespace_mb
        return vol.size_mb, vol.freespace_mb

    def _edit_volume(self, el: int, old: Volume, new: Volume) -> None:
        for spec in VOLUME_ATTRS:
            if spec.kind != "vsize":
                self.set_value(el, spec, getattr(old, spec.field), getattr(new, spec.field))
        for spec, target in zip(VOLUME_ATTRS[1:3], self._volume_targets(el, new), strict=True):
            current = self.attr_value(el, spec.xml)
            if _same_vsize(spec, current, target):
                continue
            if target is None:
                self.set_attr(el, spec.xml, None)
            else:
                text = "all" if target == "all" else format_value(spec, target, current)
                self.set_attr(el, spec.xml, text)

    def _render_volume(self, vol: Volume) -> Render:
        size, free = self._volume_targets(None, vol)
        values: list[tuple[Spec, object]] = []
        for spec in VOLUME_ATTRS:
            value = size if spec.xml == "size" else free if spec.xml == "freespace" else getattr(vol, spec.field)
            values.append((spec, value))
        return self._render_empty("volume", values)

    # --- rendering new elements ----------------------------------------------
    def _attrs_text(self, values: Sequence[tuple[Spec, object]]) -> str:
        out = ""
        for spec, value in values:
            if value is None or (spec.kind == "count" and value == 0):
                continue
            text = value if value == "all" else format_value(spec, value)
            out += f' {spec.xml}="{escape_attr(str(text))}"'
        return out

    def _render_empty(self, tag: str, values: Sequence[tuple[Spec, object]]) -> Render:
        text = f"<{tag}{self._attrs_text(values)}/>"
        return lambda ind: text

    def _render_leaf(self, tag: str, value: str) -> Render:
        text = f"<{tag}>{escape_text(value)}</{tag}>"
        return lambda ind: text

    def _render_box(self, tag: str, attrs: str, children: list[Render]) -> Render:
        def render(ind: str) -> str:
            inner = ind + self.unit
            lines = [f"<{tag}{attrs}>"] + [inner + c(inner) for c in children] + [f"{ind}</{tag}>"]
            return self.nl.join(lines)
        return render


def _same_vsize(spec: Spec, current: str | None, target: object) -> bool:
    if current is None or target is None:
        return current is None and target is None
    if target == "all" or current.strip() == "all":
        return current.strip() == target
    return same_value(spec, current, target)


def _version(text: str | None) -> tuple[int, ...] | None:
    if text is None or not re.match(r"^\s*\d+(\.\d+)*\s*$", text):
        return None
    return tuple(int(x) for x in text.strip().split("."))


def _upgrade(ed: Editor, desc: Description) -> None:
    """schemaversion 8.5, with the changes of KIWI's convert*.xsl."""
    if desc.bare:
        return
    root = 0
    version = _version(ed.attr_value(root, "schemaversion"))
    if version is None or version < OLDEST_CONVERTIBLE:
        raise DescriptionError(
            f"{desc.source}: cannot upgrade schemaversion {shown(desc.schemaversion)}: KIWI NG converts 7.4 and later"
        )
    if version >= CURRENT:
        return
    ed.set_attr(root, "schemaversion", "8.5")
    for el, span in enumerate(ed.spans):
        local = span.local
        if local == "containerconfig" and version < (7, 5):
            tags = ed.attr_value(el, "additionaltags")
            if tags is not None:
                ed.replace_attr(el, "additionaltags", {"additionalnames": ":" + tags.replace(",", ",:")})
        elif local == "packagemanager" and version < (7, 6) and ed.element_text(el).strip() == "dnf":
            ed.set_text(el, "dnf4")
        elif local == "repository":
            if version < (8, 1) and (ed.attr_value(el, "type") or "") == "rpm-dir":
                ed.set_attr(el, "type", None)
            if version < (8, 2):
                ed.set_attr(el, "use_for_bootstrap", None)
        elif local == "type":
            for old_name, (since, new_name) in RENAMED_TYPE_ATTRIBUTES.items():
                value = ed.attr_value(el, old_name)
                if version < since and value is not None:
                    ed.replace_attr(el, old_name, {new_name: value})
            if version < (8, 5):
                ed.set_attr(el, "vga", None)
        elif local == "bootloader" and version < (8, 4):
            console = ed.attr_value(el, "console")
            if console is not None:
                out, _, inp = console.partition(" ")
                pairs = {"output_console": out, "input_console": inp} if " " in console else {"output_console": console}
                ed.replace_attr(el, "console", pairs)


def to_bytes(desc: Description, layout: Layout, *, upgrade: bool = False) -> bytes:
    """The description with `layout` applied to its chosen `<type>` (see the
    module docstring). Refuses, with a DescriptionError, values KIWI would
    reject and new or renamed partitions whose names KIWI rejects."""
    old, new = _xml_part(desc.layout), _xml_part(layout)
    if old == new and (not upgrade or desc.bare or _version(desc.schemaversion) == CURRENT):
        return desc.raw
    refuse(desc.source, value_problems(new))
    old_names = {p.name for p in old.partitions}
    changed = {p.name for p in new.partitions if p.name not in old_names or p not in old.partitions}
    refuse(desc.source, name_problems(new, only=changed))
    ed = _LayoutEditor(desc)
    ed.apply(old, new)
    if upgrade:
        _upgrade(ed, desc)
    data = ed.result()
    _verify(desc, data, new)
    return data


def _verify(desc: Description, data: bytes, want: Layout) -> None:
    """Read the result back: it must hold exactly the wanted layout."""
    index = None if desc.bare else desc.type_index
    got = _xml_part(loads(data, source=desc.source, type_index=index).layout)
    if got == want:
        return
    for f in fields(Layout):
        a, b = getattr(got, f.name), getattr(want, f.name)
        if a != b:
            detail = "" if f.name == "luks" else f": it would read back as {shown(a, 80)}, not {shown(b, 80)}"
            raise DescriptionError(f"{desc.source}: cannot write {f.name}{detail}")


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` atomically (engine.host.atomic.write_bytes: an
    unnamed temporary file in the same directory, fsync, linked into place).
    On any error the target is untouched and no temporary file is left; the
    error is one DescriptionError line. The target's permissions are kept; a
    symlink is followed (the file it points to is replaced)."""
    try:
        write_bytes(path, data)
    except OSError as exc:
        raise DescriptionError(f"{path}: cannot write: {exc.strerror or exc}") from None


def save(desc: Description, layout: Layout, path: str | Path, *, upgrade: bool = False) -> Description:
    """Write `layout` onto `desc` into `path`, atomically; return the
    description as now written (the base for the next save)."""
    data = to_bytes(desc, layout, upgrade=upgrade)
    write_atomic(path, data)
    index = None if desc.bare else desc.type_index
    return loads(data, source=str(path), type_index=index, arch=layout.arch)
