"""`partwright preview` and `partids` as a user runs them: exit statuses,
JSON, one-line errors and never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import cli as run
from tests.support.cli import one_line
from tests.support.paths import DATA
from tests.support.seed import SEED, SEED_PARTIDS


def test_preview_prints_the_sgdisk_like_table() -> None:
    r = run("preview", str(SEED))
    assert r.returncode == 0, r.stderr
    assert "5531648" in r.stdout and "p.lxrootclone1" in r.stdout
    assert "Start (sector)" in r.stdout and "free space" in r.stdout


def test_preview_json_contract() -> None:
    r = run("preview", str(SEED), "--json")
    assert r.returncode == 0
    data = json.loads(r.stdout)
    assert data["disk_sectors"] == 209715200
    assert data["partitions"][8]["start"] == 5531648
    assert data["partitions"][8]["role"] == "root" and data["partitions"][7]["clone_of"] == "root"
    assert data["free"] == [{"start": 9725952, "end": 209715166, "sectors": 199989215}]


def test_partids_byte_exact() -> None:
    r = run("partids", str(SEED))
    assert r.returncode == 0 and r.stdout == SEED_PARTIDS


def test_strict_turns_warnings_into_exit_1(tmp_path: Path) -> None:
    xml = SEED.read_text().replace("<oem-resize>false</oem-resize>", "")
    f = tmp_path / "w.xml"
    f.write_text(xml)
    assert run("preview", str(f)).returncode == 1  # root clones + custom + all free: an error
    f.write_text('<type image="oem" filesystem="ext4" firmware="efi" root_clone="1">'
                 '<oemconfig><oem-systemsize>1024</oem-systemsize></oemconfig>'
                 '<size unit="G">8</size></type>')  # root clones with resize on: a warning
    assert run("preview", str(f)).returncode == 0
    assert run("preview", str(f), "--strict").returncode == 1


def _type(tmp_path: Path, body: str) -> Path:
    f = tmp_path / "t.xml"
    f.write_text(body)
    return f


BAD = {
    "not-xml": "this is not xml",
    "truncated": '<type image="oem" filesystem="ext4"',
    "no-type": "<image schemaversion='8.5' name='x'><preferences/></image>",
    "non-oem": '<type image="iso" filesystem="ext4"/>',
    "negative-size": '<type image="oem" filesystem="ext4"><partitions>'
                     '<partition name="home" size="-5"/></partitions></type>',
    "non-numeric-size": '<type image="oem" filesystem="ext4"><partitions>'
                        '<partition name="home" size="big"/></partitions></type>',
    "unknown-unit": '<type image="oem" filesystem="ext4"><size unit="T">5</size></type>',
    "clone-minus-1": '<type image="oem" filesystem="ext4"><partitions>'
                     '<partition name="home" size="5" clone="-1"/></partitions></type>',
    "unknown-firmware": '<type image="oem" filesystem="ext4" firmware="coreboot"/>',
    "unknown-filesystem": '<type image="oem" filesystem="zfs"/>',
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_exit_2(tmp_path: Path, case: str) -> None:
    r = run("preview", str(_type(tmp_path, BAD[case])))
    assert r.returncode == 2, (case, r.stdout, r.stderr)
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("partwright: error: ")
    assert "Traceback" not in r.stderr and str(tmp_path) in r.stderr


def test_ten_mib_disk_is_a_layout_error(tmp_path: Path) -> None:
    r = run("preview", str(_type(tmp_path, '<type image="oem" filesystem="ext4" firmware="efi">'
                                           '<size unit="M">10</size></type>')), "--json")
    assert r.returncode == 1
    codes = [d["code"] for d in json.loads(r.stdout)["diagnostics"]]
    assert "disk-too-small" in codes


def test_ten_thousand_clones_is_a_diagnostic(tmp_path: Path) -> None:
    body = SEED.read_text().replace('clone="2"', 'clone="10000"')
    r = run("preview", str(_type(tmp_path, body)), "--json")
    assert r.returncode == 1
    assert "gpt-entries" in [d["code"] for d in json.loads(r.stdout)["diagnostics"]]


def test_root_mbytes_and_arch(tmp_path: Path) -> None:
    f = _type(tmp_path, '<type image="oem" filesystem="ext4" firmware="efi"/>')
    small = json.loads(run("preview", str(f), "--json", "--root-mbytes", "100").stdout)
    large = json.loads(run("preview", str(f), "--json", "--root-mbytes", "4000").stdout)
    assert small["disk_sectors"] < large["disk_sectors"]
    assert small["disk_size_estimated"] is True
    arm = json.loads(run("preview", str(f), "--json", "--arch", "aarch64").stdout)
    assert [p["name"] for p in arm["partitions"]] == ["p.UEFI", "p.lxroot"]


def test_export_set_renames_a_partition(tmp_path: Path) -> None:
    out = tmp_path / "renamed.kiwi"
    r = run("export", str(SEED), "-o", str(out), "--set", "partition.home.name=data")
    assert r.returncode == 0, r.stderr
    assert '<partition name="data" size="10"' in out.read_text()
    r = run("export", str(SEED), "-o", str(out), "--set", "partition.home.name=boot")
    assert r.returncode == 2 and "reserved" in r.stderr and "Traceback" not in r.stderr


def test_list_types_and_profile() -> None:
    desc = DATA / "descriptions" / "02-profiles.kiwi"
    r = run("preview", str(desc), "--list-types")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert len(lines) == 3 and "profiles=Small" in lines[0] and "(chosen)" in lines[0]
    assert "image=iso" in lines[2]
    small = json.loads(run("preview", str(desc), "--json").stdout)
    large = json.loads(run("preview", str(desc), "--json", "--profile", "Large").stdout)
    assert small != large
    assert "(chosen)" in run("preview", str(desc), "--list-types", "--profile", "Large"
                             ).stdout.splitlines()[1]


def test_partids_of_a_layout_with_errors_prints_nothing_on_stdout() -> None:
    r = run("partids", str(DATA / "descriptions" / "03-lvm-systemdisk.kiwi"))
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("partwright: error: ") and "Traceback" not in r.stderr


def test_preview_and_partids_read_standard_input() -> None:
    data = SEED.read_text()
    r = run("preview", "-", stdin=data)
    assert r.returncode == 0 and r.stdout == run("preview", str(SEED)).stdout
    r = run("partids", "-", stdin=data)
    assert r.returncode == 0 and r.stdout == SEED_PARTIDS
    r = run("preview", "-", "--json", stdin="<type image='oem'")
    assert r.returncode == 2 and r.stdout == ""
    assert one_line(r.stderr).startswith("partwright: error: /dev/stdin:")


def test_export_of_a_layout_with_errors_warns_and_writes_nothing(tmp_path: Path) -> None:
    src = DATA / "descriptions" / "03-lvm-systemdisk.kiwi"
    out = tmp_path / "out.kiwi"
    r = run("export", str(src), "-o", str(out))
    assert r.returncode == 1 and r.stdout == "" and not out.exists()
    line = one_line(r.stderr)
    assert f"{out}: not written" in line and "disk-too-small" in line
    r = run("export", str(src), "-o", "-")
    assert r.returncode == 1 and r.stdout == "" and "standard output: not written" in r.stderr
    r = run("export", "-", "-o", str(out), "--set", "size=30G", stdin=src.read_text())
    assert r.returncode == 0, r.stderr
    assert out.read_text() == src.read_text().replace('>20480<', '>30720<')
