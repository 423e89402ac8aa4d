"""SVG snapshots of the designer at fixed sizes (pytest-textual-snapshot).

Regenerate after a deliberate change with
`.venv/bin/pytest tests/test_tui_snapshots.py --snapshot-update`, then look at
the SVGs in tests/__snapshots__/test_tui_snapshots/ before committing them.
The input cursor does not blink (frozen), so the pictures do not depend on
timing.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.support.tui import SIZE, freeze_cursor_blink
from tui.app import PartwrightApp
from tui.widgets.partition_list import PartitionList


@pytest.fixture(autouse=True)
def _steady(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_cursor_blink(monkeypatch)


async def _home_plus(pilot: Pilot[None]) -> None:
    plist = pilot.app.main.query_one(PartitionList)  # type: ignore[attr-defined]
    plist.focus()
    plist.move_to(plist.keys.index("home"))
    await pilot.press("+")


def test_main_screen(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """The seed example at 120x40: settings, list, table, map, diagnostics."""
    assert snap_compare(PartwrightApp(), terminal_size=SIZE)


def test_main_screen_after_plus_on_home(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(PartwrightApp(), terminal_size=SIZE, run_before=_home_plus)


def test_partition_form(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """The add form, with a bad size marked in its field."""

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.press("a")
        await pilot.pause()
        size = pilot.app.screen.query_one("#size", Input)
        size.focus()
        size.value = ""
        await pilot.press(*"12X")

    assert snap_compare(PartwrightApp(), terminal_size=SIZE, run_before=run_before)


def test_diagnostics_with_errors(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """An msdos table: KIWI fails on partition 5; the error leads the list."""

    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        app.set_session(app.session.edit(  # type: ignore[attr-defined]
            app.layout.with_changes(efiparttable="msdos"), "table msdos"))  # type: ignore[attr-defined]
        await pilot.press("x")

    assert snap_compare(PartwrightApp(), terminal_size=SIZE, run_before=run_before)


def test_narrow_terminal(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """80x24: the settings fold away, the table and the keys stay."""
    assert snap_compare(PartwrightApp(), terminal_size=(80, 24))


def test_narrow_terminal_settings(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """80x24 after `s`: the settings take the place of the table."""
    assert snap_compare(PartwrightApp(), terminal_size=(80, 24), press=["s"])


def test_light_theme(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.press("ctrl+t")
        await _home_plus(pilot)

    assert snap_compare(PartwrightApp(), terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(PartwrightApp(), terminal_size=SIZE, press=["question_mark"])
