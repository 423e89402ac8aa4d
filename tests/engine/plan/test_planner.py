"""The planner: the seed example exactly, and properties of every plan."""

from __future__ import annotations

import time

from hypothesis import given, settings

from engine.layout.example import EXAMPLE_LAYOUT
from engine.layout.model import Layout, Partition
from engine.plan.planner import plan
from tests.support.layouts import layouts
from tests.support.seed import SEED_PARTIDS, SEED_ROWS


def test_seed_example_table_is_exact() -> None:
    p = plan(EXAMPLE_LAYOUT)
    assert [(e.number, e.start, e.end, e.code, e.name) for e in p.entries] == SEED_ROWS
    assert p.table == "gpt"
    assert p.disk_sectors == 100 * 1024 * 2048
    assert p.partids_text() == SEED_PARTIDS
    assert [(f.start, f.end, f.sectors) for f in p.free] == [(9725952, 209715166, 199989215)]
    assert not p.errors


def test_seed_example_roles_and_clones() -> None:
    p = plan(EXAMPLE_LAYOUT)
    roles = {e.name: (e.role, e.clone_of) for e in p.entries}
    assert roles["p.legacy"] == ("bios_grub", None)
    assert roles["p.lxhomeclone2"] == ("custom", "home")
    assert roles["p.lxrootclone1"] == ("root", "root")
    assert roles["p.lxbootclone1"] == ("boot", "boot")
    assert p.entry("home") is not None and p.entry("home").filesystem == "ext3"  # type: ignore[union-attr]


def test_json_shape() -> None:
    data = plan(EXAMPLE_LAYOUT).to_json()
    assert data["table"] == "gpt" and data["sector_size"] == 512
    first = data["partitions"][0]
    assert first == {"number": 1, "start": 2048, "end": 6143, "sectors": 4096, "code": "EF02",
                     "name": "p.legacy", "role": "bios_grub", "clone_of": None,
                     "filesystem": None, "mountpoint": None}
    assert data["partids"]["kiwi_rootPartClone1"] == "8"
    assert {d["code"] for d in data["diagnostics"]} >= {"unpartitioned"}


def test_more_home_clones_move_root_down_by_10_mib() -> None:
    before = plan(EXAMPLE_LAYOUT)
    after = plan(EXAMPLE_LAYOUT.with_partition("home", clone=3))
    assert after.entry("homeclone3") is not None
    assert after.entry("root").start - before.entry("root").start == 20480  # type: ignore[union-attr]


def test_msdos_without_extended_layout_reports_primaries() -> None:
    p = plan(EXAMPLE_LAYOUT.with_changes(efiparttable="msdos"))
    assert p.table == "msdos"
    codes = [d.code for d in p.errors]
    assert "msdos-primaries" in codes
    assert all(e.name is None for e in p.entries)


def test_msdos_extended_layout_logicals_cost_one_mib() -> None:
    p = plan(EXAMPLE_LAYOUT.with_changes(efiparttable="msdos", dosparttable_extended_layout=True))
    assert not p.errors, p.errors
    ext = next(e for e in p.entries if e.role == "extended")
    assert ext.number == 4 and ext.code == "5" and ext.end == p.disk_sectors - 1
    logicals = [e for e in p.entries if e.logical]
    assert [e.number for e in logicals] == list(range(5, 5 + len(logicals)))
    assert logicals[0].start == ext.start + 2048
    for a, b in zip(logicals, logicals[1:], strict=False):
        assert b.start == a.end + 1 + 2048


def test_ten_thousand_clones_is_a_diagnostic_not_a_hang() -> None:
    t0 = time.perf_counter()
    p = plan(EXAMPLE_LAYOUT.with_partition("home", clone=10000))
    assert time.perf_counter() - t0 < 1.0
    gpt = [d for d in p.errors if d.code == "gpt-entries"]
    assert gpt and "10007" in gpt[0].message


def test_gpt_129_entries_fails_like_sgdisk() -> None:
    layout = EXAMPLE_LAYOUT.with_partition("home", clone=122)  # 9 + 120 = 129 partitions
    p = plan(layout)
    assert [d.code for d in p.errors] == ["gpt-entries"]
    assert max(e.number for e in p.entries) == 128


def test_root_clone_with_custom_partitions_and_all_free_overruns() -> None:
    layout = EXAMPLE_LAYOUT.with_changes(oem_systemsize=None, oem_resize=None)
    p = plan(layout)
    assert "root-clone-overrun" in [d.code for d in p.errors]
    assert "oem-systemsize" in (p.errors[0].fix or "")


def test_tiny_disk_does_not_fit() -> None:
    p = plan(EXAMPLE_LAYOUT.with_changes(size_mb=10))
    assert "disk-too-small" in [d.code for d in p.errors]


def test_no_boot_partition_bootpart_is_root() -> None:
    p = plan(Layout(firmware="efi", filesystem="ext4", size_mb=4096))
    ids = dict(p.partids)
    assert ids["kiwi_BootPart"] == ids["kiwi_RootPart"] == "3"
    root = p.entry("root")
    assert root is not None and (root.end + 1) % 2048 == 0


def test_aarch64_has_no_legacy_partition() -> None:
    p = plan(Layout(arch="aarch64", filesystem="ext4", size_mb=4096))
    assert [e.name for e in p.entries] == ["p.UEFI", "p.lxroot"]


def test_part_id_collision() -> None:
    layout = Layout(firmware="efi", filesystem="ext4", size_mb=8192, root_clone=1,
                    oem_systemsize=1024, oem_resize=False,
                    partitions=(Partition("home", 100, "/home", clone=2, part_id=10),))
    p = plan(layout)
    assert "part-id-collision" in [d.code for d in p.errors]


def _check_invariants(layout: Layout) -> None:
    p = plan(layout)
    last_usable = p.disk_sectors - (34 if p.table == "gpt" else 1)
    spans = sorted((e.start, e.end) for e in p.entries if e.role != "extended")
    for (_s1, e1), (s2, _) in zip(spans, spans[1:], strict=False):
        assert e1 < s2, "overlap"
    for e in p.entries:
        assert e.start % 2048 == 0, e
        assert 2048 <= e.start <= e.end <= last_usable, e
        if e.clone_of:
            origin = p.entry(e.clone_of)
            if origin is not None:
                assert origin.sectors == e.sectors, (origin, e)
    ids = dict(p.partids)
    for e in p.entries:
        if e.role == "extended":
            continue
        assert str(e.number) in ids.values()
    numbers = [e.number for e in p.entries]
    assert len(numbers) == len(set(numbers))
    assert plan(layout) == p  # a pure function


@settings(max_examples=300, deadline=None)
@given(layouts())
def test_plan_invariants(layout: Layout) -> None:
    _check_invariants(layout)
