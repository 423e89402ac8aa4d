"""`partwright export FILE --target ...` from the command line: the files,
the naming options, and bad input (one line, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from partwright.cli import main
from tests.support.targets import SEED


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        status = main(list(argv))
    except SystemExit as exc:  # argparse's own refusals
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def test_each_target_writes_its_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    want = {
        "rauc": ["grub.cfg", "system.conf"],
        "repart": [f"0{n}-{name}.conf" for n, name in enumerate(
            ["p.legacy", "p.UEFI", "p.lxbootclone1", "p.lxboot", "p.lxhomeclone1",
             "p.lxhomeclone2", "p.lxhome", "p.lxrootclone1", "p.lxroot"], 1)],
        "sysupdate": ["10-rootfs.transfer", "20-boot.transfer"],
    }
    for target, files in want.items():
        out = tmp_path / target
        status, _, err = run(capsys, "export", str(SEED), "--target", target, "--disk", "/dev/sda",
                             "-o", str(out))
        assert status == 0, err
        assert sorted(p.name for p in out.iterdir()) == sorted(files)
    sw = tmp_path / "sw-description"
    status, _, err = run(capsys, "export", str(SEED), "--target", "swupdate", "-o", str(sw))
    assert status == 0 and 'device = "/dev/disk/by-partlabel/p.lxrootclone1";' in sw.read_text()
    assert "naming-can-collide" in err  # by-partlabel: the same names on every disk of this image
    assert list(tmp_path.glob(".*partial*")) == []


def test_mender_with_sets_and_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, err = run(
        capsys, "export", str(SEED), "--target", "mender", "--disk", "/dev/mmcblk0", "--json",
        "--set", "boot_clone=0", "--set", "bootpartition=false", "--set", "partition.home.clone=0",
        "--set", "partition.data.size=64", "--set", "partition.data.mountpoint=/data",
        "-o", str(tmp_path / "mender"))
    assert status == 0, err
    doc = json.loads(out)
    conf = json.loads(doc["files"]["mender.conf"])
    assert conf == json.loads((tmp_path / "mender" / "mender.conf").read_text())
    assert conf["RootfsPartA"].startswith("/dev/mmcblk0p")


@pytest.mark.parametrize(("argv", "status", "message"), [
    (["--target", "foo"], 2, "invalid choice: 'foo'"),
    (["--target", "rauc", "--disk", "sda"], 2, "--disk 'sda' is not a device path"),
    (["--target", "rauc", "--disk", "/tmp/x.img"], 2, "is not a device path"),
    (["--target", "mender"], 1, "mender: mender-boot-clone (boot): Mender keeps the kernel"),
    (["--target", "rauc", "--type-only"], 2, "--type-only writes a description"),
    (["--disk", "/dev/sda"], 2, "--disk needs --target"),
    (["--target", "rauc", "--image", "/nonexistent.img"], 2, "--image /nonexistent.img: no such file"),
    (["--target", "rauc", "--devices", "disk"], 2, "--devices disk needs --disk DEV"),
])
def test_bad_input_is_one_line_and_nothing_is_written(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], status: int,
        message: str) -> None:
    out = tmp_path / "out"
    got, stdout, err = run(capsys, "export", str(SEED), *argv, "-o", str(out))
    assert got == status
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert stdout == "" and not out.exists() and list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_updated_and_a_stale_definition_refused(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "repart.d"
    assert run(capsys, "export", str(SEED), "--target", "repart", "-o", str(out))[0] == 0
    (out / "01-p.legacy.conf").write_text("stale\n")
    assert run(capsys, "export", str(SEED), "--target", "repart", "-o", str(out))[0] == 0
    assert (out / "01-p.legacy.conf").read_text().startswith("# partition 1 of the plan")
    (out / "10-extra.conf").write_text("[Partition]\nType=swap\n")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    status, _, err = run(capsys, "export", str(SEED), "--target", "repart", "-o", str(out))
    assert status == 2 and "holds 10-extra.conf" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_partuuids_from_the_built_image_equal_those_of_its_seed(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    image = tmp_path / "seed.img"
    status, _, err = run(capsys, "build", str(SEED), "-o", str(image), "--seed", "demo")
    assert status == 0, err
    texts = []
    for source in (["--image", str(image)], ["--seed", "demo"]):
        status, out, err = run(capsys, "export", str(SEED), "--target", "rauc", *source, "-o", "-")
        assert status == 0, err
        texts.append(out)
    assert texts[0] == texts[1]
    assert texts[0].count("device=/dev/disk/by-partuuid/") == 7
    assert "root=PARTUUID=" in texts[0]
    status, _, err = run(capsys, "export", str(SEED), "--target", "rauc", "--image", str(image),
                         "--set", "root_clone=2", "-o", str(tmp_path / "x"))
    assert status == 2 and "not an image of this layout" in err


def test_check_refuses_a_hand_broken_system_conf_for_rauc_s_reason(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, _ = run(capsys, "export", str(SEED), "--target", "rauc", "-o", "-")
    conf = tmp_path / "system.conf"
    conf.write_text(out.split("# ==> grub.cfg <==")[0].split("<==\n", 1)[1].replace(
        "type=raw", "type=xfs", 1))
    status, _, err = run(capsys, "export", str(SEED), "--target", "rauc", "--check", str(conf))
    assert status == 1
    assert "rauc-refuses (home.0): Unsupported slot type 'xfs' for slot home.0 selected in system config" in err
