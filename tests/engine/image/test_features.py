"""--seed reproducibility, --root-tree, qcow2, inspect on other tools' images."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.host import sparse
from engine.image.build import build
from engine.image.inspect import inspect
from engine.layout.example import EXAMPLE_LAYOUT
from engine.layout.model import Partition
from engine.plan.planner import plan as make_plan
from tests.support.image import (
    MIXED_LAYOUT,
    MSDOS_LAYOUT,
    file_sha256,
    needs_tools,
    sparse_sha256,
)

pytestmark = needs_tools


def _build(layout: object, out: Path, **kw: object) -> Path:
    build(make_plan(layout), str(out), **kw)  # type: ignore[arg-type]
    return out


def test_same_seed_same_bytes_different_seed_different(tmp_path: Path) -> None:
    a = _build(EXAMPLE_LAYOUT, tmp_path / "a.img", seed="partwright")
    b = _build(EXAMPLE_LAYOUT, tmp_path / "b.img", seed="partwright")
    c = _build(EXAMPLE_LAYOUT, tmp_path / "c.img", seed="another")
    assert sparse_sha256(a) == sparse_sha256(b)
    assert sparse_sha256(a) != sparse_sha256(c)
    assert inspect(str(a)).disk_id == inspect(str(b)).disk_id != inspect(str(c)).disk_id
    # no seed: random identifiers each time
    d = _build(EXAMPLE_LAYOUT, tmp_path / "d.img")
    e = _build(EXAMPLE_LAYOUT, tmp_path / "e.img")
    assert inspect(str(d)).disk_id != inspect(str(e)).disk_id


SMALL_MSDOS = MSDOS_LAYOUT.with_changes(
    bootpartsize=16, oem_swap=False, oem_systemsize=32, size_mb=160,
    partitions=(Partition(name="home", size_mb=16, mountpoint="/home", filesystem="ext3", clone=1),),
)


def test_same_seed_same_sha256_msdos(tmp_path: Path) -> None:
    """The plain sha256 of every byte, on a 160 MiB msdos image with logical partitions."""
    a = _build(SMALL_MSDOS, tmp_path / "a.img", seed="s")
    b = _build(SMALL_MSDOS, tmp_path / "b.img", seed="s")
    c = _build(SMALL_MSDOS, tmp_path / "c.img", seed="t")
    ha, hb, hc = file_sha256(a), file_sha256(b), file_sha256(c)
    print(f"\nmsdos sha256 seed s: {ha} / {hb}; seed t: {hc}")
    assert ha == hb != hc


def test_seed_with_btrfs_gives_the_same_identifiers(tmp_path: Path) -> None:
    """btrfs-progs 6.2 draws its device and chunk-tree UUIDs itself and stamps
    the current time: a seeded btrfs image is not bit-identical, but every
    identifier partwright chooses is."""
    a = inspect(str(_build(MIXED_LAYOUT, tmp_path / "a.img", seed="s")))
    b = inspect(str(_build(MIXED_LAYOUT, tmp_path / "b.img", seed="s")))
    key = [(p.number, p.partuuid, p.uuid, p.label) for p in a.partitions]
    assert key == [(p.number, p.partuuid, p.uuid, p.label) for p in b.partitions]
    assert a.disk_id == b.disk_id


def make_tree(root: Path) -> Path:
    for d in ("etc", "usr/bin", "home/user", "boot/efi/EFI/BOOT", "var/log"):
        (root / d).mkdir(parents=True)
    (root / "etc/hostname").write_text("partwright\n")
    (root / "etc/fstab").write_text("# replaced by the build\n")
    (root / "usr/bin/hello").write_text("#!/bin/sh\necho hello\n")
    (root / "usr/bin/hello").chmod(0o755)
    os.symlink("hello", root / "usr/bin/hi")
    (root / "home/user/notes.txt").write_text("home data\n")
    (root / "boot/vmlinuz").write_bytes(b"kernel" * 1000)
    (root / "boot/efi/EFI/BOOT/BOOTX64.EFI").write_bytes(b"MZ" + bytes(100))
    return root


def _debugfs(image: Path, offset: int, request: str) -> str:
    return subprocess.run(["debugfs", "-R", request, f"{image}?offset={offset}"],
                          capture_output=True, text=True, check=True).stdout


def _xfs_ls(image: Path, offset: int, size: int, tmp: Path, *paths: str) -> str:
    part = tmp / "part.xfs"
    with open(image, "rb") as src:
        sparse.extract(src.fileno(), offset, size, str(part))
    args = [a for p in paths for a in ("-c", f"ls {p}")]
    out = subprocess.run(["xfs_db", "-r", *args, str(part)], capture_output=True, text=True,
                         check=True).stdout
    part.unlink()
    return out


def test_root_tree_goes_to_the_partitions_below_it(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "tree")
    plan = make_plan(EXAMPLE_LAYOUT)
    out = tmp_path / "rt.img"
    report = build(plan, str(out), root_tree=str(tree), seed="tree")
    at = {e.key: e.start * 512 for e in plan.entries}
    # /home -> the home partition, and its clones carry the same files
    for key in ("home", "homeclone1", "homeclone2"):
        assert _debugfs(out, at[key], "cat /user/notes.txt") == "home data\n"
    # /boot -> boot: the kernel, and an empty efi mountpoint
    assert len(_debugfs(out, at["boot"], "cat /vmlinuz")) == 6000
    assert "BOOTX64" not in _debugfs(out, at["boot"], "ls -l /efi")
    assert len(_debugfs(out, at["bootclone1"], "cat /vmlinuz")) == 6000
    # /boot/efi -> the ESP (vfat, through mtools)
    got = subprocess.run(["mtype", "-i", f"{out}@@{at['efi']}", "::/EFI/BOOT/BOOTX64.EFI"],
                         capture_output=True, check=True, env={**os.environ, "MTOOLS_SKIP_CHECK": "1"})
    assert got.stdout == b"MZ" + bytes(100)
    # the rest -> root (xfs protofile), with empty mountpoints, etc/fstab and /config.partids
    root = plan.entry("root")
    assert root is not None
    listing = _xfs_ls(out, at["root"], root.size_bytes, tmp_path, "/", "/home", "/etc", "/usr/bin")
    for name in ("config.partids", "fstab", "hostname", "hello", "hi"):
        assert f" {name} " in listing
    assert "notes.txt" not in listing and "vmlinuz" not in listing
    # the fstab in the image is the one of the report: by UUID, origins only
    fstab = report.fstab.splitlines()
    assert [ln.split()[1] for ln in fstab] == ["/", "/boot", "/home", "/boot/efi"]
    assert all(ln.startswith("UUID=") for ln in fstab)
    uuids = {p.number: p.uuid for p in report.partitions}
    assert fstab[0].split()[0] == f"UUID={uuids[9]}"
    # the tree itself is untouched
    assert (tree / "etc/fstab").read_text() == "# replaced by the build\n"
    assert inspect(str(out)).partids_agree


def test_fstab_by_label_and_by_partuuid(tmp_path: Path) -> None:
    for persistency, prefix in (("by-label", "LABEL="), ("by-partuuid", "PARTUUID=")):
        layout = EXAMPLE_LAYOUT.with_changes(devicepersistency=persistency)
        report = build(make_plan(layout), str(tmp_path / f"{persistency}.img"), seed="x")
        lines = report.fstab.splitlines()
        assert lines and all(ln.startswith(prefix) for ln in lines), lines
        if prefix == "LABEL=":
            assert lines[0].startswith("LABEL=ROOT /")


@pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img missing (qemu-utils)")
def test_qcow2_output_and_inspect(tmp_path: Path) -> None:
    raw = _build(EXAMPLE_LAYOUT, tmp_path / "a.img", seed="q")
    qcow = tmp_path / "a.qcow2"
    report = build(make_plan(EXAMPLE_LAYOUT), str(qcow), fmt="qcow2", seed="q")
    assert report.format == "qcow2"
    info = subprocess.run(["qemu-img", "info", str(qcow)], capture_output=True, text=True,
                          check=True).stdout
    assert "file format: qcow2" in info
    cmp = subprocess.run(["qemu-img", "compare", "-f", "raw", "-F", "qcow2", str(raw), str(qcow)],
                         capture_output=True, text=True, check=False)
    assert cmp.returncode == 0, cmp.stdout
    found = inspect(str(qcow))
    assert found.format == "qcow2" and len(found.clones) == 4 and found.partids_agree
    assert not list(tmp_path.glob("*.partial*"))


@pytest.mark.skipif(shutil.which("systemd-repart") is None, reason="systemd-repart missing")
def test_inspect_an_image_made_by_systemd_repart(tmp_path: Path) -> None:
    """repart's CopyBlocks leaves the copy with its origin's UUID: inspect
    says the two are byte-identical clones and lists the duplicate."""
    src = tmp_path / "src.ext4"
    with open(src, "wb") as fh:
        fh.truncate(32 * 2**20)
    subprocess.run(["mkfs.ext4", "-q", "-L", "DATA", str(src)], check=True)
    defs = tmp_path / "repart.d"
    defs.mkdir()
    (defs / "10-a.conf").write_text(
        f"[Partition]\nType=linux-generic\nLabel=a\nCopyBlocks={src}\n")
    (defs / "20-b.conf").write_text(
        f"[Partition]\nType=linux-generic\nLabel=b\nCopyBlocks={src}\n")
    image = tmp_path / "repart.img"
    proc = subprocess.run(["systemd-repart", f"--definitions={defs}", "--empty=create",
                           "--size=96M", "--dry-run=no", "--seed=random", str(image)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"systemd-repart could not run here: {proc.stderr.strip().splitlines()[-1:]}")
    found = inspect(str(image))
    assert [p.filesystem for p in found.partitions] == ["ext4", "ext4"]
    assert len(found.clones) == 1  # partition sizes differ (repart rounds): not "identical"
    assert found.clones[0].differing_blocks == 0
    assert any(d.startswith("filesystem UUID") for d in found.duplicates)
    assert found.partids_path is None


def test_seeded_build_with_a_root_tree_is_reproducible(tmp_path: Path) -> None:
    """ext (mke2fs -d), xfs (protofile), vfat (mtools) filled from a tree:
    two seeded builds a second apart give the same bytes (inode times come
    from the tree and SOURCE_DATE_EPOCH, not from the clock)."""
    import time

    tree = make_tree(tmp_path / "tree")
    digests = []
    for name in ("a.img", "b.img"):
        build(make_plan(EXAMPLE_LAYOUT), str(tmp_path / name), root_tree=str(tree), seed="t")
        digests.append(sparse_sha256(tmp_path / name))
        time.sleep(1.1)
    assert digests[0] == digests[1]


def test_type_guids_libparted_cannot_set_and_numbering_gaps(tmp_path: Path) -> None:
    """apply_dps_codes gives root 8304 and boot EA00 (no libparted flag for
    either); part_id and rootpart_id leave gaps in the GPT numbering, which
    libparted cannot express: both are written into the GPT directly."""
    layout = EXAMPLE_LAYOUT.with_changes(
        apply_dps_codes=True, rootpart_id=20,
        partitions=(Partition(name="home", size_mb=10, mountpoint="/home", filesystem="ext3",
                              clone=1, part_id=12),),
    )
    plan = make_plan(layout)
    assert plan.ok and [e.number for e in plan.entries] == [1, 2, 3, 4, 12, 13, 20, 21]
    out = tmp_path / "dps.img"
    build(plan, str(out), seed="dps")
    text = subprocess.run(["sgdisk", "-p", str(out)], capture_output=True, text=True,
                          check=True).stdout
    rows = [ln.split() for ln in text.splitlines() if ln.strip()[:1].isdigit() and len(ln.split()) > 6]
    assert [(int(r[0]), r[5], r[6]) for r in rows] == [(e.number, e.code, e.name) for e in plan.entries]
    found = inspect(str(out))
    assert {(c.origin, c.clone) for c in found.clones} == {(4, 3), (12, 13), (20, 21)}
    assert found.partids_agree, found.partids_problems
