"""`preview --root-tree` says what a filesystem cannot hold of the tree,
by file and reason, before anything is written; the build refuses the same."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.image.build import build
from engine.image.checks import PlanHasErrors
from engine.layout.model import Layout, Partition
from engine.plan.planner import plan as make_plan
from engine.plan.root_tree import tree_diagnostics, with_tree_diagnostics
from tests.support.cli import cli
from tests.support.layout_xml import type_xml
from tests.support.trees import make_fidelity_tree, make_vfat_tree

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the tree has owners and device nodes")

FAT = Layout(firmware="bios", filesystem="ext4", size_mb=300,
             partitions=(Partition("fw", 64, "/fw", "fat32"),))
SQUASHED = Layout(firmware="bios", filesystem="ext4", size_mb=300,
                  partitions=(Partition("opt", 64, "/opt", "squashfs"),))


@pytest.fixture(scope="module")
def top(tmp_path_factory: pytest.TempPathFactory) -> Path:
    top = tmp_path_factory.mktemp("rules") / "top"
    make_fidelity_tree(top / "fw")
    (top / "fw" / "etc" / "HOSTNAME").write_text("case\n")
    make_fidelity_tree(top / "opt")
    return top


def _by_reason(top: Path, layout: Layout) -> dict[str, tuple[str, str]]:
    found = {}
    for d in tree_diagnostics(make_plan(layout), str(top)):
        reason = d.message.split("cannot hold ", 1)[1].split(":", 1)[0]
        found[reason] = (d.severity, d.message)
    return found


def test_what_vfat_cannot_hold(top: Path) -> None:
    found = _by_reason(top, FAT)
    errors = {r for r, (sev, _) in found.items() if sev == "error"}
    assert errors == {
        "symlinks", "device nodes, fifos or sockets",
        'names with control characters or characters FAT forbids (" * / < > ? \\ | and colons)',
        "names that are not UTF-8", "names that differ only in case (FAT keeps one of them)"}
    assert {r for r, (sev, _) in found.items() if sev == "warning"} == {
        "hard links (each name gets its own copy)", "owners other than root (FAT has none)",
        "extended attributes"}
    assert "dev/null, dev/sda, var/fifo, var/socket (4 below /fw)" in found[
        "device nodes, fifos or sockets"][1]
    assert "etc/hostname" in found["names that differ only in case (FAT keeps one of them)"][1] \
        or "etc/HOSTNAME" in found["names that differ only in case (FAT keeps one of them)"][1]
    assert "partition 1 (fw), fat32 at /fw" in found["symlinks"][1]


def test_a_tree_vfat_can_hold_has_no_diagnostic(tmp_path: Path) -> None:
    make_vfat_tree(tmp_path / "fw")
    assert tree_diagnostics(make_plan(FAT), str(tmp_path)) == []


def test_what_squashfs_cannot_hold(top: Path) -> None:
    found = _by_reason(top, SQUASHED)
    assert set(found) == {"POSIX ACLs (squashfs stores none)"}
    severity, message = found["POSIX ACLs (squashfs stores none)"]
    assert severity == "warning" and "srv/data, srv/data/shared" in message


def test_ext_holds_everything(top: Path) -> None:
    ext = Layout(firmware="bios", filesystem="ext4", size_mb=300,
                 partitions=(Partition("fw", 64, "/fw", "ext4"),))
    assert tree_diagnostics(make_plan(ext), str(top)) == []


def test_preview_says_it_and_build_refuses_it(top: Path, tmp_path: Path) -> None:
    desc = tmp_path / "fat.kiwi"
    desc.write_text(type_xml(FAT))
    proc = cli("preview", desc, "--root-tree", top, "--json")
    assert proc.returncode == 1, proc.stderr
    codes = [d["code"] for d in json.loads(proc.stdout)["diagnostics"]]
    assert "tree-unsupported" in codes and "tree-reduced" in codes
    plan = make_plan(FAT)
    assert with_tree_diagnostics(plan, str(top)).errors
    with pytest.raises(PlanHasErrors, match="cannot hold symlinks"):
        build(plan, str(tmp_path / "never.img"), root_tree=str(top))
    assert not (tmp_path / "never.img").exists()
