"""`partwright inspect` on what a user may give it: a corrupt primary GPT, an
IMAGE.partids that disagrees (warnings; exit 1 under --strict), a missing
path, a directory, a UML COW file and a qcow2 overlay (read through their
backing files, or one line when the backing file is gone), and a block
device (read only). The image is never written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.host import kernel
from engine.image.build import build
from engine.layout.example import EXAMPLE_LAYOUT
from engine.layout.model import Layout
from engine.plan.planner import plan as make_plan
from tests.support.cli import cli, one_line
from tests.support.image import needs_tools, sparse_sha256

pytestmark = needs_tools


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("inspect") / "seed.img"
    build(make_plan(EXAMPLE_LAYOUT), str(out), seed="inspect")
    return out


@pytest.fixture()
def image(built: Path, tmp_path: Path) -> Path:
    """A private copy of the built image and its partids."""
    out = tmp_path / "seed.img"
    subprocess.run(["cp", "--sparse=always", str(built), str(out)], check=True)
    shutil.copy(f"{built}.partids", f"{out}.partids")
    return out


def warnings(stderr: str) -> list[str]:
    assert "Traceback" not in stderr
    return [ln for ln in stderr.splitlines() if ln.startswith("partwright: warning: ")]


def test_a_clean_image_has_no_warnings_even_under_strict(image: Path) -> None:
    proc = cli("inspect", "--strict", str(image))
    assert proc.returncode == 0 and proc.stderr == ""
    assert "agrees with the image" in proc.stdout


def test_a_corrupt_primary_gpt_is_a_warning(image: Path) -> None:
    with open(image, "r+b") as fh:  # one byte of the primary header's disk GUID
        fh.seek(512 + 60)
        byte = fh.read(1)
        fh.seek(512 + 60)
        fh.write(bytes([byte[0] ^ 0xFF]))
    before = sparse_sha256(image)
    proc = cli("inspect", str(image))
    assert proc.returncode == 0, proc.stderr
    [line] = warnings(proc.stderr)
    assert "primary GPT is corrupt" in line and "backup" in line
    assert "p.lxroot" in proc.stdout  # still read, from the backup
    strict = cli("inspect", "--strict", "--json", str(image))
    assert strict.returncode == 1
    assert any("primary GPT" in w for w in json.loads(strict.stdout)["warnings"])
    assert sparse_sha256(image) == before


def test_a_missing_backup_gpt_is_a_warning(image: Path) -> None:
    with open(image, "r+b") as fh:
        fh.truncate(os.path.getsize(image) + 1024 * 1024)  # grown: the backup is not at the end
    [line] = warnings(cli("inspect", str(image)).stderr)
    assert "backup GPT at the end of the disk is missing" in line


def test_partids_that_disagree_are_warnings(image: Path) -> None:
    partids = Path(f"{image}.partids")
    text = partids.read_text().replace('kiwi_rootPartClone1="8"', 'kiwi_rootPartClone1="9"')
    partids.write_text(text.replace('kiwi_BootPart="4"', 'kiwi_BootPart="12"'))
    proc = cli("inspect", str(image))
    assert proc.returncode == 0
    found = warnings(proc.stderr)
    assert len(found) == 3, proc.stderr
    assert any("kiwi_rootPartClone1=9: names the same partition as kiwi_RootPart=9" in w
               for w in found)
    assert any("kiwi_BootPart=12: the image has no partition 12" in w for w in found)
    assert any("kiwi_bootPartClone1=3: partition 3 is not a clone of partition 12" in w
               for w in found)
    assert not any("shares its identifiers with 9" in w for w in found)
    assert cli("inspect", "--strict", str(image)).returncode == 1


def test_missing_path_and_directory(tmp_path: Path) -> None:
    proc = cli("inspect", str(tmp_path / "none.img"))
    assert proc.returncode == 2 and "none.img does not exist" in one_line(proc.stderr)
    proc = cli("inspect", str(tmp_path))
    assert proc.returncode == 2 and "is a directory" in one_line(proc.stderr)
    proc = cli("inspect", "/dev/null")
    assert proc.returncode == 2 and "neither a disk image file nor a block device" in one_line(
        proc.stderr)


def test_a_uml_cow_is_read_through_its_backing_file(image: Path, tmp_path: Path) -> None:
    cow = tmp_path / "host.cow"
    assert cli("cow", "create", "--backing", str(image), str(cow)).returncode == 0
    record = Path(f"{cow}.backing.json").read_bytes()
    proc = cli("inspect", "--json", str(cow))
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert found["format"] == "uml-cow" and found["table"] == "gpt"
    assert [(c["origin"], c["clone"]) for c in found["clones"]] == [(4, 3), (7, 5), (7, 6), (9, 8)]
    assert Path(f"{cow}.backing.json").read_bytes() == record
    moved = tmp_path / "moved.img"
    image.rename(moved)
    proc = cli("inspect", str(cow))
    assert proc.returncode == 2 and "does not exist" in one_line(proc.stderr)


def test_a_qcow2_overlay_is_read_or_its_missing_backing_named(image: Path, tmp_path: Path) -> None:
    overlay = tmp_path / "host.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(image), "-F", "raw",
                    str(overlay)], check=True)
    proc = cli("inspect", "--json", str(overlay))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["format"] == "qcow2"
    image.rename(tmp_path / "gone.img")
    proc = cli("inspect", str(overlay))
    assert proc.returncode == 2
    line = one_line(proc.stderr)
    assert "qcow2 overlay over" in line and str(image) in line and "does not exist" in line


def test_a_file_without_a_table_says_what_it_is(tmp_path: Path) -> None:
    junk = tmp_path / "junk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(junk), "16M"], check=True)
    proc = cli("inspect", str(junk))
    assert proc.returncode == 2 and "(qcow2): no partition table found" in one_line(proc.stderr)


SMALL = Layout(firmware="bios", filesystem="ext4", root_clone=1, oem_systemsize=48,
               oem_resize=False, size_mb=128)  # a block device is read whole: keep it small


@pytest.mark.skipif(bool(kernel.missing("loop")), reason=kernel.missing("loop") or "")
def test_a_block_device_is_read_read_only(tmp_path: Path) -> None:
    image = tmp_path / "small.img"
    build(make_plan(SMALL), str(image), seed="block")
    before = sparse_sha256(image)
    loop = subprocess.run(["losetup", "-r", "-f", "--show", str(image)], capture_output=True,
                          text=True, check=True).stdout.strip()
    try:
        proc = cli("inspect", "--json", loop)
        assert proc.returncode == 0, proc.stderr
        found = json.loads(proc.stdout)
        assert found["format"] == "block device" and found["disk_bytes"] == 128 << 20
        # no IMAGE.partids next to a device, no GPT names on msdos: the pair is
        # found, its origin is the lower number
        assert [(c["origin"], c["clone"], c["identical"]) for c in found["clones"]] == [
            (1, 2, False)]
        assert found["duplicates"] == [] and found["partids"] is None
    finally:
        subprocess.run(["losetup", "-d", loop], check=False)
    assert sparse_sha256(image) == before
