"""LVM in a region of an image (engine/image/lvm.py): a VG with logical
volumes on a loop device attached by offset, filesystems written at the
volumes' extents, and clones made unique with vgimportclone. The checks read
the image with the LVM tools under a private configuration of the test's
own, and with blkid/e2fsck at the reported offsets."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from engine.errors import PartwrightError
from engine.host import kernel, sparse
from engine.image import lvm
from tests.support.image import blkid

needs_loop = pytest.mark.skipif(not kernel.has_loop(), reason=kernel.missing("loop") or "")

MIB = 1 << 20
IMAGE_MIB = 512  # the `image` fixture's size
PV_SIZE = 128 * MIB
ORIGIN = 1 * MIB
CLONES = (160 * MIB, 320 * MIB)


def attached_to(image: Path) -> list[str]:
    out = subprocess.run(["losetup", "-j", str(image)], capture_output=True, text=True,
                         check=False).stdout
    return [ln for ln in out.splitlines() if ln.strip()]


@contextmanager
def loops(image: Path, offsets: tuple[int, ...], tmp: Path) -> Iterator[dict[str, str]]:
    """The test's own view: every region on a loop, one private lvm.conf
    that accepts exactly those loops; yields the environment for the tools."""
    with ExitStack() as stack:
        devices = []
        for offset in offsets:
            dev = subprocess.run(["losetup", "-f", "--show", "-o", str(offset), "--sizelimit",
                                  str(PV_SIZE), str(image)], capture_output=True, text=True,
                                 check=True).stdout.strip()
            stack.callback(subprocess.run, ["losetup", "-d", dev], check=False)
            devices.append(dev)
        conf_dir = tmp / "testlvm"
        conf_dir.mkdir(exist_ok=True)
        accept = ", ".join(f'"a|^{d}$|"' for d in devices)
        (conf_dir / "lvm.conf").write_text(
            f'devices {{ obtain_device_list_from_udev=0 hints="none" use_devicesfile=0'
            f' filter=[{accept}, "r|.*|"] }}\n'
            f'global {{ activation=0 locking_dir="{conf_dir}" }}\n'
            'backup { backup=0 archive=0 }\n')
        env = dict(os.environ, LVM_SYSTEM_DIR=str(conf_dir), LVM_SUPPRESS_FD_WARNINGS="1")
        with kernel.dm_control_guard():
            yield env


def report(env: dict[str, str], *args: str) -> list[list[str]]:
    out = subprocess.run(["lvm", *args, "--noheadings", "--separator", "|"], env=env,
                         capture_output=True, text=True, check=True).stdout
    return [[f.strip() for f in ln.split("|")] for ln in out.splitlines() if ln.strip()]


def make_vg(image: Path) -> lvm.VgInfo:
    vg = lvm.create_volume_group(
        str(image), ORIGIN, PV_SIZE,
        [lvm.VolumeRequest("LVRoot", None), lvm.VolumeRequest("LVhome", 24 * MIB),
         lvm.VolumeRequest("LVswap", 8 * MIB)],
        pv_uuid=lvm.lvm_uuid("7d4a3b2c-0000-4000-8000-000000000001"))
    for lv, fs in ((vg.volume("LVRoot"), "ext4"), (vg.volume("LVhome"), "ext3")):
        subprocess.run([f"mkfs.{fs}", "-q", "-F", "-L", lv.name, "-E", f"offset={lv.offset}",
                        str(image), f"{lv.size // 1024}k"], check=True, capture_output=True)
    swap = vg.volume("LVswap")
    with open(image, "r+b") as fh:  # mkswap has no offset option: a file, copied in
        tmp = str(image) + ".swap"
        with open(tmp, "wb") as sw:
            sw.truncate(swap.size)
        subprocess.run(["mkswap", "-q", tmp], check=True, capture_output=True)
        with open(tmp, "rb") as sw:
            sparse.copy_range(sw.fileno(), 0, fh.fileno(), swap.offset, swap.size)
        os.unlink(tmp)
    return vg


@needs_loop
def test_volume_group_and_extents(image: Path, tmp_path: Path) -> None:
    vg = make_vg(image)
    assert vg.name == "systemVG" and vg.extent_size == 4 * MIB and vg.pe_start == MIB
    assert vg.pv_uuid == lvm.lvm_uuid("7d4a3b2c-0000-4000-8000-000000000001")
    assert [lv.name for lv in vg.volumes] == ["LVhome", "LVswap", "LVRoot"]  # sized ones first
    home, swap, root = vg.volumes
    assert home.size == 24 * MIB and swap.size == 8 * MIB and vg.free_extents == 0
    assert root.extents == vg.extent_count - home.extents - swap.extents
    assert home.offset == ORIGIN + MIB and swap.offset == home.offset + home.size
    assert root.offset == swap.offset + swap.size
    assert root.offset + root.size <= ORIGIN + PV_SIZE
    # the test's own reading of the metadata agrees
    with loops(image, (ORIGIN,), tmp_path) as env:
        rows = report(env, "pvs", "-o", "pv_uuid,vg_name,pe_start,vg_extent_size", "--units", "b",
                      "--nosuffix")
        assert rows == [[vg.pv_uuid, "systemVG", str(MIB), str(4 * MIB)]]
        segs = report(env, "lvs", "--segments", "-o", "lv_name,seg_pe_ranges")
        ranges = {name: span.rpartition(":")[2] for name, span in segs}
        assert ranges == {lv.name: f"{lv.first_extent}-{lv.first_extent + lv.extents - 1}"
                          for lv in vg.volumes}
    # the filesystems are where the extents are
    assert blkid(image, root.offset)["TYPE"] == "ext4"
    assert blkid(image, root.offset)["LABEL"] == "LVRoot"
    assert blkid(image, home.offset)["TYPE"] == "ext3"
    assert blkid(image, swap.offset)["TYPE"] == "swap"
    assert attached_to(image) == []
    assert lvm.read_volume_group(str(image), ORIGIN, PV_SIZE) == vg


@needs_loop
def test_clones_get_new_identities(image: Path, tmp_path: Path) -> None:
    vg = make_vg(image)
    before = {lv.name: blkid(image, lv.offset)["UUID"] for lv in vg.volumes}
    clones = []
    for index, offset in enumerate(CLONES, start=1):
        with open(image, "r+b") as fh:
            sparse.copy_range(fh.fileno(), ORIGIN, fh.fileno(), offset, PV_SIZE)
        clones.append(lvm.import_clone(str(image), offset, PV_SIZE,
                                       lvm.clone_vg_name(vg.name, index),
                                       fs_uuids={"LVRoot": f"5f0c1e3a-1111-4222-8333-44445555666{index}"}))
    assert [c.name for c in clones] == ["systemVG1", "systemVG2"]
    # vgs/pvs with a private configuration see three distinct VGs and PVs
    with loops(image, (ORIGIN, *CLONES), tmp_path) as env:
        rows = report(env, "vgs", "-o", "vg_name,vg_uuid")
        pvs = report(env, "pvs", "-o", "pv_uuid,vg_name")
    assert sorted(r[0] for r in rows) == ["systemVG", "systemVG1", "systemVG2"]
    assert len({r[1] for r in rows}) == 3 and len({r[0] for r in pvs}) == 3
    assert {r[1]: r[0] for r in rows}.keys() == {vg.uuid, *(c.uuid for c in clones)}
    for clone in clones:
        assert clone.pv_uuid != vg.pv_uuid and clone.uuid != vg.uuid
        # LV UUIDs stay, as with KIWI; the layout of the extents too
        assert [(lv.name, lv.uuid, lv.first_extent, lv.extents) for lv in clone.volumes] == [
            (lv.name, lv.uuid, lv.first_extent, lv.extents) for lv in vg.volumes]
        # beyond KIWI: every filesystem inside has a new UUID, its label stays
        for lv in clone.volumes:
            found = blkid(image, lv.offset)
            assert found["UUID"] != before[lv.name], lv.name
            if lv.name != "LVswap":
                assert found["LABEL"] == lv.name
                check = subprocess.run(["e2fsck", "-fn", f"{image}?offset={lv.offset}"],
                                       capture_output=True, text=True, check=False)
                assert check.returncode == 0, check.stdout + check.stderr
    assert blkid(image, clones[1].volume("LVRoot").offset)["UUID"] == "5f0c1e3a-1111-4222-8333-444455556662"
    all_uuids = [blkid(image, lv.offset)["UUID"] for c in (vg, *clones) for lv in c.volumes]
    assert len(set(all_uuids)) == len(all_uuids)
    # the origin is untouched
    assert {lv.name: blkid(image, lv.offset)["UUID"] for lv in vg.volumes} == before
    assert lvm.read_volume_group(str(image), ORIGIN, PV_SIZE).uuid == vg.uuid
    assert attached_to(image) == []


@needs_loop
def test_always_detaches(image: Path) -> None:
    with pytest.raises(RuntimeError, match="inside"):
        with lvm.attach(str(image), ORIGIN, PV_SIZE) as session:
            assert session.loop.startswith("/dev/loop") and attached_to(image)
            raise RuntimeError("inside")
    assert attached_to(image) == []
    with pytest.raises(lvm.LvmError, match="no LVM volume group"):
        lvm.read_volume_group(str(image), ORIGIN, PV_SIZE)
    assert attached_to(image) == []
    with pytest.raises(PartwrightError, match="only one logical volume"):
        lvm.create_volume_group(str(image), ORIGIN, PV_SIZE,
                                [lvm.VolumeRequest("a", None), lvm.VolumeRequest("b", None)])


@needs_loop
def test_host_lvm_untouched(image: Path) -> None:
    """No backups, archives or device nodes on the host."""
    def host_state() -> set[str]:
        found = set()
        for top in ("/etc/lvm/backup", "/etc/lvm/archive", "/dev/mapper", "/run/lvm"):
            if os.path.isdir(top):
                found |= {os.path.join(top, n) for n in os.listdir(top)}
            elif os.path.exists(top):
                found.add(top)
        return found

    before = host_state()
    make_vg(image)
    assert host_state() == before


def test_needs_loop_devices(image: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernel, "has_loop", lambda *a: False)
    with pytest.raises(lvm.KernelFeatureMissing, match="LVM needs a loop device"):
        lvm.create_volume_group(str(image), ORIGIN, PV_SIZE, [lvm.VolumeRequest("LVRoot", None)])
    with pytest.raises(lvm.KernelFeatureMissing, match="loop-control"):
        lvm.import_clone(str(image), ORIGIN, PV_SIZE, "systemVG1")
    assert attached_to(image) == []


def test_lvm_uuid_form() -> None:
    value = lvm.lvm_uuid("7d4a3b2c-0000-4000-8000-000000000001")
    assert [len(g) for g in value.split("-")] == [6, 4, 4, 4, 4, 4, 6]
    assert value.replace("-", "").isalnum()
    assert value == lvm.lvm_uuid("7d4a3b2c-0000-4000-8000-000000000001")
    assert value != lvm.lvm_uuid("7d4a3b2c-0000-4000-8000-000000000002")
    assert lvm.clone_vg_name("systemVG", 2) == "systemVG2"
