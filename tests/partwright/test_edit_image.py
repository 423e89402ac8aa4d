"""`partwright edit IMAGE` (and `partwright IMAGE`): the designer on the
layout an image imports to, as a new description IMAGE.kiwi; the image is
only read."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.layout.example import EXAMPLE_LAYOUT
from engine.plan.planner import plan
from partwright.cli import main
from tests.support.cli import cli
from tests.support.importing import rows, table_image
from tui.app import PartwrightApp


@pytest.mark.parametrize("command", [["edit"], []])
def test_edit_an_image_opens_its_imported_layout(opened: list[PartwrightApp], tmp_path: Path,
                                                 command: list[str]) -> None:
    image = table_image(tmp_path / "seed.img", plan(EXAMPLE_LAYOUT))
    before = image.stat()
    assert main([*command, str(image)]) == 0
    (app,) = opened
    assert rows(plan(app.layout)) == rows(plan(EXAMPLE_LAYOUT))
    assert app.path == tmp_path / "seed.img.kiwi" and app.document.is_new
    assert not app.path.exists()  # nothing written until the user saves
    after = image.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_an_existing_description_next_to_it_is_not_overwritten(tmp_path: Path) -> None:
    image = table_image(tmp_path / "seed.img", plan(EXAMPLE_LAYOUT))
    (tmp_path / "seed.img.kiwi").write_text("mine\n")
    r = cli("edit", str(image))
    assert r.returncode == 2 and "exists" in r.stderr and r.stderr.count("\n") == 1
    assert (tmp_path / "seed.img.kiwi").read_text() == "mine\n"


async def test_ctrl_s_writes_the_new_description(tmp_path: Path) -> None:
    from engine.kiwi.read import load
    from partwright.cmd_edit import _imported

    image = table_image(tmp_path / "seed.img", plan(EXAMPLE_LAYOUT))
    app = _imported(str(image))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
    saved = tmp_path / "seed.img.kiwi"
    assert rows(plan(load(saved).layout)) == rows(plan(EXAMPLE_LAYOUT))
