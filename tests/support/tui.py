"""Helpers shared by the designer's Pilot and snapshot tests (no tests of its own)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any

from textual.widgets import Input

from tui.widgets.plan_table import PlanTable

SIZE = (120, 40)


def freeze_cursor_blink(monkeypatch: Any) -> None:
    """Inputs keep their cursor shown: snapshots do not depend on timing."""

    def steady(self: Input) -> None:
        self._cursor_visible = True

    monkeypatch.setattr(Input, "_toggle_cursor", steady)


def table(app: Any) -> PlanTable:
    return app.main.query_one(PlanTable)


def table_keys(app: Any) -> list[str]:
    return list(table(app).row_keys)


def table_cell(app: Any, key: str, column: str) -> str:
    return table(app).cell(key, column)


def no_builder() -> Callable[..., Any] | None:
    return None


def sync(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test in its own event loop (no pytest-asyncio here)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run
