"""engine.kiwi.export: complete descriptions KIWI accepts, `<type>` only, refusals;
and a property test: any layout within the reader's rules exports to a
description KIWI accepts and reads back to the same Layout."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from engine.errors import DescriptionError
from engine.kiwi.export import export
from engine.kiwi.read import load, loads
from engine.layout.example import EXAMPLE_LAYOUT, EXAMPLE_TYPE_XML
from engine.layout.model import (
    Layout,
    Partition,
)
from tests.support import paths
from tests.support.kiwi_check import kiwi_layout_facts, kiwi_state, layout_facts
from tests.support.kiwi_layouts import layouts

DATA = paths.DATA / "descriptions"


def test_example_exports_valid(tmp_path: Path) -> None:
    data = export(EXAMPLE_LAYOUT)
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n')
    assert loads(data).layout == EXAMPLE_LAYOUT
    path = tmp_path / "config.kiwi"
    path.write_bytes(data)
    assert kiwi_layout_facts(kiwi_state(path)) == layout_facts(EXAMPLE_LAYOUT)


def test_full_description_shape() -> None:
    text = export(EXAMPLE_LAYOUT, name="my.image-1").decode()
    assert '<image schemaversion="8.5" name="my.image-1">' in text
    for tag in ("<author>", "<contact>", "<specification>", "<version>", "<packagemanager>"):
        assert tag in text
    lines = text.splitlines()
    placeholders = [i for i, ln in enumerate(lines) if "PLACEHOLDER" in ln]
    assert len(placeholders) == 2
    assert "<repository" in lines[placeholders[0] + 1]
    assert "<packages" in lines[placeholders[1] + 1]
    body = lines[lines.index(next(ln for ln in lines if ln.startswith("<image"))):]
    for ln in body:  # pretty: 4-space steps, no trailing blanks
        assert ln == ln.rstrip()
        assert (len(ln) - len(ln.lstrip(" "))) % 4 == 0


def test_type_only() -> None:
    text = export(EXAMPLE_LAYOUT, type_only=True).decode()
    assert text.startswith('<type image="oem"') and text.endswith("</type>\n")
    desc = loads(text)
    assert desc.bare and desc.layout == EXAMPLE_LAYOUT


def test_base_type_keeps_what_partwright_does_not_model(tmp_path: Path) -> None:
    bare = loads(
        '<type image="oem" filesystem="ext4" kernelcmdline="quiet" root_clone="1">\n'
        '  <bootloader name="grub2" timeout="5"/>\n'
        "  <oemconfig><oem-resize>false</oem-resize><oem-systemsize>900</oem-systemsize></oemconfig>\n"
        "</type>\n"
    )
    lay = bare.layout.with_changes(root_clone=2)
    text = export(lay, base=bare).decode()
    assert 'kernelcmdline="quiet"' in text and '<bootloader name="grub2" timeout="5"/>' in text
    assert loads(text).layout == lay
    path = tmp_path / "c.kiwi"
    path.write_text(text)
    assert kiwi_state(path).build_type.get_root_clone() == "2"
    only = export(lay, base=bare, type_only=True).decode()
    assert only.startswith("<type ") and "<bootloader" in only


def test_bare_corpus_type_exports_valid(tmp_path: Path) -> None:
    desc = load(DATA / "14-bare-type.xml")
    path = tmp_path / "c.kiwi"
    path.write_bytes(export(desc.layout, base=desc))
    assert kiwi_layout_facts(kiwi_state(path)) == layout_facts(desc.layout)


@pytest.mark.parametrize("part,pattern", [
    (Partition("root", 10), "reserved"),
    (Partition("efi_c", 10), "reserved"),
    (Partition("ar", 10), "reserved"),
    (Partition("my-data", 10), "shell variable"),
    (Partition("data", 10, partition_name="a" * 33), "33 characters; at most 32"),
    (Partition("data", 10, partition_name="p/data"), "may hold only"),
    (Partition("data", -1), "negative"),
    (Partition("data", 10, filesystem="ntfs"), "ntfs"),
])
def test_export_refuses_what_kiwi_rejects(part: Partition, pattern: str) -> None:
    with pytest.raises(DescriptionError, match=pattern) as info:
        export(EXAMPLE_LAYOUT.with_changes(partitions=(part,)))
    assert "\n" not in str(info.value)


def test_export_refuses_duplicates_and_bad_image() -> None:
    with pytest.raises(DescriptionError, match="used twice"):
        export(EXAMPLE_LAYOUT.with_changes(partitions=EXAMPLE_LAYOUT.partitions * 2))
    with pytest.raises(DescriptionError, match="image name"):
        export(EXAMPLE_LAYOUT, name="my image")
    with pytest.raises(DescriptionError, match="filesystem: not set"):
        export(EXAMPLE_LAYOUT.with_changes(filesystem=None))
    with pytest.raises(DescriptionError, match="oem"):
        export(EXAMPLE_LAYOUT.with_changes(image="iso"))
    with pytest.raises(DescriptionError, match="control character"):
        export(EXAMPLE_LAYOUT.with_changes(rootfs_label="a\x00b"))


def test_luks_never_in_export_errors() -> None:
    with pytest.raises(DescriptionError) as info:
        export(EXAMPLE_LAYOUT.with_changes(luks="pass\x01word"))
    assert "pass" not in str(info.value)


def test_example_type_xml_reads_back() -> None:
    assert loads(export(loads(EXAMPLE_TYPE_XML).layout, type_only=True)).layout == EXAMPLE_LAYOUT


# --- the property test ----------------------------------------------------------
KIWI_EXAMPLES = 30
_timings: list[float] = []


@pytest.mark.kiwi
@settings(max_examples=KIWI_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layout=layouts())
def test_any_layout_exports_to_what_kiwi_accepts(layout: Layout, tmp_path: Path) -> None:
    pytest.importorskip("kiwi")
    data = export(layout)
    assert loads(data).layout == layout
    assert loads(export(layout, type_only=True)).layout == layout
    path = tmp_path / "config.kiwi"
    path.write_bytes(data)
    started = time.perf_counter()
    state = kiwi_state(path)
    _timings.append(time.perf_counter() - started)
    assert kiwi_layout_facts(state) == layout_facts(layout)
    assert state.build_type.get_filesystem() == layout.filesystem
    assert (state.get_oemconfig_oem_resize() is not False) == (layout.oem_resize is not False)


def test_kiwi_validation_cost_is_bounded() -> None:
    """Runs after the property test (same module, file order): say what the
    KIWI validations cost."""
    if not _timings:
        pytest.skip("the property test did not run KIWI")
    total = sum(_timings)
    print(f"\nKIWI validations: {len(_timings)} in {total:.2f} s, {total / len(_timings) * 1000:.0f} ms each")
    assert len(_timings) <= KIWI_EXAMPLES
    assert total / len(_timings) < 2.0


def test_kiwi_check_really_validates(tmp_path: Path) -> None:
    """The cached-schematron validation still refuses what KIWI refuses."""
    pytest.importorskip("kiwi")
    from kiwi.exceptions import KiwiDescriptionInvalid

    text = export(EXAMPLE_LAYOUT).decode()
    bad = {
        "reserved": text.replace('name="home"', 'name="boot"'),
        "unknown attribute": text.replace('root_clone="1"', 'root_clone="1" rootclone="1"'),
        "clone -1": text.replace('clone="2"', 'clone="-1"'),
        "unpartitioned": text.replace('<size unit="G">100</size>', '<size unit="G" unpartitioned="200">100</size>'),
    }
    for what, body in bad.items():
        path = tmp_path / f"{what}.kiwi"
        path.write_text(body)
        with pytest.raises(KiwiDescriptionInvalid):
            kiwi_state(path)
