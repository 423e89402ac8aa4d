"""The preview is the promise: for layouts drawn within the rules, `preview`
has no error diagnostic if and only if `build` succeeds and verifies.

Hypothesis draws small disks (a build takes about a second) with every
filesystem the build makes, sizes at and just past each tool's limit (xfs
300 MiB, btrfs 109 MiB, fat16 9 MiB, fat32 33 MiB, ext 2 MiB for a
journal), labels at and past their lengths, clones, msdos and gpt tables,
a spare partition, swap, and a small root tree spread over the mountpoints.
A plan without errors must build; a plan with errors is built anyway (its
errors taken out) and must fail, in the tool or in verify. CI runs a
bounded, fixed set of examples (PARTWRIGHT_PROPERTY_EXAMPLES raises it, and
then the draws are random: the hunts during development ran this way).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine.errors import PartwrightError
from engine.host import kernel
from engine.host.mount import loop_mount_refusals
from engine.image.build import build
from engine.layout.model import Layout, Partition
from engine.plan.model import Plan
from engine.plan.planner import plan as make_plan
from engine.plan.root_tree import KERNEL_FILLED, with_tree_diagnostics
from tests.support.image import needs_tools

EXAMPLES = int(os.environ.get("PARTWRIGHT_PROPERTY_EXAMPLES", "0"))
pytestmark = [
    needs_tools,
    pytest.mark.skipif(kernel.missing("loop") is not None or os.geteuid() != 0,
                       reason="xfs and btrfs filled from a tree need root and loop devices"),
]

# sizes (MiB) at and around every limit the planner knows
SIZES = {
    "xfs": [299, 300, 320], "btrfs": [108, 109, 120], "fat16": [1, 8, 9, 16],
    "fat32": [32, 33, 40], "ext2": [1, 2], "ext3": [1, 2, 4], "ext4": [1, 2, 8],
    "squashfs": [1, 4], None: [1, 3],
}
NAMES = ["data", "srv", "opt", "var", "cache", "databasefile", "thirteenchars", "seventeenletters"]


@st.composite
def buildable(draw: st.DrawFn) -> Layout:
    root_fs = draw(st.sampled_from(["ext2", "ext3", "ext4", "xfs", "btrfs"]))
    firmware = draw(st.sampled_from(["efi", "bios"]))
    names = draw(st.lists(st.sampled_from(NAMES), max_size=2, unique=True))
    parts = []
    for name in names:
        fs = draw(st.sampled_from(["ext2", "ext3", "ext4", "xfs", "btrfs", "fat16", "fat32",
                                   "squashfs", None]))
        parts.append(Partition(
            name=name, size_mb=draw(st.sampled_from(SIZES[fs])), mountpoint=f"/{name}",
            filesystem=fs, clone=draw(st.sampled_from([0, 0, 1]))))
    root_mb = draw(st.sampled_from({"xfs": [299, 300], "btrfs": [108, 109]}.get(root_fs, [2, 16])))
    spare = draw(st.sampled_from([None, None, 2, 300]))
    boot = draw(st.sampled_from([None, None, "ext2", "ext4", "fat16", "fat32", "xfs"]))
    layout = Layout(
        bootpartition=True if boot else None, bootfilesystem=boot,
        bootpartsize=draw(st.sampled_from([8, 9, 33, 300])) if boot else None,
        firmware=firmware, filesystem=root_fs, partitions=tuple(parts),
        root_clone=draw(st.sampled_from([0, 1])), oem_systemsize=root_mb, oem_resize=False,
        oem_swap=draw(st.sampled_from([None, True])), oem_swapsize=1,
        spare_part_mb=spare,
        spare_part_fs=draw(st.sampled_from(["ext4", "ext3", "xfs", "btrfs"])) if spare else None,
        rootfs_label=draw(st.sampled_from([None, "SYSTEM", "TWELVECHARSX", "THIRTEENCHARS"])),
        dosparttable_extended_layout=True if firmware == "bios" else None,
        efipartsize=draw(st.sampled_from([None, 8, 9])) if firmware == "efi" else None,
    )
    need = sum(p.size_mb * (p.clone + 1) for p in parts) + root_mb * (layout.root_clone + 1)
    need += (layout.bootpartsize or 0) + (spare or 0)
    return layout.with_changes(size_mb=need + 48)


def _tree(top: Path, layout: Layout) -> None:
    for mp in ["/etc", "/usr/bin"] + [p.mountpoint or "" for p in layout.partitions]:
        d = top / mp.lstrip("/")
        d.mkdir(parents=True, exist_ok=True)
        (d / "file.txt").write_text(f"below {mp}\n")
    (top / "usr" / "bin" / "tool").write_bytes(b"\x7fELF" + bytes(5000))


def _forced(plan: Plan) -> Plan:
    return replace(plan, diagnostics=tuple(d for d in plan.diagnostics if d.severity != "error"))


def check(layout: Layout, work: Path, note: Callable[[str], object] = lambda _: None) -> None:
    tree = work / "tree"
    _tree(tree, layout)
    plan = with_tree_diagnostics(make_plan(layout), str(tree), loop_mount_refusals(KERNEL_FILLED))
    out = work / "disk.img"
    try:
        build(_forced(plan), str(out), root_tree=str(tree), seed="truth")
    except PartwrightError as exc:
        assert plan.errors, f"the preview accepts it, the build fails: {exc}\n{layout}"
        note(f"refused: {', '.join(sorted({d.code for d in plan.errors}))}")
        return
    finally:
        shutil.rmtree(tree, ignore_errors=True)
        for path in work.glob("disk.img*"):
            path.unlink()
    assert not plan.errors, ("the preview has errors, the build succeeds and verifies:"
                             f" {[d.message for d in plan.errors]}\n{layout}")
    note("built and verified")


@settings(max_examples=EXAMPLES or 10, deadline=None, derandomize=not EXAMPLES,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
          database=None)
@given(layout=buildable())
def test_preview_has_no_error_iff_the_build_succeeds(layout: Layout) -> None:
    with tempfile.TemporaryDirectory(prefix="truth-") as work:
        check(layout, Path(work), event)


CASES = {  # found by the hunts, kept as fixed cases (each fails without its diagnostic)
    "fat32 of 32 MiB read as FAT16": Layout(
        firmware="efi", filesystem="ext4", size_mb=80, oem_systemsize=16, oem_resize=False,
        partitions=(Partition("data", 32, "/data", "fat32"),)),
    "xfs of 299 MiB": Layout(firmware="bios", filesystem="xfs", size_mb=340,
                             oem_systemsize=299, oem_resize=False),
    "ext3 of 1 MiB is ext2": Layout(firmware="bios", filesystem="ext4", size_mb=40,
                                    oem_systemsize=16, oem_resize=False,
                                    partitions=(Partition("var", 1, "/var", "ext3"),)),
    "xfs label of 13 bytes": Layout(firmware="bios", filesystem="xfs", size_mb=340,
                                    oem_systemsize=300, oem_resize=False,
                                    rootfs_label="THIRTEENCHARS"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_fixed_case(name: str, tmp_path: Path) -> None:
    check(CASES[name], tmp_path)
