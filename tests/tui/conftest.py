"""Fixtures of every designer test: the input cursor does not blink, so what
a test sees (and a snapshot pictures) does not depend on timing."""

from __future__ import annotations

import pytest

from tests.support.tui import freeze_cursor_blink


@pytest.fixture(autouse=True)
def steady_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_cursor_blink(monkeypatch)
