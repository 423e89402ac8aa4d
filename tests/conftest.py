"""Fixtures and hooks of the whole suite.

The longest tests start first: the suite runs on two workers (pytest-xdist,
`make test`), and a test of a minute that starts near the end keeps one
worker busy while the other has nothing left to do. LONGEST lists them by
node id prefix, longest first (measured with `pytest --durations`); every
other test keeps its order after them."""

from __future__ import annotations

import pytest

LONGEST = (
    "tests/partwright/test_kill.py::",
    "tests/engine/plan/test_kiwi_differential.py::test_kiwi_agrees_on_generated_layouts",
    "tests/engine/image/test_distro_tree.py::",
    "tests/partwright/test_fuzz.py::",
    "tests/tui/test_build_signals.py::",
    "tests/engine/kiwi/test_edit_property.py::test_edits_touch_only_the_type",
)


def _rank(item: pytest.Item) -> int:
    for rank, prefix in enumerate(LONGEST):
        if item.nodeid.startswith(prefix):
            return rank
    return len(LONGEST)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: the same order on every worker
