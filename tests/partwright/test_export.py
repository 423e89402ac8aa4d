"""`partwright export` and `partwright example` from the command line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from engine.kiwi.read import load, loads
from engine.layout.example import EXAMPLE_LAYOUT
from engine.plan.planner import plan as make_plan
from partwright.cli import main
from tests.support import paths
from tests.support.kiwi_check import kiwi_layout_facts, kiwi_state, layout_facts

DATA = paths.DATA / "descriptions"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.kiwi"
    shutil.copyfile(DATA / "01-doc-example.kiwi", path)
    return path


def test_example_to_stdout(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, err = run(capsys, "example")
    assert status == 0 and err == ""
    assert loads(out).layout == EXAMPLE_LAYOUT
    path = tmp_path / "ex.kiwi"
    path.write_text(out)
    assert kiwi_layout_facts(kiwi_state(path)) == layout_facts(EXAMPLE_LAYOUT)


def test_example_to_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "ex.kiwi"
    status, out, _ = run(capsys, "example", "-o", str(path))
    assert status == 0 and out == ""
    assert load(path).layout == EXAMPLE_LAYOUT


def test_export_with_sets(capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path) -> None:
    before = config.read_bytes()
    out = tmp_path / "out.kiwi"
    status, _, err = run(
        capsys, "export", str(config), "-o", str(out),
        "--set", "root_clone=2", "--set", "partition.home.clone=3", "--set", "partition.home.size=20",
        "--set", "oem-systemsize=4096", "--set", "size=50G", "--set", "firmware=efi",
        "--set", "partition.data.size=1G", "--set", "partition.data.mountpoint=/data",
        "--set", "bootfilesystem=",
    )
    assert status == 0, err
    assert config.read_bytes() == before  # FILE untouched
    lay = load(out).layout
    assert (lay.root_clone, lay.oem_systemsize, lay.size_mb, lay.firmware, lay.bootfilesystem) == (
        2, 4096, 50 * 1024, "efi", None)
    home, data = lay.partitions
    assert (home.clone, home.size_mb) == (3, 20)
    assert (data.name, data.size_mb, data.mountpoint) == ("data", 1024, "/data")
    assert kiwi_layout_facts(kiwi_state(out)) == layout_facts(lay)


def test_export_without_sets_is_a_copy(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A copy byte for byte; a layout KIWI fails on is not written (exit 1)."""
    copied = refused = 0
    for src in sorted(DATA.glob("*.kiwi")):
        out = tmp_path / src.name
        profile = ["--profile", "Large"] if "profiles" in src.name else []
        failing = bool(make_plan(load(src, profile=profile[1] if profile else None).layout).errors)
        status, stdout, err = run(capsys, "export", str(src), "-o", str(out), *profile)
        if failing:
            assert status == 1 and not out.exists() and stdout == ""
            assert len(err.splitlines()) == 1 and f"{out}: not written" in err
            refused += 1
        else:
            assert status == 0, err
            assert out.read_bytes() == src.read_bytes()
            copied += 1
    assert copied >= 8 and refused >= 3


def test_export_over_file_only_when_named(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    status, _, err = run(capsys, "export", str(config), "-o", str(config), "--set", "root_clone=3")
    assert status == 0, err
    assert load(config).layout.root_clone == 3


def test_bare_type_becomes_full_description(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "full.kiwi"
    status, _, err = run(capsys, "export", str(DATA / "14-bare-type.xml"), "-o", str(out), "--name", "ab-system")
    assert status == 0, err
    text = out.read_text()
    assert '<image schemaversion="8.5" name="ab-system">' in text and "PLACEHOLDER" in text
    assert load(out).layout == load(DATA / "14-bare-type.xml").layout
    kiwi_state(out)


def test_type_only_and_profile(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "export", str(DATA / "02-profiles.kiwi"), "-o", "-", "--type-only",
                         "--profile", "Large", "--set", "partition.logs.clone=2",
                         "--set", "size=60G")  # room for the clones: no layout error
    assert status == 0
    assert out.startswith('<type image="oem" filesystem="xfs"')
    lay = loads(out).layout
    assert lay.root_clone == 2 and lay.partition("logs").clone == 2  # type: ignore[union-attr]


def test_type_index(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "export", str(DATA / "10-several-types.kiwi"), "-o", "-", "--type", "1",
                         "--type-only", "--set", "size=8G")
    assert status == 0 and loads(out).layout.firmware == "bios"
    status, _, err = run(capsys, "export", str(DATA / "10-several-types.kiwi"), "-o", "-", "--type", "0")
    assert status == 2 and "image='iso' is not oem" in err


def test_upgrade(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "up.kiwi"
    fits = ("--set", "size=12G")  # the description's disk is too small for its clones
    assert run(capsys, "export", str(DATA / "08-schema-74.kiwi"), "-o", str(out), *fits)[0] == 0
    assert 'schemaversion="7.4"' in out.read_text()
    assert run(capsys, "export", str(DATA / "08-schema-74.kiwi"), "-o", str(out), "--upgrade",
               *fits)[0] == 0
    assert 'schemaversion="8.5"' in out.read_text()
    kiwi_state(out)


@pytest.mark.parametrize("args,pattern", [
    (["--set", "rootclone=2"], "--set 'rootclone': unknown attribute"),
    (["--set", "partition.home.colour=red"], "unknown partition attribute 'colour'"),
    (["--set", "partition.nope.clone=1"], "no partition 'nope'"),
    (["--set", "root_clone=-1"], "root_clone=-1: '-1' is negative"),
    (["--set", "root_clone"], "expected KEY=VALUE"),
    (["--set", "size=10T"], "unknown unit 'T'"),
    (["--set", "firmware=coreboot"], "firmware=coreboot"),
    (["--set", "partition.swap.size=10"], "reserved"),
    (["--set", "partition.home.partition_name=" + "x" * 40], "at most 32"),
    (["--set", "luks_version=luks9", "--set", "luks=hunter2"], "luks_version"),
    (["--profile", "nope"], "no profile 'nope'"),
])
def test_bad_edits_exit_2(capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path,
                          args: list[str], pattern: str) -> None:
    before = config.read_bytes()
    out = tmp_path / "out.kiwi"
    status, stdout, err = run(capsys, "export", str(config), "-o", str(out), *args)
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("partwright: error: ")
    assert pattern in err
    assert "hunter2" not in err
    assert not out.exists()
    assert config.read_bytes() == before


def test_unwritable_output(capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path) -> None:
    before = config.read_bytes()
    status, _, err = run(capsys, "export", str(config), "-o", str(tmp_path / "no" / "such" / "dir.kiwi"))
    assert status == 2 and "cannot write" in err and err.count("\n") == 1
    assert config.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.kiwi"]


@pytest.mark.parametrize("text,pattern", [
    ('<image schemaversion="8.5" name="x">\n  <preferences>\n', r":3:1: not well-formed XML"),
    ("<config/>", "not a KIWI description"),
    ('<type image="oem"><partitions><partition name="a" size="1"/></partitions>'
     '<partitions><partition name="b" size="1"/></partitions></type>', "a second <partitions>"),
    ('<type image="oem"><partitions><partition name="a" size="1"/><partition name="a" size="1"/></partitions></type>',
     "duplicate partition name"),
])
def test_bad_input_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, pattern: str) -> None:
    src = tmp_path / "bad.kiwi"
    src.write_text(text)
    status, _, err = run(capsys, "export", str(src), "-o", str(tmp_path / "out.kiwi"))
    assert status == 2 and err.count("\n") == 1 and str(src) in err
    assert re.search(pattern, err), err
    assert src.read_text() == text
    assert not (tmp_path / "out.kiwi").exists()
