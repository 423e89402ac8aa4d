"""Round trip through real builds: import(build(L)) plans to L's table and
/config.partids, for every buildable layout of the test corpus (the
descriptions in tests/data, on small disks so the builds stay fast; layouts
that are equal once small are built once), the image tests' msdos and
mixed-filesystem layouts, a RAID and an LVM root, and hypothesis-drawn ones.
Filesystems, labels, clones and (with a root tree) the mountpoints in
/etc/fstab come back too.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from engine.host import kernel
from engine.image.build import build
from engine.importer import import_disk
from engine.kiwi.read import load
from engine.layout.example import EXAMPLE_LAYOUT
from engine.layout.model import Layout, SystemDisk, Volume
from engine.plan.planner import plan
from tests.support.image import MIXED_LAYOUT, MSDOS_LAYOUT, needs_tools
from tests.support.importing import rows, small, small_tree
from tests.support.layouts import layouts
from tests.support.paths import DATA

pytestmark = needs_tools


def _corpus() -> dict[str, Layout]:
    found: dict[str, Layout] = {}
    seen: list[Layout] = []
    paths = sorted((DATA / "descriptions").iterdir()) + [DATA / "oracle" / "seed.xml"]
    for path in paths:
        layout = small(load(path).layout)
        if layout is None or layout.luks is not None or layout in seen:
            continue
        seen.append(layout)
        found[path.name] = layout
    found["msdos-extended"] = MSDOS_LAYOUT
    found["mixed-filesystems"] = MIXED_LAYOUT
    found["raid-root"] = Layout(firmware="efi", filesystem="ext4", mdraid="mirroring",
                                root_clone=1, oem_systemsize=200, oem_resize=False, size_mb=768)
    found["lvm-root"] = Layout(firmware="efi", filesystem="ext4", size_mb=768, systemdisk=SystemDisk(
        volumes=(Volume("home", 64, mountpoint="/home"),)))
    return found


CORPUS = _corpus()


def round_trip(layout: Layout, tmp: Path, tree: Path | None = None) -> None:
    p = plan(layout)
    image = tmp / "disk.img"
    build(p, str(image), seed="round-trip", root_tree=str(tree) if tree else None)
    imported = import_disk(str(image))
    again = plan(imported.layout)
    assert rows(again) == rows(p), imported.layout
    assert again.partids == p.partids
    assert imported.exact, [d.message for d in imported.diagnostics]
    for e in p.entries:  # what the disk says about each partition, as the plan meant it
        got = next(x for x in imported.entries if x.number == e.number)
        assert (got.key, got.role, got.clone_of) == (e.key, e.role, e.clone_of)


def test_the_corpus_is_there() -> None:
    assert len(CORPUS) >= 10


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_round_trip_of_the_corpus(name: str, tmp_path: Path) -> None:
    layout = CORPUS[name]
    if layout.systemdisk is not None and kernel.missing("loop"):
        pytest.skip(f"an LVM root needs loop devices: {kernel.missing('loop')}")
    round_trip(layout, tmp_path)


def test_round_trip_with_a_root_tree_brings_the_mountpoints_back(tmp_path: Path) -> None:
    tree = small_tree(tmp_path / "tree")
    layout = EXAMPLE_LAYOUT.with_changes(size_mb=5120)
    round_trip(layout, tmp_path, tree)
    imported = import_disk(str(tmp_path / "disk.img"))
    assert imported.layout.partitions[0].mountpoint == "/home"
    assert imported.read.fstab_from == "/etc/fstab in partition 9"
    os.unlink(f"{tmp_path / 'disk.img'}.partids")  # without the sidecar: /config.partids
    again = import_disk(str(tmp_path / "disk.img"))
    assert again.read.partids_from == "/config.partids in partition 9" and again.exact


small_layouts = layouts().map(small).filter(lambda lay: lay is not None)


@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(small_layouts)
def test_round_trip_of_generated_layouts(layout: Layout | None) -> None:
    assert layout is not None
    with tempfile.TemporaryDirectory() as tmp:
        round_trip(layout, Path(tmp))
