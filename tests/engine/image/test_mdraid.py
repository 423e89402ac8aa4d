"""md RAID members written offline (engine/image/mdraid.py) and read by
`mdadm --examine`; clones with new array and device UUIDs; the filesystem
in a RAID1 member's data area. Also engine/image/kernel.py's detection."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.errors import PartwrightError
from engine.host import kernel, sparse
from engine.image import mdraid
from tests.support.image import blkid

pytestmark = pytest.mark.skipif(shutil.which("mdadm") is None and not os.path.exists("/sbin/mdadm"),
                                reason="mdadm is not installed (Debian mdadm)")

MIB = 1 << 20
IMAGE_MIB = 256  # the `image` fixture's size
SIZE = 64 * MIB
ORIGIN = 1 * MIB
CLONES = (80 * MIB, 160 * MIB)
EPOCH = 315532800


def examine(image: Path, offset: int, tmp: Path) -> dict[str, str]:
    """`mdadm --examine` on the member as a file of its own (the test's own copy)."""
    member = tmp / f"member{offset}.img"
    with open(image, "rb") as src:
        sparse.extract(src.fileno(), offset, SIZE, str(member))
    try:
        out = subprocess.run(["mdadm", "--examine", str(member)], capture_output=True, text=True,
                             check=True).stdout
    finally:
        member.unlink()
    fields = {}
    for line in out.splitlines():
        key, sep, value = line.partition(" : ")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def mkfs_inside(image: Path, offset: int, sb: mdraid.Superblock) -> None:
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "ROOT", "-E",
                    f"offset={offset + sb.data_offset}", str(image), f"{sb.data_size // 1024}k"],
                   check=True, capture_output=True)


def copy(image: Path, src: int, dst: int) -> None:
    with open(image, "r+b") as fh:
        sparse.copy_range(fh.fileno(), src, fh.fileno(), dst, SIZE)


def test_raid1_member_with_a_filesystem(image: Path, tmp_path: Path) -> None:
    sb = mdraid.write_member(str(image), ORIGIN, SIZE, level="mirroring", name="any:0",
                             set_uuid="0c3e5a1b-2222-4333-8444-555566667777", epoch=EPOCH)
    mkfs_inside(image, ORIGIN, sb)
    found = examine(image, ORIGIN, tmp_path)
    # mdadm prints the checksum with %x: no leading zeros
    assert re.fullmatch(r"[0-9a-f]{1,8} - correct", found["Checksum"]), found["Checksum"]
    assert found["Version"] == "1.2" and found["Raid Level"] == "raid1"
    assert found["Raid Devices"] == "2" and found["Array State"].startswith("A. ")
    assert found["Array UUID"] == "0c3e5a1b:22224333:84445555:66667777" == sb.mdadm_uuid
    assert found["Device UUID"] == sb.mdadm_device_uuid
    assert found["Data Offset"] == "2048 sectors" and found["Super Offset"] == "8 sectors"
    assert found["Device Role"] == "Active device 0" and found["Name"] == "any:0"
    assert found["Creation Time"].endswith("1980")
    assert mdraid.examine(str(image), ORIGIN, SIZE).count("- correct") == 1
    member = blkid(image, ORIGIN)
    assert member["TYPE"] == "linux_raid_member"
    assert member["UUID"] == sb.set_uuid and member["UUID_SUB"] == sb.device_uuid
    inside = blkid(image, ORIGIN + sb.data_offset)
    assert inside["TYPE"] == "ext4" and inside["LABEL"] == "ROOT"
    assert sb.data_size == SIZE - sb.data_offset


def test_raid0_member(image: Path, tmp_path: Path) -> None:
    sb = mdraid.write_member(str(image), ORIGIN, SIZE, level="striping")
    found = examine(image, ORIGIN, tmp_path)
    assert found["Raid Level"] == "raid0" and found["Chunk Size"] == "512K"
    assert found["Checksum"].endswith("- correct") and found["Array State"].startswith("A. ")
    assert sb.level == 0 and sb.chunk == 512 * 1024 and sb.data_size % sb.chunk == 0
    # two members of one striped array: same array UUID, own device UUIDs and roles
    other = mdraid.write_member(str(image), CLONES[0], SIZE, level="striping", dev_number=1,
                                set_uuid=sb.set_uuid)
    found = examine(image, CLONES[0], tmp_path)
    assert found["Checksum"].endswith("- correct") and found["Device Role"] == "Active device 1"
    assert found["Array UUID"] == sb.mdadm_uuid and other.device_uuid != sb.device_uuid
    assert found["Array State"].startswith(".A ")


@pytest.mark.parametrize("level", ["mirroring", "striping"])
def test_clones_get_new_identities(image: Path, tmp_path: Path, level: str) -> None:
    origin = mdraid.write_member(str(image), ORIGIN, SIZE, level=level)
    if level == "mirroring":
        mkfs_inside(image, ORIGIN, origin)
    fs_before = blkid(image, ORIGIN + origin.data_offset).get("UUID")
    clones = []
    for offset in CLONES:
        copy(image, ORIGIN, offset)
        clones.append(mdraid.clone_member(str(image), offset, SIZE, workdir=str(tmp_path)))
    views = [examine(image, off, tmp_path) for off in (ORIGIN, *CLONES)]
    for view in views:  # mdadm reads every member, each with a correct checksum
        assert view["Checksum"].endswith("- correct")
        assert view["Raid Level"] == ("raid1" if level == "mirroring" else "raid0")
    assert len({v["Array UUID"] for v in views}) == 3
    assert len({v["Device UUID"] for v in views}) == 3
    assert views[0]["Array UUID"] == origin.mdadm_uuid
    assert [c.set_uuid for c in clones] == [blkid(image, off)["UUID"] for off in CLONES]
    if level == "mirroring":  # beyond KIWI: the filesystem inside gets its own UUID
        fs = [blkid(image, off + origin.data_offset)["UUID"] for off in (ORIGIN, *CLONES)]
        assert fs[0] == fs_before and len(set(fs)) == 3
        for off in CLONES:
            check = subprocess.run(["e2fsck", "-fn", f"{image}?offset={off + origin.data_offset}"],
                                   capture_output=True, text=True, check=False)
            assert check.returncode == 0, check.stdout + check.stderr
    assert mdraid.read_member(str(image), ORIGIN) == origin
    assert [p for p in tmp_path.iterdir() if p.name.startswith("partwright-")] == []


def test_seeded_members_are_identical(image: Path) -> None:
    args = dict(level="mirroring", set_uuid="11111111-2222-4333-8444-555555555555",
                device_uuid="21111111-2222-4333-8444-555555555555", epoch=EPOCH)
    mdraid.write_member(str(image), ORIGIN, SIZE, **args)  # type: ignore[arg-type]
    mdraid.write_member(str(image), CLONES[0], SIZE, **args)  # type: ignore[arg-type]
    with open(image, "rb") as fh:
        a = os.pread(fh.fileno(), 2 * MIB, ORIGIN)
        b = os.pread(fh.fileno(), 2 * MIB, CLONES[0])
    assert a == b and a.count(b"\0") < len(a)


def test_checksum_rule_with_odd_device_slots(image: Path, tmp_path: Path) -> None:
    """dev_number 2: max_dev 3, so the summed area ends in half a word."""
    sb = mdraid.write_member(str(image), ORIGIN, SIZE, level="mirroring", raid_disks=3,
                             dev_number=2)
    assert sb.checksum_ok
    found = examine(image, ORIGIN, tmp_path)
    assert found["Checksum"].endswith("- correct") and found["Device Role"] == "Active device 2"
    assert found["Array State"].startswith("..A ")


def test_damaged_superblock(image: Path, tmp_path: Path) -> None:
    mdraid.write_member(str(image), ORIGIN, SIZE, level="mirroring")
    with open(image, "r+b") as fh:  # one byte of the array name
        os.pwrite(fh.fileno(), b"X", ORIGIN + mdraid.SUPER_OFFSET + 40)
    assert not mdraid.read_member(str(image), ORIGIN).checksum_ok
    assert "expected" in examine(image, ORIGIN, tmp_path)["Checksum"]
    with pytest.raises(mdraid.MdError, match="bad checksum"):
        mdraid.reuuid_member(str(image), ORIGIN)
    with pytest.raises(mdraid.MdError, match="no md superblock"):
        mdraid.read_member(str(image), CLONES[0])


def test_refusals(image: Path) -> None:
    with pytest.raises(PartwrightError, match="unknown md RAID level"):
        mdraid.write_member(str(image), ORIGIN, SIZE, level="raid5")
    with pytest.raises(PartwrightError, match="no room"):
        mdraid.write_member(str(image), ORIGIN, MIB, level="mirroring")
    with pytest.raises(PartwrightError, match="impossible"):
        mdraid.write_member(str(image), ORIGIN, SIZE, level=1, raid_disks=2, dev_number=2)
    with pytest.raises(PartwrightError, match="longer than 32"):
        mdraid.write_member(str(image), ORIGIN, SIZE, level=1, name="n" * 33)


def test_kernel_detection(tmp_path: Path) -> None:
    (tmp_path / "misc").write_text(" 237 loop-control\n 236 device-mapper\n")
    assert kernel.has_dm(str(tmp_path))
    (tmp_path / "misc").write_text(" 237 loop-control\n")
    assert not kernel.has_dm(str(tmp_path)) and not kernel.has_md(str(tmp_path))
    (tmp_path / "mdstat").write_text("Personalities : \n")
    assert kernel.has_md(str(tmp_path))
    assert not kernel.has_dm(str(tmp_path / "nowhere"))
    assert not kernel.has_loop(str(tmp_path / "misc"))  # not a character device
    assert kernel.has_dm() == ("device-mapper" in Path("/proc/misc").read_text().split())
    assert kernel.has_md() == os.path.exists("/proc/mdstat")
    reason = kernel.missing("dm", "md", "loop") or ""
    assert ("device-mapper" in reason) == (not kernel.has_dm())
    assert ("md RAID" in reason) == (not kernel.has_md())
    assert ("loop devices" in reason) == (not kernel.has_loop())


@pytest.mark.skipif(not kernel.has_md() or not kernel.has_loop(),
                    reason=kernel.missing("md", "loop") or "")
def test_assemble_with_kernel_md(image: Path) -> None:  # pragma: no cover - needs md
    """Where the kernel has md: the member written offline assembles (degraded)."""
    sb = mdraid.write_member(str(image), ORIGIN, SIZE, level="mirroring")
    mkfs_inside(image, ORIGIN, sb)
    loop = subprocess.run(["losetup", "-f", "--show", "-o", str(ORIGIN), "--sizelimit", str(SIZE),
                           str(image)], capture_output=True, text=True, check=True).stdout.strip()
    md = f"/dev/md/pwtest{os.getpid()}"
    try:
        subprocess.run(["mdadm", "--assemble", "--run", "--readonly", md, loop], check=True,
                       capture_output=True)
        detail = subprocess.run(["mdadm", "--detail", md], capture_output=True, text=True,
                                check=True).stdout
        assert sb.mdadm_uuid in detail
        subprocess.run(["mdadm", "--stop", md], check=True, capture_output=True)
    finally:
        subprocess.run(["losetup", "-d", loop], check=False)
