"""`partwright inspect` on LUKS, LVM and md RAID layouts: every
container is recognised with its identifiers and the filesystem inside where
no key is needed, each clone is paired with its origin, no identifier is
shared; and a clone made a plain block copy on purpose (the origin's bytes
copied over it, nothing re-identified) is flagged."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.host import kernel, sparse
from engine.image import luks, lvm, mdraid
from engine.image.build import build
from engine.image.inspect import InspectReport, inspect
from engine.layout.model import Layout
from engine.plan.model import Plan
from engine.plan.planner import plan as make_plan
from tests.support.containers import LUKS2, LVM, PASSPHRASE, RAID0, RAID1, group
from tests.support.image import cli, needs_tools, sparse_sha256

pytestmark = needs_tools
needs_loop = pytest.mark.skipif(not kernel.has_loop(), reason=kernel.missing("loop") or "")

LAYOUTS: dict[str, Layout] = {"luks": LUKS2, "lvm": LVM, "raid1": RAID1, "raid0": RAID0}
KINDS = {"luks": "crypto_LUKS", "lvm": "LVM2_member", "raid1": "linux_raid_member",
         "raid0": "linux_raid_member"}
BASIS = {"luks": "luks", "lvm": "lvm", "raid1": "md", "raid0": "md"}


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Plan, Path]]]:
    """Each layout built once (seeded), shared by the tests that only read."""
    built: dict[str, tuple[Plan, Path]] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PARTWRIGHT_LUKS_FAST", "1")
        for name, layout in LAYOUTS.items():
            if name == "lvm" and not kernel.has_loop():
                continue
            out = tmp_path_factory.mktemp(name) / f"{name}.img"
            plan = make_plan(layout)
            build(plan, str(out), seed=f"inspect-{name}")
            built[name] = (plan, out)
        yield built


def get(images: dict[str, tuple[Plan, Path]], name: str) -> tuple[Plan, Path]:
    if name not in images:
        pytest.skip(kernel.missing("loop") or "not built")
    return images[name]


def expected_pairs(plan: Plan) -> set[tuple[int, int]]:
    (origin, _, _), *clones = group(plan)
    return {(origin, number) for number, _, _ in clones}


def container_pairs(report: InspectReport, kind: str) -> set[tuple[int, int]]:
    numbers = {p.number for p in report.partitions if p.filesystem == kind}
    return {(c.origin, c.clone) for c in report.clones if c.origin in numbers}


def check_clean(name: str, plan: Plan, report: InspectReport) -> None:
    """Every clone paired with its origin, on the container's own terms, and
    not one identifier shared."""
    kind = KINDS[name]
    assert container_pairs(report, kind) == expected_pairs(plan)
    for pair in report.clones:
        if (pair.origin, pair.clone) in expected_pairs(plan):
            assert pair.basis == BASIS[name] and not pair.identical and pair.shared == ()
    assert report.duplicates == ()
    assert report.partids_agree is True, report.partids_problems
    for number, _offset, _size in group(plan):
        part = report.partition(number)
        assert part is not None and part.container is not None
        assert part.container.kind == kind and part.filesystem == kind


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_containers_and_their_clones_are_paired(images: dict[str, tuple[Plan, Path]],
                                                 name: str) -> None:
    plan, out = get(images, name)
    before = sparse_sha256(out)
    report = inspect(str(out))
    assert sparse_sha256(out) == before  # only read (LVM: a read-only loop device)
    check_clean(name, plan, report)
    containers = [report.partition(n).container for n, _, _ in group(plan)]  # type: ignore[union-attr]
    assert all(c is not None for c in containers)
    ids = [c.uuid for c in containers if c is not None]
    assert len(set(ids)) == len(ids)
    inner_uuids = [fs.uuid for c in containers if c is not None for fs in c.inner]
    assert len(set(inner_uuids)) == len(inner_uuids)
    regions = group(plan)
    if name == "luks":
        for (_, offset, _), c in zip(regions, containers, strict=True):
            assert c is not None
            assert c.uuid == luks.read_header(str(out), offset).uuid
            assert (c.version, c.cipher) == ("2", "aes-xts-plain64")
            assert c.inner == () and c.note is not None and "encrypted" in c.note
        notes = {p.note for p in report.clones}
        assert notes == {"same size, container kind and cipher; content not compared (encrypted)"}
    elif name == "lvm":
        names = [c.vg_name for c in containers if c is not None]
        assert names == ["systemVG", "systemVG1", "systemVG2"]
        for (_, offset, size), c in zip(regions, containers, strict=True):
            assert c is not None
            vg = lvm.read_volume_group(str(out), offset, size)
            assert (c.uuid, c.vg_uuid) == (vg.pv_uuid, vg.uuid)
            assert [(fs.where, fs.offset, fs.size) for fs in c.inner] == [
                (lv.name, lv.offset, lv.size) for lv in vg.volumes]
            assert {fs.where: (fs.filesystem, fs.label) for fs in c.inner} == {
                "home": ("ext4", None), "srv_data": ("ext4", None),
                "LVSwap": ("swap", "SWAP"), "LVRoot": ("ext4", "ROOT")}
        assert len(inner_uuids) == 12
    else:
        level = 1 if name == "raid1" else 0
        for (_, offset, _), c in zip(regions, containers, strict=True):
            assert c is not None
            sb = mdraid.read_member(str(out), offset)
            assert (c.uuid, c.device_uuid, c.level) == (sb.set_uuid, sb.device_uuid, level)
            assert c.checksum_ok and c.data_offset == sb.data_offset
            if level == 1:
                (fs,) = c.inner
                assert (fs.filesystem, fs.label) == ("ext4", "ROOT")
                assert fs.offset == offset + sb.data_offset
            else:
                assert c.inner == ()
    assert PASSPHRASE not in json.dumps(report.to_json())


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_a_plain_block_copy_is_flagged(images: dict[str, tuple[Plan, Path]], name: str,
                                       tmp_path: Path) -> None:
    """Copy the origin's bytes over its first clone without re-identifying:
    the pair is found byte-identical and every identifier it shares is a
    duplicate (the container's and the filesystems' inside)."""
    plan, built = get(images, name)
    out = tmp_path / "dup.img"
    subprocess.run(["cp", "--sparse=always", str(built), str(out)], check=True)
    shutil.copyfile(f"{built}.partids", f"{out}.partids")
    (origin, o_off, size), (clone, c_off, _), *_ = group(plan)
    with open(out, "r+b") as img:
        sparse.copy_range(img.fileno(), o_off, img.fileno(), c_off, size)
    report = inspect(str(out))
    pair = next(p for p in report.clones if p.clone == clone)
    assert pair.origin == origin and pair.identical
    what = {"luks": ["LUKS UUID"], "lvm": ["PV UUID", "VG UUID", "VG name", "filesystem UUID"],
            "raid1": ["md array UUID", "md device UUID", "filesystem UUID"],
            "raid0": ["md array UUID", "md device UUID"]}[name]
    assert sorted(pair.shared) == sorted(what)
    o = report.partition(origin)
    assert o is not None and o.container is not None
    first, second = sorted((origin, clone))
    assert f"{what[0]} {o.container.uuid.lower()}: partitions {first}, {second}" in [
        d.lower().replace(what[0].lower(), what[0], 1) for d in report.duplicates]
    for kind in what:
        assert any(d.startswith(kind) for d in report.duplicates), (kind, report.duplicates)
    for fs in o.container.inner:  # each volume's filesystem UUID, in both partitions
        assert any(fs.uuid and fs.uuid.lower() in d for d in report.duplicates), fs
    assert any(f"partition {clone} shares its identifiers" in p for p in report.partids_problems)
    # the other clones stay clean
    for other in report.clones:
        if other.clone != clone:
            assert not other.identical and other.shared == ()
    text = cli("inspect", str(out))
    assert text.returncode == 0, text.stderr
    assert f"duplicate {what[0]}" in text.stdout
    assert "byte-identical: shares its identifiers" in text.stdout


@needs_loop
def test_lvm_without_loop_devices_says_so(images: dict[str, tuple[Plan, Path]],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    plan, out = get(images, "lvm")
    monkeypatch.setattr(kernel, "has_loop", lambda *a: False)
    report = inspect(str(out))
    for number, _, _ in group(plan):
        part = report.partition(number)
        assert part is not None and part.container is not None
        c = part.container
        assert c.uuid == part.uuid and c.vg_uuid is None and c.inner == ()
        assert c.note is not None and c.note.startswith("PV UUID from blkid only")
        assert "loop devices are not available" in c.note
    assert container_pairs(report, "LVM2_member") == expected_pairs(plan)
    assert {p.note for p in report.clones if p.basis == "lvm"} == {
        "same size and container kind; volume group not read, content not compared"}
    assert report.duplicates == ()


def test_cli_text_names_containers(images: dict[str, tuple[Plan, Path]]) -> None:
    _, out = get(images, "luks")
    proc = cli("inspect", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "crypto_LUKS: LUKS2, aes-xts-plain64, LUKS UUID" in proc.stdout
    assert "content not compared" in proc.stdout and "duplicate" not in proc.stdout
    data = json.loads(cli("inspect", "--json", str(out)).stdout)
    kinds = [p["container"]["kind"] for p in data["partitions"] if p["container"]]
    assert kinds == ["crypto_LUKS"] * 3
    assert all(c["basis"] == "luks" for c in data["clones"]) and data["duplicates"] == []
