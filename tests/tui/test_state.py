"""The designer's model without a screen: the undo history and the row edits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.layout.example import EXAMPLE_LAYOUT
from engine.layout.model import Partition
from engine.plan.planner import plan
from tui import edits
from tui.state import Session

DATA = Partition("data", 1024, "/data", "ext4")


def test_edit_undo_redo_and_dirty() -> None:
    s = Session.start(EXAMPLE_LAYOUT)
    assert not s.dirty and not s.can_undo
    one = s.edit(EXAMPLE_LAYOUT.with_changes(root_clone=2), "root clones 1 → 2")
    assert one.dirty and one.can_undo and not one.can_redo
    undone = one.undo()
    assert undone is not None
    back, label = undone
    assert back.layout == EXAMPLE_LAYOUT and label == "root clones 1 → 2" and not back.dirty
    redone = back.redo()
    assert redone is not None and redone[0].layout == one.layout
    assert s.undo() is None and s.redo() is None
    # an edit that changes nothing is no step
    assert s.edit(EXAMPLE_LAYOUT, "nothing") is s


def test_typing_one_field_is_one_step() -> None:
    s = Session.start(EXAMPLE_LAYOUT)
    for value in (4, 40, 409, 4096):
        s = s.edit(EXAMPLE_LAYOUT.with_changes(oem_systemsize=value), f"systemsize {value}",
                   tag="oem_systemsize")
    assert len(s.undo_stack) == 1 and s.undo_stack[0].label == "systemsize 4096"
    undone = s.undo()
    assert undone is not None and undone[0].layout == EXAMPLE_LAYOUT
    # typing back to the start value leaves no step at all
    t = Session.start(EXAMPLE_LAYOUT)
    t = t.edit(EXAMPLE_LAYOUT.with_changes(oem_systemsize=204), "x", tag="oem_systemsize")
    t = t.edit(EXAMPLE_LAYOUT, "x", tag="oem_systemsize")
    assert not t.can_undo and not t.dirty
    # another field starts a new step
    u = s.edit(s.layout.with_changes(root_clone=3), "root", tag=None)
    assert len(u.undo_stack) == 2


def test_a_new_edit_drops_the_redo_stack() -> None:
    s = Session.start(EXAMPLE_LAYOUT).edit(EXAMPLE_LAYOUT.with_changes(boot_clone=2), "b")
    undone = s.undo()
    assert undone is not None
    s2 = undone[0].edit(EXAMPLE_LAYOUT.with_changes(root_clone=3), "r")
    assert not s2.can_redo


def test_mark_saved() -> None:
    s = Session.start(EXAMPLE_LAYOUT).edit(EXAMPLE_LAYOUT.with_changes(boot_clone=2), "b")
    saved = s.mark_saved()
    assert not saved.dirty and saved.can_undo
    undone = saved.undo()
    assert undone is not None and undone[0].dirty  # back before the save: unsaved again


@given(st.lists(st.integers(0, 6), min_size=1, max_size=30))
@settings(max_examples=50, deadline=None)
def test_undo_everything_returns_to_the_start(counts: list[int]) -> None:
    s = Session.start(EXAMPLE_LAYOUT)
    for i, n in enumerate(counts):
        tag = "typing" if i % 3 else None
        s = s.edit(s.layout.with_partition("home", clone=n), f"home {n}", tag)
    while True:
        undone = s.undo()
        if undone is None:
            break
        s = undone[0]
    assert s.layout == EXAMPLE_LAYOUT


def test_plus_on_any_row_of_a_partition_changes_its_origin() -> None:
    p = plan(EXAMPLE_LAYOUT)
    for key, field in (("home", None), ("homeclone2", None), ("root", "root_clone"),
                       ("rootclone1", "root_clone"), ("boot", "boot_clone"),
                       ("bootclone1", "boot_clone")):
        edit = edits.change_clones(EXAMPLE_LAYOUT, p, key, 1)
        if field is None:
            assert edit.layout.partition("home").clone == 3  # type: ignore[union-attr]
        else:
            assert getattr(edit.layout, field) == 2
        assert edit.select == key


def test_minus_on_the_last_clone_row_moves_the_cursor_to_the_origin() -> None:
    p = plan(EXAMPLE_LAYOUT)
    edit = edits.change_clones(EXAMPLE_LAYOUT, p, "homeclone2", -1)
    assert edit.layout.partition("home").clone == 1  # type: ignore[union-attr]
    assert edit.select == "home"


@pytest.mark.parametrize("key,why", [("efi", "cannot be cloned"), ("efi_csm", "cannot be cloned")])
def test_clones_refused(key: str, why: str) -> None:
    with pytest.raises(edits.EditRefused, match=why):
        edits.change_clones(EXAMPLE_LAYOUT, plan(EXAMPLE_LAYOUT), key, 1)


def test_no_negative_clone_count() -> None:
    layout = EXAMPLE_LAYOUT.with_partition("home", clone=0)
    with pytest.raises(edits.EditRefused):
        edits.change_clones(layout, plan(layout), "home", -1)


def test_swap_is_never_cloned() -> None:
    layout = EXAMPLE_LAYOUT.with_changes(oem_swap=True)
    with pytest.raises(edits.EditRefused, match="swap"):
        edits.change_clones(layout, plan(layout), "swap", 1)


def test_add_move_delete_and_rename() -> None:
    added = edits.add_partition(EXAMPLE_LAYOUT, DATA, after=None)
    assert [p.name for p in added.layout.partitions] == ["home", "data"]
    first = edits.add_partition(added.layout, Partition("srv", 10), after="home")
    assert [p.name for p in first.layout.partitions] == ["home", "srv", "data"]
    with pytest.raises(edits.EditRefused, match="already"):
        edits.add_partition(added.layout, DATA)
    moved = edits.move_partition(first.layout, "data", -1)
    assert [p.name for p in moved.layout.partitions] == ["home", "data", "srv"]
    with pytest.raises(edits.EditRefused, match="first"):
        edits.move_partition(first.layout, "home", -1)
    with pytest.raises(edits.EditRefused, match="custom"):
        edits.move_partition(first.layout, "root", 1)
    deleted = edits.delete_partition(first.layout, "srv")
    assert [p.name for p in deleted.layout.partitions] == ["home", "data"]
    assert deleted.select == "data"
    renamed = edits.replace_partition(added.layout, "data", Partition("db", 1024))
    assert [p.name for p in renamed.layout.partitions] == ["home", "db"]
    assert "rename" in renamed.label
    with pytest.raises(edits.EditRefused):
        edits.replace_partition(added.layout, "data", Partition("home", 1))


def test_origin_of_a_clone_kiwi_never_creates() -> None:
    layout = EXAMPLE_LAYOUT.with_changes(efiparttable="msdos")
    p = plan(layout)
    assert p.entry("homeclone1") is None
    assert edits.origin_key(p, "homeclone1") == "home"
    assert edits.origin_key(p, "rootclone1") == "root"
    assert edits.clone_count(layout, edits.origin_key(p, "homeclone1")) == 2


def test_new_partition_names_are_free_and_valid() -> None:
    from engine.layout import names

    layout = EXAMPLE_LAYOUT
    for _ in range(10):
        name = edits.new_partition_name(layout)
        assert layout.partition(name) is None and not names.name_problems(name)
        layout = edits.add_partition(layout, Partition(name, 1)).layout
