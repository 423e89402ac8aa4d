"""Fixtures of the command line's tests."""

from __future__ import annotations

from typing import Any

import pytest

from partwright import cmd_edit
from tui.app import PartwrightApp


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[PartwrightApp]:
    """The apps `partwright edit` would have run (run() is replaced, and there is
    a terminal as far as the command knows: the test has none)."""
    apps: list[PartwrightApp] = []

    def run(self: PartwrightApp, *args: Any, **kwargs: Any) -> None:
        apps.append(self)

    monkeypatch.setattr(PartwrightApp, "run", run)
    monkeypatch.setattr(cmd_edit, "has_terminal", lambda: True)
    return apps
