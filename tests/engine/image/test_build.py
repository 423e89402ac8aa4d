"""Building images: the seed example (100 GiB GPT), an msdos layout with an
extended partition, and a layout with btrfs, vfat and swap. Each image is
read back with independent tools and checked against the plan."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from engine.image.build import BuildReport, build
from engine.image.inspect import inspect
from engine.image.verify import read_table, read_table_parted
from engine.layout.example import EXAMPLE_LAYOUT
from engine.plan.model import Plan
from engine.plan.planner import plan as make_plan
from tests.support.image import MIXED_LAYOUT, MSDOS_LAYOUT, blkid, needs_tools

pytestmark = needs_tools

LAYOUTS = {"seed": EXAMPLE_LAYOUT, "msdos": MSDOS_LAYOUT, "mixed": MIXED_LAYOUT}


@pytest.fixture(scope="module", params=sorted(LAYOUTS))
def built(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> tuple[Plan, Path, BuildReport]:
    plan = make_plan(LAYOUTS[request.param])
    assert plan.ok, plan.errors
    out = tmp_path_factory.mktemp(request.param) / f"{request.param}.img"
    steps: list[tuple[str, int, int]] = []
    report = build(plan, str(out), progress=lambda s, d, t: steps.append((s, d, t)))
    assert [s for s, _, _ in steps][0] == "prepare" and steps[-1] == ("finish", 1, 1)
    du = os.stat(out).st_blocks * 512
    print(f"\n{request.param}: {plan.disk_bytes / 2**30:.1f} GiB image, du {du / 2**20:.2f} MiB,"
          f" built in {report.seconds:.2f} s {dict(report.step_seconds)}")
    return plan, out, report


def test_table_read_back_equals_the_plan(built: tuple[Plan, Path, BuildReport]) -> None:
    plan, out, _ = built
    assert os.path.getsize(out) == plan.disk_bytes
    parted_rows = read_table_parted(str(out))
    assert [(n, s, e) for n, s, e, _ in parted_rows] == [(e.number, e.start, e.end) for e in plan.entries]
    if plan.table == "gpt":
        assert [name for *_, name in parted_rows] == [e.name for e in plan.entries]
    dump = json.loads(subprocess.run(["sfdisk", "--json", str(out)], capture_output=True,
                                     text=True, check=True).stdout)["partitiontable"]
    assert dump["label"] == ("gpt" if plan.table == "gpt" else "dos")
    rows = dump["partitions"]
    assert [(r["start"], r["start"] + r["size"] - 1) for r in rows] == [
        (e.start, e.end) for e in plan.entries]
    if plan.table == "msdos":
        assert [int(r["type"], 16) for r in rows] == [int(e.code, 16) for e in plan.entries]
        assert any(e.logical for e in plan.entries) and len(plan.entries) > 4
    # sgdisk's own codes agree too (gpt)
    if plan.table == "gpt":
        text = subprocess.run(["sgdisk", "-p", str(out)], capture_output=True, text=True,
                              check=True).stdout
        codes = [ln.split()[5] for ln in text.splitlines() if ln.strip()[:1].isdigit()
                 and len(ln.split()) > 6]
        assert codes == [e.code for e in plan.entries]
        assert "No problems found" in subprocess.run(
            ["sgdisk", "-v", str(out)], capture_output=True, text=True, check=False).stdout


def test_every_partition_has_its_filesystem(built: tuple[Plan, Path, BuildReport]) -> None:
    plan, out, report = built
    expected = {"fat16": "vfat", "fat32": "vfat"}
    for entry in plan.entries:
        origin = plan.origin_of(entry) or entry
        found = blkid(out, entry.start * 512, entry.size_bytes)
        if origin.filesystem is None or entry.role == "extended":
            assert "TYPE" not in found or entry.role == "extended"
            continue
        fs = origin.filesystem
        assert found.get("TYPE") == expected.get(fs, fs), (entry, found)
        if fs.startswith("fat"):
            assert found["VERSION"] == fs.upper()
        assert found.get("LABEL") == origin.label, (entry, found)
    assert {c.number for c in report.checks if c.tool != "none"} == {
        p.number for p in report.partitions if p.filesystem and p.filesystem != "swap"}
    assert all(c.ok for c in report.checks)


def test_identifiers_are_unique(built: tuple[Plan, Path, BuildReport]) -> None:
    plan, out, _ = built
    table = read_table(str(out))
    partuuids = [r.partuuid for r in table.rows]
    assert len(partuuids) == len(plan.entries) == len(set(partuuids))
    uuids: dict[str, int] = {}
    for entry in plan.entries:
        found = blkid(out, entry.start * 512, entry.size_bytes)
        if "UUID" in found:
            assert found["UUID"] not in uuids, f"{entry.number} shares a UUID with {uuids[found['UUID']]}"
            uuids[found["UUID"]] = entry.number
    # every clone differs from its origin and from its sibling clones
    for key in {e.clone_of for e in plan.entries if e.clone_of}:
        group = [plan.entry(key), *plan.clones_of(key)]
        ids = [blkid(out, e.start * 512, e.size_bytes).get("UUID") for e in group if e]
        assert None not in ids and len(set(ids)) == len(ids), (key, ids)


def test_image_allocates_only_what_was_written(built: tuple[Plan, Path, BuildReport]) -> None:
    plan, out, report = built
    du = os.stat(out).st_blocks * 512
    assert report.allocated_bytes == du
    assert du < 16 * 2**20, f"{du} bytes allocated"
    assert du < plan.disk_bytes // 100
    # a clone allocates no more than its origin
    for part in report.partitions:
        if part.clone_of is not None:
            origin = next(p for p in report.partitions if p.number == part.clone_of)
            assert part.copied_bytes <= (origin.end - origin.start + 1) * 512


def test_inspect_finds_the_clones_and_agrees_with_partids(built: tuple[Plan, Path, BuildReport]) -> None:
    plan, out, _ = built
    found = inspect(str(out))
    expected = {(plan.entry(e.clone_of).number, e.number)  # type: ignore[union-attr]
                for e in plan.entries if e.clone_of}
    assert {(c.origin, c.clone) for c in found.clones} == expected
    assert not any(c.identical for c in found.clones)
    assert found.duplicates == ()
    assert found.partids_path == f"{out}.partids"
    assert found.partids_agree, found.partids_problems
    assert Path(f"{out}.partids").read_text() == plan.partids_text()


def test_seed_example_is_the_100_gib_preview(built: tuple[Plan, Path, BuildReport]) -> None:
    plan, out, report = built
    if plan.layout != EXAMPLE_LAYOUT:
        pytest.skip("seed example only")
    assert plan.disk_bytes == 100 * 2**30 and len(plan.entries) == 9
    assert [(e.number, e.start, e.end) for e in plan.entries] == [
        (1, 2048, 6143), (2, 6144, 47103), (3, 47104, 661503), (4, 661504, 1275903),
        (5, 1275904, 1296383), (6, 1296384, 1316863), (7, 1316864, 1337343),
        (8, 1337344, 5531647), (9, 5531648, 9725951)]
    kinds = {p.number: p.filesystem for p in report.partitions}
    assert kinds == {1: None, 2: "vfat", 3: "ext4", 4: "ext4", 5: "ext3", 6: "ext3",
                     7: "ext3", 8: "xfs", 9: "xfs"}
    assert report.fstab.splitlines()[0].endswith(" / xfs defaults 0 1")
