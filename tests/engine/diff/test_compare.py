"""compare(): each kind of change, each fate, each verdict, on planned tables."""

from __future__ import annotations

from engine.diff import compare, side_of_plan
from engine.layout.example import EXAMPLE_LAYOUT as SEED
from engine.layout.model import Layout, Partition
from engine.plan.planner import plan


def _compare(old: Layout, new: Layout):  # type: ignore[no-untyped-def]
    return compare(side_of_plan(plan(old), "old"), side_of_plan(plan(new), "new"))


def fates(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {c.key: c.fate for c in result.changes if c.fate != "kept"}


def test_the_same_layout_fits_in_place() -> None:
    r = _compare(SEED, SEED)
    assert r.verdict == "in-place" and fates(r) == {}
    assert all(c.kinds == ("kept",) for c in r.changes) and "the same" in r.summary


def test_home_clone_count_plus_one_rewrites_and_loses_what_follows() -> None:
    r = _compare(SEED, SEED.with_partition("home", clone=3))
    assert r.verdict == "rewrite"
    assert fates(r) == {"home": "lost", "rootclone1": "lost", "root": "lost", "homeclone3": "new"}
    home = next(c for c in r.changes if c.key == "home")
    assert set(home.kinds) == {"moved", "renumbered"} and "number 7 -> 8" in home.detail
    assert "7 (home), 8 (rootclone1), 9 (root)" in r.summary
    assert any("kiwi_HomePart 7 -> 8" in n for n in r.notes)


def test_root_one_gib_larger_grows_the_clone_and_loses_the_root() -> None:
    r = _compare(SEED, SEED.with_changes(oem_systemsize=3072))
    assert r.verdict == "rewrite" and fates(r) == {"rootclone1": "grown", "root": "lost"}
    assert "2.0 GiB -> 3.0 GiB" in next(c.detail for c in r.changes if c.key == "rootclone1")


def test_a_partition_at_the_end_fits_in_place() -> None:
    r = _compare(SEED, SEED.with_changes(spare_part_is_last=True))
    assert r.verdict == "in-place" and fates(r) == {"spare": "new"}
    assert "added 10 (spare)" in r.summary


def test_a_new_filesystem_or_a_smaller_last_partition_is_a_reflash() -> None:
    r = _compare(SEED, SEED.with_changes(filesystem="ext4"))
    assert r.verdict == "reflash" and fates(r) == {"rootclone1": "reflash", "root": "reflash"}
    one = Layout(firmware="efi", filesystem="ext4", oem_systemsize=2000, oem_resize=False,
                 size_mb=4096)
    r = _compare(one, one.with_changes(oem_systemsize=1500))
    assert r.verdict == "reflash" and fates(r) == {"root": "reflash"}
    r = _compare(one, one.with_changes(oem_systemsize=3000))
    assert r.verdict == "in-place" and fates(r) == {"root": "grown"}


def test_removed_renamed_and_renumbered() -> None:
    two = SEED.with_changes(partitions=(Partition("home", 10), Partition("srv", 10)))
    r = _compare(two, two.with_changes(partitions=(Partition("home", 10),)))
    assert fates(r)["srv"] == "lost" and r.verdict == "rewrite"
    renamed = two.with_partition("srv", partition_name="data")
    r = _compare(two, renamed)
    srv = next(c for c in r.changes if c.key == "srv")
    assert srv.kinds == ("identity",) and srv.fate == "kept" and r.verdict == "in-place"
    numbered = two.with_partition("srv", part_id=20)
    r = _compare(two, numbered)
    assert r.verdict == "rewrite" and "no partition's data is lost" in r.summary
