"""The disk size from a real root tree, as KIWI measures it (du, find), checked
against KIWI's own DiskSetup through the oracle."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from engine.host.root_tree import measure
from engine.layout.model import Layout, Partition
from engine.plan.planner import plan
from engine.plan.root_tree import with_root_tree

MIB = 1 << 20


def make_tree(top: Path, *, big_mib: int = 300, home_mib: int = 0, files: int = 50) -> Path:
    (top / "usr" / "lib").mkdir(parents=True)
    with open(top / "usr" / "lib" / "big.bin", "wb") as f:
        f.truncate(big_mib * MIB)  # apparent size counts, holes and all
    for i in range(files):
        (top / "usr" / "lib" / f"f{i}.txt").write_text("x" * (i * 37))
    os.link(top / "usr" / "lib" / "big.bin", top / "usr" / "lib" / "hardlink.bin")
    (top / "etc").mkdir()
    os.symlink("/usr/lib/big.bin", top / "etc" / "link")
    (top / "proc").mkdir()
    with open(top / "proc" / "kcore", "wb") as f:
        f.truncate(500 * MIB)  # left out, as KIWI's du --exclude does
    if home_mib:
        (top / "home" / "user").mkdir(parents=True)
        with open(top / "home" / "user" / "data.bin", "wb") as f:
            f.truncate(home_mib * MIB)
    return top


def test_measure_counts_like_du_and_find(tmp_path: Path) -> None:
    top = make_tree(tmp_path / "root", big_mib=300, files=50)
    size = measure(str(top))
    assert size.mbytes == 300  # the hard link once, proc left out, small files below 1 MiB
    # find | wc -l: top, usr, usr/lib, big + 50 files + hard link, etc, link, proc, kcore
    assert size.files == 1 + 2 + (1 + 50 + 1) + 2 + 2


def test_missing_tree_is_a_one_line_error(tmp_path: Path) -> None:
    from engine.errors import PartwrightError

    with pytest.raises(PartwrightError, match="not a directory"):
        measure(str(tmp_path / "absent"))


def test_partition_smaller_than_its_data(tmp_path: Path) -> None:
    top = make_tree(tmp_path / "root", big_mib=10, home_mib=200)
    layout = Layout(firmware="efi", filesystem="ext4",
                    partitions=(Partition("home", 100, "/home", "ext4"),))
    p = plan(with_root_tree(layout, str(top)))
    assert "partition-too-small" in [d.code for d in p.errors]


kiwi = pytest.importorskip("kiwi", reason="KIWI (test-only dependency) is not installed")
needs_tools = pytest.mark.skipif(not shutil.which("sgdisk"), reason="sgdisk is not installed")


@needs_tools
@pytest.mark.kiwi
@pytest.mark.parametrize("fs,clones,home", [("ext4", 0, 0), ("xfs", 1, 50), ("ext4", 2, 120),
                                            ("btrfs", 0, 30)])
def test_disk_size_from_a_tree_agrees_with_kiwi(tmp_path: Path, fs: str, clones: int,
                                                 home: int) -> None:
    from tests.support.kiwi_oracle import run_oracle
    from tests.support.layout_xml import image_xml

    top = make_tree(tmp_path / "root", big_mib=700, home_mib=home, files=300)
    layout = Layout(firmware="efi", filesystem=fs, root_clone=clones, oem_resize=False,
                    oem_systemsize=None,
                    partitions=(Partition("home", 400, "/home", "ext4", clone=1),))
    theirs = run_oracle(image_xml(layout), root_tree=str(top))
    ours = plan(with_root_tree(layout, str(top)))
    assert theirs["disk_mbytes"] == ours.disk_sectors // 2048, theirs
    if theirs["error"] is None:
        rows = [(e.number, e.start, e.end, e.code, e.name) for e in ours.entries]
        assert rows == [(r["number"], r["start"], r["end"], r["code"], r["name"])
                        for r in theirs["partitions"]]
    else:
        assert ours.errors
