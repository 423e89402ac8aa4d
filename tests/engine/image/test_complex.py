"""Builds with a LUKS root, an LVM <systemdisk> and md RAID members, and
their clones. Every image is read back with the tools themselves:
cryptsetup luksDump, vgs/pvs under a private configuration, mdadm --examine,
blkid and the filesystem checkers; the filesystems inside LUKS containers
are decrypted first (engine/image/luks.py, checked against cryptsetup in
test_image_luks.py)."""

from __future__ import annotations

import os
import subprocess
from contextlib import ExitStack
from pathlib import Path

import pytest

from engine.errors import PartwrightError
from engine.host import kernel, sparse
from engine.image import luks, lvm
from engine.image.build import BuildReport, build
from engine.image.identity import make_identity
from engine.layout.model import Layout
from engine.plan.model import Plan
from engine.plan.planner import plan as make_plan
from tests.support.containers import LUKS1, LUKS2, LVM, PASSPHRASE, RAID0, RAID1, group
from tests.support.image import blkid, needs_tools, sparse_sha256

pytestmark = needs_tools
needs_loop = pytest.mark.skipif(not kernel.has_loop(), reason=kernel.missing("loop") or "")

MIB = 1 << 20
@pytest.fixture(autouse=True)
def fast_luks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTWRIGHT_LUKS_FAST", "1")


def run_build(layout: Layout, out: Path, **kwargs: object) -> tuple[Plan, BuildReport]:
    plan = make_plan(layout)
    assert plan.ok, plan.errors
    report = build(plan, str(out), **kwargs)  # type: ignore[arg-type]
    assert report.warnings == ()
    assert all(c.ok for c in report.checks)
    return plan, report


def extract(image: Path, offset: int, size: int, target: Path) -> Path:
    with open(image, "rb") as src:
        sparse.extract(src.fileno(), offset, size, str(target))
    return target


def fields(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and key.strip() not in found:
            found[key.strip()] = value.strip()
    return found


# --- LUKS -------------------------------------------------------------------

@pytest.mark.parametrize("layout", [LUKS2, LUKS1], ids=["luks2-ext4", "luks1-xfs"])
def test_luks_root_and_clones(tmp_path: Path, layout: Layout) -> None:
    out = tmp_path / "luks.img"
    plan, report = run_build(layout, out, seed="luks-seed")
    ident = make_identity("luks-seed")
    version = "1" if layout.luks_version == "luks1" else "2"
    fstype = layout.filesystem or "ext4"
    container_uuids, fs_uuids = [], []
    for number, offset, size in group(plan):
        region = extract(out, offset, size, tmp_path / f"p{number}.img")
        dump = fields(subprocess.run(["cryptsetup", "luksDump", str(region)], capture_output=True,
                                     text=True, check=True).stdout)
        assert dump["Version"] == version
        assert dump["UUID"] == ident.uuid_str(f"luks-uuid/{number}")
        assert blkid(out, offset)["TYPE"] == "crypto_LUKS"
        container_uuids.append(dump["UUID"])
        with kernel.dm_control_guard():
            opened = subprocess.run(["cryptsetup", "open", "--test-passphrase", "--key-file=-",
                                     str(region)], input=PASSPHRASE.encode(), check=False)
        assert opened.returncode == 0
        payload = tmp_path / f"p{number}.plain"
        luks.read_payload(str(out), offset, size, luks.KeySource.from_passphrase(PASSPHRASE),
                          str(payload))
        inside = blkid(payload)
        assert inside["TYPE"] == fstype and inside["LABEL"] == "ROOT"
        fs_uuids.append(inside["UUID"])
        if fstype == "xfs":  # the log reads as zeros in the container, not as a hole's noise
            def xfs_db(command: str, path: Path = payload) -> str:
                return subprocess.run(["xfs_db", "-r", "-c", "sb 0", "-c", command, str(path)],
                                      capture_output=True, text=True, check=True).stdout

            sb = dict(ln.replace(" ", "").split("=") for ln in
                      xfs_db("p logstart logblocks blocksize").splitlines())
            log_at = int(xfs_db(f"convert fsb {sb['logstart']} byte").split()[0], 16)
            data_at = offset + luks.read_header(str(out), offset).data_offset
            with open(out, "rb") as fh:
                log_bytes = int(sb["logblocks"]) * int(sb["blocksize"])
                assert sparse.data_bytes(fh.fileno(), data_at + log_at, log_bytes) == log_bytes
        command = ["e2fsck", "-fn"] if fstype == "ext4" else ["xfs_repair", "-n"]
        check = subprocess.run([*command, str(payload)], capture_output=True, text=True,
                               check=False)
        assert check.returncode == 0, check.stdout + check.stderr
        region.unlink()
        payload.unlink()
    # distinct containers, and (beyond KIWI) distinct filesystems inside
    assert len(set(container_uuids)) == len(container_uuids) == 1 + layout.root_clone
    assert len(set(fs_uuids)) == len(fs_uuids)
    root = next(p for p in report.partitions if p.key == "root")
    assert root.uuid == fs_uuids[0]
    # the passphrase is in no file the build wrote, nor in its report
    for path in (out, Path(f"{out}.partids")):
        with open(path, "rb") as fh:  # holes hold nothing
            for start, length in sparse.extents(fh.fileno(), 0, os.path.getsize(path)):
                assert PASSPHRASE.encode() not in os.pread(fh.fileno(), length, start)
    assert PASSPHRASE not in repr(report) and PASSPHRASE not in str(report.to_json())
    assert PASSPHRASE not in repr(plan.layout)
    # sparse: the headers, the filesystems' metadata, nothing more
    assert report.allocated_bytes < (1 + layout.root_clone) * 100 * MIB


def test_luks_with_a_root_tree(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc" / "hostname").write_text("cryptbox\n")
    out = tmp_path / "tree.img"
    plan, _ = run_build(LUKS2.with_changes(root_clone=0), out, root_tree=str(tree))
    (_, offset, size), = group(plan)
    payload = tmp_path / "root.plain"
    luks.read_payload(str(out), offset, size, luks.KeySource.from_passphrase(PASSPHRASE),
                      str(payload))
    cat = subprocess.run(["debugfs", "-R", "cat /etc/hostname", str(payload)],
                         capture_output=True, text=True, check=True).stdout
    assert cat == "cryptbox\n"
    fstab = subprocess.run(["debugfs", "-R", "cat /etc/fstab", str(payload)],
                           capture_output=True, text=True, check=True).stdout
    assert f"UUID={blkid(payload)['UUID']} / ext4" in fstab


def test_luks_refusals(tmp_path: Path) -> None:
    out = tmp_path / "bad.img"
    for layout, message in ((LUKS2.with_changes(luks=""), "passphrase"),
                            (LUKS2.with_changes(mdraid="mirroring"), "not supported")):
        with pytest.raises(PartwrightError, match=message) as info:
            build(make_plan(layout), str(out))
        assert PASSPHRASE not in str(info.value)
        assert os.listdir(tmp_path) == []


# --- LVM --------------------------------------------------------------------

def private_lvm(image: Path, regions: list[tuple[int, int, int]], tmp: Path,
                stack: ExitStack) -> dict[str, str]:
    devices = []
    for _, offset, size in regions:
        dev = subprocess.run(["losetup", "-f", "--show", "-o", str(offset), "--sizelimit",
                              str(size), str(image)], capture_output=True, text=True,
                             check=True).stdout.strip()
        stack.callback(subprocess.run, ["losetup", "-d", dev], check=False)
        devices.append(dev)
    conf = tmp / "lvmconf"
    conf.mkdir()
    accept = ", ".join(f'"a|^{d}$|"' for d in devices)
    (conf / "lvm.conf").write_text(
        f'devices {{ obtain_device_list_from_udev=0 hints="none" use_devicesfile=0'
        f' filter=[{accept}, "r|.*|"] }}\nglobal {{ activation=0 locking_dir="{conf}" }}\n'
        "backup { backup=0 archive=0 }\n")
    stack.enter_context(kernel.dm_control_guard())
    return dict(os.environ, LVM_SYSTEM_DIR=str(conf), LVM_SUPPRESS_FD_WARNINGS="1")


def lvm_rows(env: dict[str, str], *args: str) -> list[list[str]]:
    out = subprocess.run(["lvm", *args, "--noheadings", "--separator", "|"], env=env,
                         capture_output=True, text=True, check=True).stdout
    return [[f.strip() for f in ln.split("|")] for ln in out.splitlines() if ln.strip()]


@needs_loop
def test_lvm_root_and_clones(tmp_path: Path) -> None:
    out = tmp_path / "lvm.img"
    plan, report = run_build(LVM, out, seed="lvm-seed")
    regions = group(plan)
    assert [e.name for e in plan.entries if e.role == "lvm"] == [
        "p.lxrootclone1", "p.lxrootclone2", "p.lxlvm"]
    with ExitStack() as stack:
        env = private_lvm(out, regions, tmp_path, stack)
        vgs = lvm_rows(env, "vgs", "-o", "vg_name,vg_uuid,pv_count,lv_count")
        pvs = lvm_rows(env, "pvs", "-o", "pv_uuid,vg_name")
        lvs = lvm_rows(env, "lvs", "-o", "vg_name,lv_name,lv_size", "--units", "m", "--nosuffix")
    assert sorted(r[0] for r in vgs) == ["systemVG", "systemVG1", "systemVG2"]
    assert len({r[1] for r in vgs}) == 3 and len({r[0] for r in pvs}) == 3
    assert all(r[2:] == ["1", "4"] for r in vgs)
    sizes = {(vg, lv): float(size) for vg, lv, size in lvs}
    for name in ("systemVG", "systemVG1", "systemVG2"):
        assert sizes[(name, "home")] == 48 and sizes[(name, "srv_data")] == 16
        assert sizes[(name, "LVSwap")] == 16 and sizes[(name, "LVRoot")] > 100
    # the filesystems in the volumes: as planned, and every clone's its own
    seen: dict[str, str] = {}
    for _number, offset, size in regions:
        vg = lvm.read_volume_group(str(out), offset, size)
        kinds = {}
        for lv in vg.volumes:
            found = blkid(out, lv.offset)
            kinds[lv.name] = (found["TYPE"], found.get("LABEL"))
            assert found["UUID"] not in seen, (lv.name, seen.get(found["UUID"]))
            seen[found["UUID"]] = f"{vg.name}/{lv.name}"
            if found["TYPE"] == "ext4":
                check = subprocess.run(["e2fsck", "-fn", f"{out}?offset={lv.offset}"],
                                       capture_output=True, text=True, check=False)
                assert check.returncode == 0, check.stdout + check.stderr
        assert kinds == {"home": ("ext4", None), "srv_data": ("ext4", None),
                         "LVSwap": ("swap", "SWAP"), "LVRoot": ("ext4", "ROOT")}
    assert len(seen) == 12
    assert next(p for p in report.partitions if p.key == "root").filesystem is None


def test_lvm_needs_loop_devices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernel, "has_loop", lambda *a: False)
    with pytest.raises(lvm.KernelFeatureMissing, match="LVM layout needs a loop device"):
        build(make_plan(LVM), str(tmp_path / "x.img"))
    assert os.listdir(tmp_path) == []


def test_lvm_refuses_a_root_tree(tmp_path: Path) -> None:
    if not kernel.has_loop():
        pytest.skip(kernel.missing("loop") or "")
    (tmp_path / "tree").mkdir()
    with pytest.raises(PartwrightError, match="--root-tree with an LVM"):
        build(make_plan(LVM), str(tmp_path / "x.img"), root_tree=str(tmp_path / "tree"))
    assert sorted(os.listdir(tmp_path)) == ["tree"]


# --- md RAID ----------------------------------------------------------------

def examine(image: Path, offset: int, size: int, tmp: Path) -> dict[str, str]:
    member = extract(image, offset, size, tmp / "member.img")
    try:
        text = subprocess.run(["mdadm", "--examine", str(member)], capture_output=True,
                              text=True, check=True).stdout
    finally:
        member.unlink()
    return {k.strip(): v.strip() for k, s, v in (ln.partition(" : ") for ln in text.splitlines()) if s}


@pytest.mark.parametrize("layout,level", [(RAID1, "raid1"), (RAID0, "raid0")],
                         ids=["mirroring", "striping"])
def test_raid_members_and_clones(tmp_path: Path, layout: Layout, level: str) -> None:
    out = tmp_path / "raid.img"
    plan, report = run_build(layout, out, seed="raid-seed")
    assert ("kiwi_RaidPart", str(plan.entry("root").number)) in plan.partids  # type: ignore[union-attr]
    arrays, devices, inner = [], [], []
    for _number, offset, size in group(plan):
        found = examine(out, offset, size, tmp_path)
        assert found["Checksum"].endswith("- correct"), found
        assert found["Raid Level"] == level and found["Raid Devices"] == "2"
        assert found["Array State"].startswith("A. ")
        assert found["Data Offset"] == "2048 sectors"
        arrays.append(found["Array UUID"])
        devices.append(found["Device UUID"])
        assert blkid(out, offset)["TYPE"] == "linux_raid_member"
        if level == "raid1":
            fs = blkid(out, offset + MIB)
            assert fs["TYPE"] == "ext4" and fs["LABEL"] == "ROOT"
            inner.append(fs["UUID"])
            check = subprocess.run(["e2fsck", "-fn", f"{out}?offset={offset + MIB}"],
                                   capture_output=True, text=True, check=False)
            assert check.returncode == 0, check.stdout + check.stderr
    assert len(set(arrays)) == len(arrays) == 1 + layout.root_clone
    assert len(set(devices)) == len(devices)
    if level == "raid1":
        assert len(set(inner)) == len(inner)
        assert report.fstab.startswith(f"UUID={inner[0]} / ext4 defaults 0 1")
    ident = make_identity("raid-seed")
    root = plan.entry("root")
    assert root is not None
    assert arrays[0].replace(":", "") == ident.uuid(f"md-set-uuid/{root.number}").hex


def test_seeded_raid_builds_are_identical(tmp_path: Path) -> None:
    digests = []
    for name in ("a.img", "b.img"):
        run_build(RAID1, tmp_path / name, seed="same")
        digests.append(sparse_sha256(tmp_path / name))
    assert digests[0] == digests[1]


def test_raid_with_a_root_tree(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc" / "hostname").write_text("mirror\n")
    out = tmp_path / "tree.img"
    plan, _ = run_build(RAID1.with_changes(root_clone=1), out, root_tree=str(tree))
    for _, offset, _size in group(plan):
        cat = subprocess.run(["debugfs", "-R", "cat /etc/hostname", f"{out}?offset={offset + MIB}"],
                             capture_output=True, text=True, check=True).stdout
        assert cat == "mirror\n"

