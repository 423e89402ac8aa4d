"""Helpers shared by the designer's Pilot and snapshot tests and
screenshots/make_screenshots.py (no tests of their own)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Select

from tui.app import PartwrightApp
from tui.screens.build import BuildScreen
from tui.widgets.partition_list import PartitionList
from tui.widgets.plan_table import PlanTable

SIZE = (120, 40)


def freeze_cursor_blink(monkeypatch: Any) -> None:
    """Inputs keep their cursor shown: pictures do not depend on timing."""

    def steady(self: Input) -> None:
        self._cursor_visible = True

    monkeypatch.setattr(Input, "_toggle_cursor", steady)


def designer(pilot: Pilot[None]) -> PartwrightApp:
    """The app a Pilot drives, as the designer it is."""
    app = pilot.app
    assert isinstance(app, PartwrightApp)
    return app


def table(app: PartwrightApp) -> PlanTable:
    return app.main.query_one(PlanTable)


def table_keys(app: PartwrightApp) -> list[str]:
    return list(table(app).row_keys)


def table_cell(app: PartwrightApp, key: str, column: str) -> str:
    return table(app).cell(key, column)


async def go_to(pilot: Pilot[None], key: str) -> None:
    """Put the partition list's cursor on `key` with the arrow keys."""
    plist = designer(pilot).main.query_one(PartitionList)
    plist.focus()
    await pilot.pause()
    while plist.current_key != key:
        index = plist.keys.index(key)
        await pilot.press("down" if index > plist.cursor_row else "up")
    await pilot.pause()


async def choose(pilot: Pilot[None], select_id: str, value: str) -> None:
    """Open a Select with the keyboard and pick `value`."""
    select: Select[Any] = designer(pilot).main.query_one(f"#{select_id}", Select)
    select.focus()
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    values = [v for _, v in select._options]
    current = values.index(select.value)
    target = values.index(value)
    for _ in range(abs(target - current)):
        await pilot.press("down" if target > current else "up")
    await pilot.press("enter")
    await pilot.pause()


async def wait_until(pilot: Pilot[None], condition: Callable[[], object],
                     timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await pilot.pause(0.05)


async def start_build(pilot: Pilot[None], path: Path, seed: str = "tui") -> BuildScreen:
    """`b`, the output and seed filled in, Build pressed: the build screen."""
    await pilot.press("b")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, BuildScreen)
    screen.query_one("#build-output", Input).value = str(path)
    screen.query_one("#build-seed", Input).value = seed
    await pilot.click("#build-start")
    return screen
