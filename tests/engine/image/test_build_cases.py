"""Builds that used to fail or come out wrong, each read back with the tools:
a fat32 partition under 256 MiB filled from a tree, the XFS root's dates,
the tool's own reason in a failure, btrfs clones' device UUIDs (and verify
refusing a shared one), squashfs partitions and their clones, an overlay
root, KIWI's `@root` LVM volume."""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from engine.errors import ToolError
from engine.host import kernel, sparse
from engine.image.build import build
from engine.image.filesystems import FsSpec, make_filesystem, plan_filesystems
from engine.image.identity import DEFAULT_EPOCH, make_identity
from engine.image.inspect import inspect
from engine.image.table import TableIds
from engine.image.verify import verify
from engine.layout.model import Layout, Partition, SystemDisk, Volume
from engine.plan.planner import plan as make_plan
from tests.support.image import MIXED_LAYOUT, blkid, needs_tools
from tests.support.trees import mounted

pytestmark = needs_tools
needs_loop = pytest.mark.skipif(kernel.missing("loop") is not None,
                                reason=str(kernel.missing("loop")))
MIB = 1 << 20


def test_small_fat32_is_filled(tmp_path: Path) -> None:
    """mkfs.vfat 4.2 with --offset chose 4 KiB clusters from the whole image's
    size: a 64 MiB "fat32" got 16344 clusters, which mtools reads as FAT16
    with no root directory ("mmd: No directory slots")."""
    tree = tmp_path / "tree"
    (tree / "fw").mkdir(parents=True)
    for i in range(300):
        (tree / "fw" / f"firmware-blob-with-a-long-name-{i:03}.bin").write_bytes(b"%d" % i)
    layout = Layout(firmware="efi", filesystem="ext4", size_mb=600,
                    partitions=(Partition("fw", 64, "/fw", "fat32"),))
    plan = make_plan(layout)
    out = tmp_path / "fat.img"
    build(plan, str(out), root_tree=str(tree), seed="fat")
    entry = plan.entry("fw")
    assert entry is not None
    assert blkid(out, entry.start * 512, entry.size_bytes)["VERSION"] == "FAT32"
    listing = subprocess.run(["mdir", "-b", "-i", f"{out}@@{entry.start * 512}", "::/"],
                             capture_output=True, text=True, check=True,
                             env={**os.environ, "MTOOLS_SKIP_CHECK": "1"}).stdout
    assert len(listing.split()) == 300


@needs_loop
def test_seeded_xfs_root_is_dated_the_epoch(tmp_path: Path) -> None:
    """Without a tree too: mkfs.xfs dates the root directory now; a seeded
    build sets it to the epoch (it was 1901-12-13: bigtime went unnoticed)."""
    plan = make_plan(Layout(firmware="bios", filesystem="xfs", size_mb=400))
    out = tmp_path / "xfs.img"
    build(plan, str(out), seed="dates")
    root = plan.entry("root")
    assert root is not None
    with mounted(out, root.start * 512, root.size_bytes, "xfs", tmp_path / "mnt") as mnt:
        assert os.stat(mnt).st_mtime == DEFAULT_EPOCH


def test_a_tool_failure_quotes_the_tools_reason(tmp_path: Path) -> None:
    """xfs below its minimum (the planner says so first; here the tool itself)."""
    ident = make_identity("reason")
    image = tmp_path / "x.img"
    with open(image, "wb") as fh:
        fh.truncate(300 * MIB)
    spec = FsSpec(3, "data", "custom", "xfs", "DATA", ident.uuid_str("x"), MIB, 200 * MIB, "/data")
    with pytest.raises(ToolError) as caught:
        make_filesystem(str(image), spec, ident, str(tmp_path))
    message = str(caught.value)
    assert "partition 3 (data)" in message
    assert message.endswith("Filesystem must be larger than 300MB.")


def test_btrfs_clones_get_a_new_device_uuid(tmp_path: Path) -> None:
    plan = make_plan(MIXED_LAYOUT)
    out = tmp_path / "mixed.img"
    report = build(plan, str(out), seed="devuuid")
    btrfs = [p for p in report.partitions if p.filesystem == "btrfs"]
    assert len(btrfs) == 4
    found = {p.number: blkid(out, p.start * 512, (p.end - p.start + 1) * 512) for p in btrfs}
    subs = [f["UUID_SUB"] for f in found.values()]
    assert len(set(subs)) == 4 and len({f["UUID"] for f in found.values()}) == 4
    assert not inspect(str(out)).duplicates
    # the old way (a new fsid only) leaves the device UUID shared: verify refuses it
    clone = next(p for p in btrfs if p.clone_of is not None)
    origin = next(p for p in btrfs if p.number == clone.clone_of)
    size = (clone.end - clone.start + 1) * 512
    with open(out, "r+b") as img:
        sparse.copy_range(img.fileno(), origin.start * 512, img.fileno(), clone.start * 512, size)
    part = tmp_path / "part.btrfs"
    with open(out, "r+b") as img:
        sparse.extract(img.fileno(), clone.start * 512, size, str(part))
        subprocess.run(["btrfstune", "-f", "-U", str(clone.uuid), str(part)], check=True,
                       capture_output=True)
        with open(part, "rb") as src:
            sparse.copy_range(src.fileno(), 0, img.fileno(), clone.start * 512, size)
    ids = TableIds(report.disk_id, tuple((p.number, p.partuuid) for p in report.partitions))
    specs = plan_filesystems(plan, make_identity("devuuid"))  # the same seed: the same specs
    workdir = tmp_path / "work"
    workdir.mkdir()
    with pytest.raises(ToolError, match="UUID_SUB"):
        verify(str(out), plan, specs, ids, str(workdir))


def test_squashfs_partition_and_its_clones(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "opt" / "app").mkdir(parents=True)
    (tree / "opt" / "app" / "run").write_text("#!/bin/sh\n")
    (tree / "etc").mkdir()
    layout = Layout(firmware="efi", filesystem="ext4", size_mb=300,
                    partitions=(Partition("opt", 16, "/opt", "squashfs", clone=2),))
    plan = make_plan(layout)
    assert plan.ok, plan.errors
    out = tmp_path / "sq.img"
    report = build(plan, str(out), root_tree=str(tree), seed="sq")
    parts = {p.key: p for p in report.partitions}
    assert {parts[k].filesystem for k in ("opt", "optclone1", "optclone2")} == {"squashfs"}
    assert all(parts[k].uuid is None or parts[k].uuid == "" for k in ("opt", "optclone1"))
    listing = subprocess.run(["unsquashfs", "-o", str(parts["opt"].start * 512), "-l", str(out)],
                             capture_output=True, text=True, check=True).stdout
    assert "squashfs-root/app/run" in listing
    assert f"PARTUUID={parts['opt'].partuuid} /opt squashfs" in report.fstab
    found = inspect(str(out))
    assert {(c.origin, c.clone) for c in found.clones if c.identical} >= {
        (parts["opt"].number, parts["optclone1"].number)}


@needs_loop
def test_overlay_root_squashes_the_tree(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "usr" / "bin").mkdir(parents=True)
    (tree / "usr" / "bin" / "tool").write_text("tool\n")
    layout = Layout(firmware="efi", filesystem="ext4", size_mb=400, overlayroot=True,
                    overlayroot_readonly_partsize=64)
    plan = make_plan(layout)
    assert plan.ok, plan.errors
    out = tmp_path / "overlay.img"
    build(plan, str(out), root_tree=str(tree))
    ro = plan.entry("readonly")
    assert ro is not None
    with mounted(out, ro.start * 512, ro.size_bytes, "squashfs", tmp_path / "mnt") as mnt:
        assert (mnt / "usr" / "bin" / "tool").read_text() == "tool\n"
        assert (mnt / "config.partids").exists()


@needs_loop
def test_lvm_root_volume_is_sized_as_kiwi_reads_it(tmp_path: Path) -> None:
    """<volume name="@root" size="..."/> is KIWI's way to size LVRoot (it was
    refused as a renamed root volume)."""
    disk = SystemDisk(volumes=(Volume("@root", size_mb=200), Volume("home", size_mb=40,
                                                                    mountpoint="/home")))
    plan = make_plan(Layout(firmware="efi", filesystem="ext4", size_mb=600, systemdisk=disk))
    assert plan.ok, plan.errors
    out = tmp_path / "lvm.img"
    build(plan, str(out), seed="lvroot")
    found = inspect(str(out))
    lvm = next(p for p in found.partitions if p.container is not None)
    assert lvm.container is not None
    sizes = {fs.where: fs.size for fs in lvm.container.inner}
    assert sizes["LVRoot"] == 200 * MIB and sizes["home"] == 40 * MIB
    named = replace(disk, volumes=(Volume("@root=system", size_mb=100),))
    report = build(make_plan(Layout(firmware="efi", filesystem="ext4", size_mb=600,
                                    systemdisk=named)), str(tmp_path / "named.img"))
    assert report.checks
