"""The corpus round trip: open + save = the same bytes; one clone count
changed = exactly that attribute changed; edited descriptions stay valid for
KIWI."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest

from engine.kiwi.read import Description, load, loads
from engine.kiwi.write import save, to_bytes
from engine.layout.model import Layout, Partition
from tests.support import paths
from tests.support.kiwi_check import kiwi_layout_facts, kiwi_state, layout_facts

DATA = paths.DATA / "descriptions"
CORPUS = sorted(p for p in DATA.iterdir() if p.suffix in (".kiwi", ".xml"))
# descriptions KIWI 11.1.6 itself does not accept, and why
NOT_FOR_KIWI = {
    "07-namespaces.kiwi": "a foreign attribute on <type>; the <extension> needs xmlcatalog",
    "14-bare-type.xml": "a bare <type>, not a description",
}
PROFILES = {"02-profiles.kiwi": "Large"}
CLONE_ATTR = re.compile(r"""\b(clone|root_clone|boot_clone)(\s*=\s*)(["'])(\d+)\3""")


def _load(path: Path) -> Description:
    return load(path, profile=PROFILES.get(path.name))


def test_corpus_is_big_and_varied() -> None:
    assert len(CORPUS) >= 15
    raw = [p.read_bytes() for p in CORPUS]
    assert any(b"\r\n" in r for r in raw), "CRLF"
    assert any(b"\t" in r for r in raw), "tabs"
    assert any(b"<![CDATA[" in r for r in raw), "CDATA"
    assert any(b"<profiles>" in r for r in raw), "profiles"
    assert any(b"<systemdisk" in r for r in raw), "LVM"
    assert any(b'schemaversion="7.4"' in r for r in raw), "old schema"
    assert any(b"xmlns:" in r for r in raw), "namespaces"
    assert any(r.startswith(b"\xef\xbb\xbf") for r in raw), "BOM"
    assert any(b"ISO-8859-1" in r for r in raw), "latin-1"
    assert any(not r.endswith(b"\n") for r in raw), "no final newline"


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_open_save_is_identical(path: Path, tmp_path: Path) -> None:
    desc = _load(path)
    original = path.read_bytes()
    assert to_bytes(desc, desc.layout) == original
    out = tmp_path / path.name
    again = save(desc, desc.layout, out)
    assert out.read_bytes() == original
    assert again.layout == desc.layout
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def _clone_edit(desc: Description) -> tuple[Layout, str, int]:
    """Raise one clone count that the description states explicitly."""
    lay = desc.layout
    for el in desc.type_element.iter("partition"):
        if el.get("clone") is not None:
            name = el.get("name", "")
            part = lay.partition(name)
            assert part is not None
            return lay.with_partition(name, clone=part.clone + 1), "clone", part.clone + 1
    for attr in ("root_clone", "boot_clone"):
        if desc.type_element.get(attr) is not None:
            value = getattr(lay, attr) + 1
            return lay.with_changes(**{attr: value}), attr, value
    raise AssertionError("no explicit clone count in the corpus file")


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_one_clone_count_changes_one_attribute(path: Path) -> None:
    desc = _load(path)
    layout, attr, value = _clone_edit(desc)
    data = to_bytes(desc, layout)
    # latin-1 maps bytes to characters one to one: a byte-level line diff
    before = path.read_bytes().decode("latin-1").splitlines(keepends=True)
    after = data.decode("latin-1").splitlines(keepends=True)
    diff = [d for d in difflib.ndiff(before, after) if d[:1] in "-+"]
    assert len(diff) == 2, diff
    old_line, new_line = diff[0][2:], diff[1][2:]
    assert diff[0][0] == "-" and diff[1][0] == "+"
    # the lines are equal but for the value of one clone attribute
    assert CLONE_ATTR.sub(r"\1\2\3#\3", old_line) == CLONE_ATTR.sub(r"\1\2\3#\3", new_line)
    changed = [
        (a.group(1), a.group(4), b.group(4))
        for a, b in zip(CLONE_ATTR.finditer(old_line), CLONE_ATTR.finditer(new_line), strict=True)
        if a.group(4) != b.group(4)
    ]
    assert changed == [(attr, str(value - 1), str(value))]
    # and it reads back as the edited layout
    index = None if desc.bare else desc.type_index
    assert loads(data, type_index=index).layout == layout


KIWI_CORPUS = [p for p in CORPUS if p.name not in NOT_FOR_KIWI]


@pytest.mark.kiwi
@pytest.mark.parametrize("path", KIWI_CORPUS, ids=[p.name for p in KIWI_CORPUS])
def test_kiwi_accepts_corpus_and_edits(path: Path, tmp_path: Path) -> None:
    desc = _load(path)
    profiles = [PROFILES[path.name]] if path.name in PROFILES else None
    if desc.type_index == 0 or len(list(desc.doc.iter("type"))) == 1 or path.name in PROFILES:
        # KIWI picks the same <type> (first, primary, or the profile's)
        assert layout_facts(desc.layout) == kiwi_layout_facts(kiwi_state(path, profiles))
    layout, _, _ = _clone_edit(desc)
    layout = layout.with_changes(
        oem_systemsize=(layout.oem_systemsize or 0) + 1024,
        oem_resize=False,
        partitions=(*layout.partitions, Partition("extra", 300, "/extra", "ext4", 1)),
    )
    out = tmp_path / path.name
    save(desc, layout, out)
    state = kiwi_state(out, profiles)
    if desc.type_index == 0 or path.name in PROFILES or len(list(desc.doc.iter("type"))) == 1:
        assert kiwi_layout_facts(state) == layout_facts(layout)
