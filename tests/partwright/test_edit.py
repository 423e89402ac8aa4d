"""`partwright`, `partwright FILE` and `partwright edit [FILE] [--profile]` open the designer."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.layout.example import EXAMPLE_LAYOUT
from partwright.cli import main
from tests.support.cli import cli as run_cli
from tests.support.cli import one_line
from tests.support.seed import SEED
from tui.app import PartwrightApp


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


def test_a_new_path_opens_a_new_description(opened: list[PartwrightApp], tmp_path: Path) -> None:
    path = tmp_path / "new.kiwi"
    assert main(["edit", str(path)]) == 0
    (app,) = opened
    assert app.path == path and app.document.is_new and app.session.layout == EXAMPLE_LAYOUT
    assert list(tmp_path.iterdir()) == []  # nothing written until a save


@pytest.mark.parametrize("args", [["edit", "{tmp}/missing/new.kiwi"],
                                  ["edit", "{tmp}/new.kiwi", "--profile", "Large"],
                                  ["{tmp}"]])
def test_a_path_that_cannot_be_opened_is_one_line_and_exit_2(tmp_path: Path,
                                                             args: list[str]) -> None:
    result = run_cli(*[a.format(tmp=tmp_path) for a in args])
    assert result.returncode == 2 and result.stdout == ""
    assert one_line(result.stderr).startswith(f"partwright: error: {tmp_path}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [[], ["edit"], [str(SEED)]])
def test_without_a_terminal_it_says_so_and_points_at_preview(args: list[str]) -> None:
    result = run_cli(*args, timeout=30)  # stdin is /dev/null, stdout a pipe: no hang
    assert result.returncode == 2 and result.stdout == ""
    line = one_line(result.stderr)
    assert "needs a terminal" in line and "partwright preview" in line and "\x1b" not in line


def test_profile_without_a_file_is_a_usage_error() -> None:
    result = run_cli("edit", "--profile", "x")
    assert result.returncode == 2 and "--profile needs a FILE" in result.stderr
