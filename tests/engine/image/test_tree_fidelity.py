"""A root tree comes out of the image as it went in, in every filesystem.

One generated tree (tests/support/trees.py: every file type, hard links,
sparse files, odd names, setuid/setgid/sticky, owners, sub-second and
post-2038 times, capabilities, SELinux labels, user xattrs, POSIX ACLs) is
built into ext2, ext3, ext4, xfs, btrfs and squashfs, and a FAT-sized tree
into vfat. Each partition is read back without partwright's code: mounted
by the kernel (loop device, read-only) or, for vfat, copied out by mtools;
then the manifests (path, type, mode, owner, size, sha256, link target,
device numbers, link count, other names of a hard link, mtime to the
nanosecond, xattrs, holes) are compared. The only differences allowed are
the ones a filesystem cannot avoid, listed by name below.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from engine.host import kernel
from engine.host.mount import kernel_has
from engine.image.build import build
from engine.layout.model import Layout, Partition
from engine.plan.planner import plan as make_plan
from tests.support.image import needs_tools
from tests.support.trees import (
    Item,
    differences,
    make_fidelity_tree,
    make_vfat_tree,
    manifest,
    mounted,
    vfat_copy,
)

pytestmark = [
    needs_tools,
    pytest.mark.skipif(os.geteuid() != 0, reason="making the tree (owners, device nodes) needs root"),
    pytest.mark.skipif(kernel.missing("loop") is not None, reason=str(kernel.missing("loop"))),
]

# what every root filesystem gets besides the tree: KIWI's /etc/fstab and /config.partids
ADDED = {b"etc/fstab", b"config.partids"}
# ...and mke2fs its lost+found
EXT_ADDED = ADDED | {b"lost+found"}
ROOTS = {"ext2": 160, "ext3": 160, "ext4": 160, "xfs": 400, "btrfs": 200}  # disk MiB
ACLS = (b"system.posix_acl_access", b"system.posix_acl_default")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_fidelity_tree(tmp_path_factory.mktemp("fidelity") / "root")


def _build(layout: Layout, tree: Path, out: Path) -> tuple[Path, dict[str, tuple[int, int]]]:
    plan = make_plan(layout)
    assert plan.ok, plan.errors
    build(plan, str(out), root_tree=str(tree))
    return out, {e.key: (e.start * 512, e.size_bytes) for e in plan.entries}


@pytest.mark.parametrize("kind", sorted(ROOTS))
def test_root_tree_comes_out_identical(kind: str, tree: Path, tmp_path: Path) -> None:
    if not kernel_has(kind):
        pytest.skip(f"the kernel cannot mount {kind}")
    source = manifest(tree)
    image, at = _build(Layout(firmware="bios", filesystem=kind, size_mb=ROOTS[kind]), tree,
                       tmp_path / f"{kind}.img")
    offset, size = at["root"]
    with mounted(image, offset, size, kind, tmp_path / "mnt") as mnt:
        copy = manifest(mnt)
    added = EXT_ADDED if kind.startswith("ext") else ADDED
    assert {p for p in copy if p not in source} == added
    diff = differences(source, {p: i for p, i in copy.items() if p not in added})
    assert diff == [], "\n".join(diff)
    assert len(source) > 100 and any(i.links for i in source.values())


def test_squashfs_partition_holds_the_tree(tmp_path: Path) -> None:
    """Unavoidable in squashfs 4.5: whole-second mtimes (every path) and no
    POSIX ACLs (it stores user., trusted. and security. xattrs only): the
    ACLs of srv/data and srv/data/shared."""
    top = tmp_path / "top"
    make_fidelity_tree(top / "opt")  # the tree is what lies below /opt
    layout = Layout(firmware="bios", filesystem="ext4", size_mb=200,
                    partitions=(Partition("opt", 64, "/opt", "squashfs"),))
    image, at = _build(layout, top, tmp_path / "sq.img")
    source = manifest(top / "opt")
    offset, size = at["opt"]
    with mounted(image, offset, size, "squashfs", tmp_path / "mnt") as mnt:
        copy = manifest(mnt)
    raw = differences(source, copy)
    assert {d.split(":")[0] for d in raw if " xattrs " in d} == {"srv/data", "srv/data/shared"}

    def squashed(item: Item) -> Item:
        return replace(item, mtime_ns=item.mtime_ns // 10**9 * 10**9,
                       xattrs=tuple(x for x in item.xattrs if x[0] not in ACLS))

    diff = differences({p: squashed(i) for p, i in source.items()}, copy)
    assert diff == [], "\n".join(diff)


def test_vfat_partition_holds_what_fat_can(tmp_path: Path) -> None:
    """FAT stores names, directories, file bytes and mtimes in two-second
    steps; unavoidable: no owners, modes, links, xattrs or holes, and
    directory times mtools does not copy out."""
    top = tmp_path / "top"
    make_vfat_tree(top / "fw")
    layout = Layout(firmware="bios", filesystem="ext4", size_mb=200,
                    partitions=(Partition("fw", 64, "/fw", "fat32"),))
    image, at = _build(layout, top, tmp_path / "fat.img")
    copy = manifest(vfat_copy(image, at["fw"][0], tmp_path / "out"))
    source = manifest(top / "fw")
    ignore = ("mode", "uid", "gid", "nlink", "xattrs", "holes", "links")
    files = {p: i for p, i in source.items() if i.kind == "file"}
    diff = differences(files, {p: i for p, i in copy.items() if i.kind == "file"}, ignore)
    assert diff == [], "\n".join(diff)
    assert {p for p, i in copy.items() if i.kind == "dir"} == {
        p for p, i in source.items() if i.kind == "dir"}


@pytest.mark.parametrize("kind", ["ext4", "xfs", "btrfs"])
def test_source_date_epoch_clamps_later_times(kind: str, tree: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """reproducible-builds.org's SOURCE_DATE_EPOCH: mtimes after it become
    it, earlier ones stay; a seed alone keeps every time (the other tests)."""
    if not kernel_has(kind):
        pytest.skip(f"the kernel cannot mount {kind}")
    epoch = 1600000050
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(epoch))
    plan = make_plan(Layout(firmware="bios", filesystem=kind, size_mb=ROOTS[kind]))
    out = tmp_path / "sde.img"
    build(plan, str(out), root_tree=str(tree), seed=f"sde-{kind}")  # kernel-visible UUIDs differ
    root = plan.entry("root")
    assert root is not None
    source = manifest(tree)
    with mounted(out, root.start * 512, root.size_bytes, kind, tmp_path / "mnt") as mnt:
        copy = manifest(mnt)
    later = [p for p, i in source.items() if i.mtime_ns > epoch * 10**9]
    earlier = [p for p, i in source.items() if i.mtime_ns <= epoch * 10**9]
    assert later and earlier
    assert all(copy[p].mtime_ns == epoch * 10**9 for p in later)
    assert all(copy[p].mtime_ns == source[p].mtime_ns for p in earlier)
    assert copy[b"etc/fstab"].mtime_ns == epoch * 10**9
