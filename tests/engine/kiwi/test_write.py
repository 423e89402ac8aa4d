"""engine.kiwi.write: edits in place, unit styles, indentation, upgrades,
atomic saves and refusals."""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from engine.errors import DescriptionError
from engine.host import atomic
from engine.kiwi.read import load, loads
from engine.kiwi.write import save, to_bytes, write_atomic
from engine.layout.model import Partition, SystemDisk, Volume
from tests.support import paths
from tests.support.kiwi_check import kiwi_state

DATA = paths.DATA / "descriptions"


def edited(name: str, **changes: object) -> str:
    desc = load(DATA / name)
    return to_bytes(desc, desc.layout.with_changes(**changes)).decode("latin-1")


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    a, b = before.splitlines(), after.splitlines()
    return [x for x in a if x not in b], [x for x in b if x not in a]


# --- sizes keep the unit the user wrote -------------------------------------
def test_partition_size_unit_style() -> None:
    desc = load(DATA / "02-profiles.kiwi", profile="Large")
    text = (DATA / "02-profiles.kiwi").read_text()
    lay = desc.layout
    out = to_bytes(desc, lay.with_partition("data", size_mb=21 * 1024)).decode()
    assert changed_lines(text, out)[1] == [
        '                <partition name="data" size="21G" mountpoint="/data" filesystem="xfs"/>']
    out = to_bytes(desc, lay.with_partition("data", size_mb=20000)).decode()
    assert 'name="data" size="20000M"' in out
    out = to_bytes(desc, lay.with_partition("logs", size_mb=4096)).decode()
    assert 'name="logs" size="4096M"' in out


def test_size_element_unit() -> None:
    base = (DATA / "01-doc-example.kiwi").read_text()
    out = edited("01-doc-example.kiwi", size_mb=50 * 1024)
    assert changed_lines(base, out) == (['            <size unit="G">100</size>'], ['            <size unit="G">50</size>'])
    out = edited("01-doc-example.kiwi", size_mb=50000)
    assert changed_lines(base, out)[1] == ['            <size unit="M">50000</size>']
    out = edited("05-spare.kiwi", unpartitioned_mb=512)
    assert '<size unit="M" unpartitioned="512">65536</size>' in out
    out = edited("01-doc-example.kiwi", size_mb=None)
    assert "<size" not in out


def test_spare_part_style() -> None:
    out = edited("05-spare.kiwi", spare_part_mb=6 * 1024)
    assert 'spare_part="6G"' in out
    out = edited("05-spare.kiwi", spare_part_mb=6000)
    assert 'spare_part="6000M"' in out


# --- attributes -------------------------------------------------------------
def test_attribute_quotes_and_spacing_kept() -> None:
    base = (DATA / "11-odd-indentation.kiwi").read_text()
    out = edited("11-odd-indentation.kiwi", boot_clone=2, root_clone=3)
    assert changed_lines(base, out) == (
        ["          root_clone='1'", '          boot_clone = "1"'],
        ["          root_clone='3'", '          boot_clone = "2"'],
    )


def test_new_attribute_follows_the_attribute_layout() -> None:
    base = (DATA / "11-odd-indentation.kiwi").read_text()
    out = edited("11-odd-indentation.kiwi", efipartsize=64)
    assert changed_lines(base, out) == ([], ['          efipartsize="64"'])
    base = (DATA / "01-doc-example.kiwi").read_text()
    out = edited("01-doc-example.kiwi", efipartsize=64)
    old, new = changed_lines(base, out)
    assert new == [old[0].replace('bootfilesystem="ext4">', 'bootfilesystem="ext4" efipartsize="64">')]


def test_removing_an_attribute() -> None:
    base = (DATA / "01-doc-example.kiwi").read_text()
    out = edited("01-doc-example.kiwi", bootfilesystem=None, boot_clone=0)
    old, new = changed_lines(base, out)
    assert new == [old[0].replace(' bootfilesystem="ext4"', "").replace('boot_clone="1"', 'boot_clone="0"')]


def test_values_are_escaped() -> None:
    out = edited("01-doc-example.kiwi", rootfs_label='a"b<c&d', spare_part_mountpoint="/x'y")
    assert 'rootfs_label="a&quot;b&lt;c&amp;d"' in out
    assert loads(out).layout.rootfs_label == 'a"b<c&d'
    out = edited("11-odd-indentation.kiwi", root_clone=2, spare_part_mountpoint="it's")
    assert loads(out).layout.spare_part_mountpoint == "it's"


# --- elements ---------------------------------------------------------------
def test_oemconfig_text_keeps_its_whitespace() -> None:
    out = edited("11-odd-indentation.kiwi", oem_systemsize=4096)
    assert "<oem-systemsize> 4096 </oem-systemsize>" in out


def test_oemconfig_children_added_and_removed() -> None:
    base = (DATA / "12-tabs.kiwi").read_text()
    out = edited("12-tabs.kiwi", oem_swap=True, oem_swapsize=512, oem_resize=None)
    old, new = changed_lines(base, out)
    assert old == ["\t\t\t\t<oem-resize>false</oem-resize>"]
    assert new == ["\t\t\t\t<oem-swap>true</oem-swap>", "\t\t\t\t<oem-swapsize>512</oem-swapsize>"]
    out = edited("12-tabs.kiwi", oem_systemsize=None, oem_resize=None)
    assert "oemconfig" not in out


def test_new_elements_in_an_empty_type() -> None:
    out = edited(
        "21-self-closing-type.kiwi",
        partitions=(Partition("data", 1024, "/data", "xfs", 1),),
        oem_systemsize=2048,
        oem_resize=False,
        size_mb=8192,
    )
    assert (
        '        <type image="oem" filesystem="ext4" root_clone="0">\n'
        "            <partitions>\n"
        '                <partition name="data" size="1024" mountpoint="/data" filesystem="xfs" clone="1"/>\n'
        "            </partitions>\n"
        "            <oemconfig>\n"
        "                <oem-systemsize>2048</oem-systemsize>\n"
        "                <oem-resize>false</oem-resize>\n"
        "            </oemconfig>\n"
        '            <size unit="G">8</size>\n'
        "        </type>\n"
    ) in out


def test_crlf_stays_crlf() -> None:
    desc = load(DATA / "13-crlf.kiwi")
    sd = desc.layout.systemdisk
    assert sd is not None
    lay = desc.layout.with_changes(
        systemdisk=SystemDisk(sd.name, sd.preferlvm, (*sd.volumes, Volume("opt", 1024, mountpoint="/opt"))),
        partitions=(Partition("data", 10),),
    )
    out = to_bytes(desc, lay)
    assert out.count(b"\n") == out.count(b"\r\n")
    assert b'            <partitions>\r\n                <partition name="data" size="10"/>\r\n' in out


def test_partitions_removed_renamed_reordered() -> None:
    desc = load(DATA / "04-msdos-bios.kiwi")
    text = (DATA / "04-msdos-bios.kiwi").read_text()
    parts = desc.layout.partitions
    # remove one: its line goes
    out = to_bytes(desc, desc.layout.with_changes(partitions=parts[:1] + parts[2:])).decode()
    assert changed_lines(text, out) == ([ln for ln in text.splitlines() if 'name="tmp"' in ln], [])
    # rename one: the name attribute changes in place
    renamed = tuple(replace(p, name="scratch") if p.name == "tmp" else p for p in parts)
    out = to_bytes(desc, desc.layout.with_changes(partitions=renamed)).decode()
    old, new = changed_lines(text, out)
    assert new == [old[0].replace('name="tmp"', 'name="scratch"')]
    # reverse the order: the elements move with their own text
    rev = desc.layout.with_changes(partitions=tuple(reversed(parts)))
    out = to_bytes(desc, rev).decode()
    lines = [ln for ln in out.splitlines() if "<partition " in ln]
    assert lines == list(reversed([ln for ln in text.splitlines() if "<partition " in ln]))
    assert loads(out).layout == rev
    # insert at the front
    first = desc.layout.with_changes(partitions=(Partition("swap2", 64),) + parts)
    assert loads(to_bytes(desc, first)).layout.partitions[0].name == "swap2"
    # remove all: <partitions> goes
    out = to_bytes(desc, desc.layout.with_changes(partitions=())).decode()
    assert "<partitions" not in out and "<partition " not in out


def test_volumes() -> None:
    desc = load(DATA / "03-lvm-systemdisk.kiwi")
    sd = desc.layout.systemdisk
    assert sd is not None
    vols = list(sd.volumes)
    vols[1] = Volume("home", 3072, mountpoint="/home", label="HOME")
    vols[3] = Volume("srv", 1024)
    out = to_bytes(desc, desc.layout.with_changes(systemdisk=SystemDisk(sd.name, True, tuple(vols)))).decode()
    assert '<volume name="home" size="3G" mountpoint="/home" label="HOME"/>' in out
    assert '<volume name="srv" size="1024" copy_on_write="false"/>' in out  # the unmodelled attribute stays
    assert '<systemdisk name="vgsystem" preferlvm="true">' in out
    out = to_bytes(desc, desc.layout.with_changes(systemdisk=None)).decode()
    assert "<systemdisk" not in out and "<volume" not in out


def test_luks_is_written_but_never_shown() -> None:
    desc = load(DATA / "18-luks-raid-overlay.kiwi")
    out = to_bytes(desc, desc.layout.with_changes(luks="new pass"))
    assert b'luks="new pass"' in out
    with pytest.raises(DescriptionError) as info:
        to_bytes(desc, desc.layout.with_changes(luks=42))  # not text
    assert "42" not in str(info.value) and "correct horse" not in str(info.value)


# --- refusals ---------------------------------------------------------------
@pytest.mark.parametrize("name,pattern", [
    ("boot", "reserved"), ("p", "reserved"), ("ot", "reserved"),
    ("my-data", "shell variable"), ("", "empty"),
])
def test_new_bad_names_are_refused(name: str, pattern: str) -> None:
    desc = load(DATA / "01-doc-example.kiwi")
    lay = desc.layout.with_changes(partitions=(*desc.layout.partitions, Partition(name, 10)))
    with pytest.raises(DescriptionError, match=pattern) as info:
        to_bytes(desc, lay)
    assert "\n" not in str(info.value)


def test_bad_partition_name_and_duplicates_refused() -> None:
    desc = load(DATA / "01-doc-example.kiwi")
    with pytest.raises(DescriptionError, match="at most 32"):
        to_bytes(desc, desc.layout.with_partition("home", partition_name="x" * 33))
    with pytest.raises(DescriptionError, match="may hold only"):
        to_bytes(desc, desc.layout.with_partition("home", partition_name="p home"))
    dup = desc.layout.with_changes(partitions=desc.layout.partitions * 2)
    with pytest.raises(DescriptionError, match="used twice"):
        to_bytes(desc, dup)


@pytest.mark.parametrize("changes,pattern", [
    ({"firmware": "coreboot"}, "firmware"),
    ({"root_clone": -1}, "root_clone: '-1' is negative"),
    ({"disk_start_sector": 100}, "below 2048"),
    ({"size_mb": -5}, "<size>"),
    ({"unpartitioned_mb": 10 ** 6}, "larger than the size"),
])
def test_bad_values_refused(changes: dict[str, object], pattern: str) -> None:
    desc = load(DATA / "01-doc-example.kiwi")
    with pytest.raises(DescriptionError, match=pattern):
        to_bytes(desc, desc.layout.with_changes(**changes))


def test_a_bad_name_already_in_the_file_does_not_block_other_edits() -> None:
    desc = loads('<type image="oem" filesystem="ext4"><partitions><partition name="my-data" size="1"/></partitions></type>')
    out = to_bytes(desc, desc.layout.with_changes(root_clone=1))
    assert b'root_clone="1"' in out


# --- schema versions ----------------------------------------------------------
def test_old_version_kept_unless_upgrade(tmp_path: Path) -> None:
    desc = load(DATA / "08-schema-74.kiwi")
    assert desc.schemaversion == "7.4"
    out = to_bytes(desc, desc.layout.with_changes(root_clone=2)).decode()
    assert 'schemaversion="7.4"' in out and "btrfs_root_is_snapshot" in out
    up = to_bytes(desc, desc.layout, upgrade=True).decode()
    assert 'schemaversion="8.5"' in up
    assert 'btrfs_root_is_snapper_snapshot="true"' in up and "btrfs_root_is_snapshot" not in up
    assert "vga=" not in up
    assert '<bootloader name="grub2" output_console="gfxterm" input_console="serial"/>' in up
    assert "<packagemanager>dnf4</packagemanager>" in up
    assert "use_for_bootstrap" not in up and '<repository>\n        <source path="dir:///var' in up
    assert loads(up).layout == desc.layout
    path = tmp_path / "up.kiwi"
    path.write_text(up)
    assert kiwi_state(path).build_type.get_root_clone() == "1"


def test_upgrade_of_current_version_is_a_no_op() -> None:
    desc = load(DATA / "16-bom-doctype.kiwi")
    assert to_bytes(desc, desc.layout, upgrade=True) == (DATA / "16-bom-doctype.kiwi").read_bytes()


def test_upgrade_82_console() -> None:
    desc = load(DATA / "09-schema-82.xml")
    up = to_bytes(desc, desc.layout, upgrade=True).decode()
    assert 'schemaversion="8.5"' in up and 'output_console="console"' in up and " console=" not in up


def test_too_old_to_upgrade() -> None:
    text = (DATA / "08-schema-74.kiwi").read_text().replace('schemaversion="7.4"', 'schemaversion="6.2"')
    desc = loads(text)
    assert to_bytes(desc, desc.layout.with_changes(root_clone=2))  # written in its own version
    with pytest.raises(DescriptionError, match="7.4 and later"):
        to_bytes(desc, desc.layout, upgrade=True)


# --- saving -------------------------------------------------------------------
def test_save_keeps_mode_and_follows_symlinks(tmp_path: Path) -> None:
    target = tmp_path / "config.kiwi"
    target.write_bytes((DATA / "01-doc-example.kiwi").read_bytes())
    target.chmod(0o640)
    link = tmp_path / "link.kiwi"
    link.symlink_to(target)
    desc = load(link)
    again = save(desc, desc.layout.with_changes(root_clone=4), link)
    assert link.is_symlink()
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert b'root_clone="4"' in target.read_bytes()
    assert again.layout.root_clone == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.kiwi", "link.kiwi"]


@pytest.mark.parametrize("where", ["missing dir", "parent is a file", "a directory"])
def test_unwritable_path(where: str, tmp_path: Path) -> None:
    source = tmp_path / "config.kiwi"
    source.write_bytes((DATA / "01-doc-example.kiwi").read_bytes())
    before = source.read_bytes()
    (tmp_path / "dir").mkdir()
    out = {
        "missing dir": tmp_path / "nope" / "out.kiwi",
        "parent is a file": source / "out.kiwi",
        "a directory": tmp_path / "dir",
    }[where]
    desc = load(source)
    with pytest.raises(DescriptionError, match="cannot write") as info:
        save(desc, desc.layout.with_changes(root_clone=2), out)
    assert "\n" not in str(info.value)
    assert source.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.kiwi", "dir"]


def test_failure_during_write_leaves_the_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "config.kiwi"
    target.write_bytes(b"original")

    def broken(src: str, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", broken)
    with pytest.raises(DescriptionError, match="No space left"):
        write_atomic(target, b"new content")
    assert target.read_bytes() == b"original"
    assert os.listdir(tmp_path) == ["config.kiwi"]


def test_save_returns_the_base_for_the_next_save(tmp_path: Path) -> None:
    path = tmp_path / "c.kiwi"
    path.write_bytes((DATA / "04-msdos-bios.kiwi").read_bytes())
    desc = load(path)
    desc = save(desc, desc.layout.with_changes(root_clone=1), path)
    desc = save(desc, desc.layout.with_partition("var", clone=2), path)
    assert load(path).layout == desc.layout
    assert desc.layout.root_clone == 1 and desc.layout.partition("var").clone == 2  # type: ignore[union-attr]


def test_text_values_keep_their_blanks_and_numbers_their_layout() -> None:
    desc = loads('<type image="oem"><oemconfig><oem-swapname> a </oem-swapname>'
                 '<oem-systemsize> 5 </oem-systemsize></oemconfig></type>')
    for name in ("b", " ", "  c "):
        out = to_bytes(desc, desc.layout.with_changes(oem_swapname=name, oem_systemsize=7))
        assert f"<oem-swapname>{name}</oem-swapname>".encode() in out
        assert b"<oem-systemsize> 7 </oem-systemsize>" in out
        assert to_bytes(loads(out), desc.layout) == desc.raw
