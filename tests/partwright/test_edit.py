"""`partwright`, `partwright FILE` and `partwright edit [FILE] [--profile]` open the designer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.layout.example import EXAMPLE_LAYOUT
from partwright.cli import main
from tests.support.cli import cli as run_cli
from tests.support.seed import SEED
from tui.app import PartwrightApp


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[PartwrightApp]:
    """The apps `partwright` would have run (run() is replaced: no terminal here)."""
    apps: list[PartwrightApp] = []

    def run(self: PartwrightApp, *args: Any, **kwargs: Any) -> None:
        apps.append(self)

    monkeypatch.setattr(PartwrightApp, "run", run)
    return apps


@pytest.mark.parametrize("argv", [[], ["edit"]])
def test_no_file_opens_the_example(opened: list[PartwrightApp], argv: list[str]) -> None:
    assert main(argv) == 0
    (app,) = opened
    assert app.path is None and app.session.layout == EXAMPLE_LAYOUT


@pytest.mark.parametrize("argv", [[str(SEED)], ["edit", str(SEED)]])
def test_a_file_opens_that_file(opened: list[PartwrightApp], argv: list[str]) -> None:
    assert main(argv) == 0
    (app,) = opened
    assert app.path == SEED and app.document.description is not None
    assert app.document.description.path == SEED
    assert app.session.layout == EXAMPLE_LAYOUT  # the seed description is the example


def test_profile_picks_the_type(opened: list[PartwrightApp], tmp_path: Path) -> None:
    text = SEED.read_text().replace(
        "<preferences>",
        '<profiles><profile name="big" description="big"/></profiles>\n'
        '    <preferences profiles="big">\n'
        '        <type image="oem" firmware="efi" filesystem="ext4"><size unit="G">7</size></type>\n'
        "    </preferences>\n    <preferences>", 1)
    path = tmp_path / "profiles.kiwi"
    path.write_text(text)
    assert main(["edit", str(path), "--profile", "big"]) == 0
    assert opened[0].session.layout.size_mb == 7 * 1024


def test_a_missing_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_cli("edit", str(tmp_path / "missing.kiwi"))
    assert result.returncode == 2
    assert result.stderr.startswith("partwright: error:") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_profile_without_a_file_is_a_usage_error() -> None:
    result = run_cli("edit", "--profile", "x")
    assert result.returncode == 2 and "--profile needs a FILE" in result.stderr
