"""SVG snapshots of the designer (pytest-textual-snapshot), one per scenario
of tests/support/scenarios.py (the table the README's screenshots come from).

Regenerate after a deliberate change with
`.venv/bin/pytest tests/tui/test_snapshots.py --snapshot-update`, then look at
the SVGs in tests/tui/__snapshots__/test_snapshots/ before committing them.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.scenarios import SCENARIOS, Scenario
from tui.app import PartwrightApp


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_snapshot(snap_compare: Any, scenario: Scenario) -> None:
    assert snap_compare(PartwrightApp(), terminal_size=scenario.size, run_before=scenario.drive)
