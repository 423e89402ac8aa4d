"""A real distribution tree (this machine's /etc and /usr: thousands of
files, hard links, non-ASCII names, a file capability) built as the seed
layout's root (tests/data/oracle/seed.xml: xfs root and its clone, ext4 boot,
ext3 home, the ESP), read back through the kernel and compared file by file.
The root, and its clone, hold the tree exactly; the build adds /etc/fstab
(replacing the tree's), /config.partids and the empty mountpoints /boot and
/home, which the tree does not have."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.host import kernel
from engine.host.mount import kernel_has
from engine.image.build import build
from engine.kiwi.read import load
from engine.plan.planner import plan as make_plan
from engine.plan.root_tree import with_root_tree, with_tree_diagnostics
from tests.support.distro import make_distro_tree
from tests.support.image import needs_tools
from tests.support.paths import DATA
from tests.support.trees import differences, manifest, mounted

pytestmark = [
    needs_tools,
    pytest.mark.skipif(os.geteuid() != 0, reason="copying /etc and /usr with owners needs root"),
    pytest.mark.skipif(kernel.missing("loop") is not None or not kernel_has("xfs"),
                       reason=str(kernel.missing("loop") or "the kernel has no xfs")),
]
ADDED = {b"config.partids", b"boot", b"home"}


def test_distribution_tree_as_the_seed_root(tmp_path: Path) -> None:
    tree = make_distro_tree(tmp_path / "tree")
    source = manifest(tree)
    files = [i for i in source.values() if i.kind == "file"]
    assert len(source) > 3000, len(source)
    assert any(i.links for i in files)
    assert any(not p.decode("utf-8", "replace").isascii() for p in source)
    assert any(name == b"security.capability" for i in files for name, _ in i.xattrs)
    layout = with_root_tree(load(str(DATA / "oracle" / "seed.xml")).layout, str(tree))
    plan = with_tree_diagnostics(make_plan(layout), str(tree))
    assert plan.ok, plan.errors
    out = tmp_path / "seed.img"
    report = build(plan, str(out), root_tree=str(tree), seed="distro")
    for key in ("root", "rootclone1"):
        entry = plan.entry(key)
        assert entry is not None
        with mounted(out, entry.start * 512, entry.size_bytes, "xfs", tmp_path / key) as mnt:
            copy = manifest(mnt)
            fstab = (mnt / "etc" / "fstab").read_text()
        assert {p for p in copy if p not in source} == ADDED
        assert fstab == report.fstab
        diff = differences({p: i for p, i in source.items() if p != b"etc/fstab"},
                           {p: i for p, i in copy.items() if p not in ADDED | {b"etc/fstab"}})
        assert diff == [], "\n".join(diff[:50])
    print(f"\n{len(source)} paths, {sum(i.size for i in files) / 2**20:.1f} MiB of files,"
          f" built in {report.seconds:.2f} s {dict(report.step_seconds)}")
