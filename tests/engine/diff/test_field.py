"""The verdict holds on a real disk: the seed example is built (OLD, with a
root tree), each edit's NEW table is written over a copy of it with sfdisk
(all that the verdict allows: no data is copied or re-flashed), and the
partitions the verdict keeps hold OLD's bytes (sha256), the grown ones OLD's
bytes at their start, the lost ones no longer OLD's bytes where NEW puts
them, and new partitions lie where OLD held no data."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from engine.diff import compare, side_of_plan
from engine.host import sparse
from engine.image import gpt
from engine.image.build import build
from engine.importer import open_side
from engine.layout.example import EXAMPLE_LAYOUT as SEED
from engine.layout.model import Layout
from engine.plan.model import Plan
from engine.plan.planner import plan
from tests.support.image import needs_tools
from tests.support.importing import region_sha256, rows, small_tree

pytestmark = needs_tools

EDITS: dict[str, tuple[Layout, str, dict[str, str]]] = {
    # edit: (NEW, verdict, the partitions whose fate is not "kept")
    "home clone count +1": (SEED.with_partition("home", clone=3), "rewrite",
                            {"home": "lost", "rootclone1": "lost", "root": "lost",
                             "homeclone3": "new"}),
    "root size +1 GiB": (SEED.with_changes(oem_systemsize=3072), "rewrite",
                         {"rootclone1": "grown", "root": "lost"}),
    "a new partition at the end": (SEED.with_changes(spare_part_is_last=True), "in-place",
                                   {"spare": "new"}),
}


@pytest.fixture(scope="module")
def old_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("field")
    image = tmp / "old.img"
    build(plan(SEED), str(image), root_tree=str(small_tree(tmp / "tree")), seed="field")
    return image


def write_table(device: Path, new: Plan) -> None:
    """NEW's table, written by sfdisk over whatever the device holds."""
    lines = ["label: gpt", "unit: sectors", ""]
    for e in new.entries:
        lines.append(f"{device}{e.number} : start={e.start}, size={e.sectors},"
                     f" type={gpt.type_guid(e.code)}, name=\"{e.name}\"")
    subprocess.run(["sfdisk", "--no-reread", "--no-tell-kernel", "--wipe", "never",
                    "--wipe-partitions", "never", "-q", str(device)],
                   input="\n".join(lines) + "\n", text=True, check=True, capture_output=True)


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_the_verdict_holds_on_the_built_disk(edit: str, old_image: Path, tmp_path: Path) -> None:
    new_layout, verdict, fates = EDITS[edit]
    new = plan(new_layout)
    result = compare(open_side(str(old_image)), side_of_plan(new, "new"))
    assert result.verdict == verdict, result.summary
    assert {c.key: c.fate for c in result.changes if c.fate != "kept"} == fates
    device = tmp_path / "device.img"
    subprocess.run(["cp", "--sparse=always", str(old_image), str(device)], check=True)
    write_table(device, new)
    table = json.loads(subprocess.run(["sfdisk", "--json", str(device)], capture_output=True,
                                      text=True, check=True).stdout)["partitiontable"]
    assert len(table["partitions"]) == len(rows(new))
    lost = {c.old.number for c in result.changes if c.fate == "lost" and c.old is not None}
    checked = 0
    for c in result.changes:
        o, n = c.old, c.new
        if c.fate == "new":
            assert n is not None
            # it lies over OLD's free space (no data there) or over lost partitions only
            under = [e for e in plan(SEED).entries if e.start <= n.end and n.start <= e.end]
            assert all(e.number in lost for e in under), (c.key, under)
            if verdict == "in-place":
                with open(old_image, "rb") as fh:
                    assert sparse.data_bytes(fh.fileno(), n.start * 512, n.sectors * 512) == 0
            continue
        assert o is not None and n is not None
        before = region_sha256(old_image, o.start * 512, o.sectors * 512)
        after = region_sha256(device, n.start * 512, o.sectors * 512)
        if c.fate in ("kept", "grown"):
            assert after == before, c.key
            checked += 1
        elif c.fate == "lost":
            assert after != before, c.key
    assert checked >= 6
