"""The same disk as a raw image, a qcow2 image and a read-only block device
imports to the same layout; from the device, /config.partids and /etc/fstab
come from the root filesystem itself (no IMAGE.partids beside a device)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from engine.host import kernel
from engine.image.build import build
from engine.importer import import_disk
from engine.layout.example import EXAMPLE_LAYOUT
from engine.plan.planner import plan
from tests.support.image import needs_tools
from tests.support.importing import rows, small_tree

pytestmark = needs_tools
# small, ext4: inspect reads every byte of a block device (no holes to skip)
LAYOUT = EXAMPLE_LAYOUT.with_changes(filesystem="ext4", oem_systemsize=64, size_mb=1024)


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("sources")
    out = tmp / "seed.img"
    build(plan(LAYOUT), str(out), root_tree=str(small_tree(tmp / "tree")), seed="sources")
    return out


@pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img missing (qemu-utils)")
def test_qcow2(image: Path) -> None:
    qcow = image.with_suffix(".qcow2")
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", str(image), str(qcow)], check=True)
    imported = import_disk(str(qcow))
    assert imported.read.format == "qcow2" and imported.exact
    assert rows(plan(imported.layout)) == rows(plan(LAYOUT))
    assert imported.read.fstab_from == "/etc/fstab in partition 9"
    assert imported.layout.partitions[0].mountpoint == "/home"


@pytest.mark.skipif(kernel.missing("loop") is not None, reason=str(kernel.missing("loop")))
def test_read_only_block_device(image: Path) -> None:
    before = image.stat().st_mtime_ns
    dev = subprocess.run(["losetup", "-r", "-f", "--show", str(image)], capture_output=True,
                         text=True, check=True).stdout.strip()
    try:
        imported = import_disk(dev)
    finally:
        subprocess.run(["losetup", "-d", dev], check=True)
    assert imported.read.kind == "device" and imported.exact
    assert imported.read.partids_from == "/config.partids in partition 9"
    assert rows(plan(imported.layout)) == rows(plan(LAYOUT))
    assert plan(imported.layout).partids == plan(LAYOUT).partids
    assert image.stat().st_mtime_ns == before
