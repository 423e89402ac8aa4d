"""Property: any edit of any corpus description writes back a document that
reads as the edited Layout, and every byte outside the chosen `<type>` is
unchanged."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.kiwi._text_scan import decode, scan
from engine.kiwi.read import load, loads
from engine.kiwi.write import to_bytes
from engine.layout.model import Layout
from tests.support import paths
from tests.support.kiwi_layouts import layouts

DATA = paths.DATA / "descriptions"
CORPUS = sorted(p for p in DATA.iterdir() if p.suffix in (".kiwi", ".xml"))
PROFILES = {"02-profiles.kiwi": "Large"}
XML_FIELDS = [f.name for f in fields(Layout) if f.name not in ("image", "arch", "root_mbytes")]


@settings(max_examples=200, deadline=None)
@given(
    path=st.sampled_from(CORPUS),
    other=layouts(),
    chosen=st.sets(st.sampled_from(XML_FIELDS), min_size=1, max_size=8),
)
def test_edits_touch_only_the_type(path: Path, other: Layout, chosen: set[str]) -> None:
    desc = load(path, profile=PROFILES.get(path.name))
    new = replace(desc.layout, **{name: getattr(other, name) for name in chosen})
    if new.size_mb is None:
        new = replace(new, size_additive=None, unpartitioned_mb=None)
    elif new.unpartitioned_mb is not None and new.unpartitioned_mb > new.size_mb:
        new = replace(new, unpartitioned_mb=new.size_mb)
    data = to_bytes(desc, new)
    index = None if desc.bare else desc.type_index
    assert loads(data, type_index=index).layout == new

    before, _ = decode(desc.raw)
    after, _ = decode(data)
    elems = scan(before)
    type_span = elems[[e for e in desc.doc.getroot().iter() if isinstance(e.tag, str)].index(desc.type_element)]
    tail = len(before) - type_span.end
    assert after[: type_span.start] == before[: type_span.start]
    assert after[len(after) - tail:] == before[type_span.end:]
    # editing back gives the original bytes
    again = loads(data, type_index=index, source=str(path))
    assert to_bytes(again, desc.layout) == desc.raw or _only_layout_equal(again, desc)


def _only_layout_equal(again: object, desc: object) -> bool:
    """Undoing an edit may differ in spelling (a new element where the file
    had none, `G` turned to `M`); it must still read as the original."""
    original = desc.layout  # type: ignore[attr-defined]
    undone = to_bytes(again, original)  # type: ignore[arg-type]
    index = None if desc.bare else desc.type_index  # type: ignore[attr-defined]
    return loads(undone, type_index=index).layout == original


MANY = [p for p in CORPUS if p.name in ("02-profiles.kiwi", "03-lvm-systemdisk.kiwi", "04-msdos-bios.kiwi",
                                        "11-odd-indentation.kiwi", "13-crlf.kiwi")]


@settings(max_examples=100, deadline=None)
@given(path=st.sampled_from(MANY), data=st.data())
def test_reorder_drop_and_add(path: Path, data: st.DataObject) -> None:
    desc = load(path, profile=PROFILES.get(path.name))
    lay = desc.layout
    parts = list(data.draw(st.permutations(lay.partitions)))
    parts = parts[: data.draw(st.integers(0, len(parts)))]
    extra = data.draw(layouts()).partitions
    parts += [p for p in extra if p.name not in {q.name for q in parts}]
    parts = data.draw(st.permutations(parts))
    new = replace(lay, partitions=tuple(parts))
    if lay.systemdisk is not None:
        vols = data.draw(st.permutations(lay.systemdisk.volumes))
        new = replace(new, systemdisk=replace(lay.systemdisk, volumes=tuple(vols[: data.draw(st.integers(0, len(vols)))])))
    out = to_bytes(desc, new)
    index = None if desc.bare else desc.type_index
    assert loads(out, type_index=index).layout == new
    for part in lay.partitions:  # a kept partition keeps its own text
        if part in new.partitions:
            assert part.name.encode() in out
