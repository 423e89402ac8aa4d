"""sgdisk's placement keeps its free blocks as it goes (each new partition cut
out of them once): after any sequence of creations, and after the partitions
are replaced wholesale as the first-boot replay does, they are the blocks
the slots give when recomputed from scratch, and numbers in use are refused."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.plan.placement import GptTable, PlacementError, Slot
from engine.units import GRAIN

DISK = 64 * 1024 * GRAIN  # 64 GiB


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 130), st.one_of(st.none(), st.integers(1, 8192)),
                          st.one_of(st.just(0), st.integers(0, 40 * 1024 * GRAIN))),
                min_size=1, max_size=40))
def test_kept_blocks_are_the_recomputed_ones(adds: list[tuple[int, int | None, int]]) -> None:
    table = GptTable(DISK)
    for number, mbsize, start in adds:
        before = list(table.slots)
        try:
            slot = table.add(number, mbsize, start)
        except PlacementError as exc:
            assert table.slots == before
            if exc.kind == "number-in-use":
                assert any(s.number == number for s in before)
        else:
            assert slot in table.slots and not any(s.number == number for s in before)
        assert table._free_blocks() == table._free_blocks_of_all()


def test_replaced_slots_are_recounted() -> None:
    table = GptTable(DISK)
    table.add(1, 100)
    table.add(2, 200)
    table.slots = [Slot(2, 2048 * 1000, 2048 * 2000 - 1)]
    assert table._free_blocks() == table._free_blocks_of_all()
    assert table.add(1, 10).number == 1  # number 1 is free again
    assert table._free_blocks() == table._free_blocks_of_all()
