"""The designer's Diff tab: the layout being edited against the file as it was
opened, with the verdict for a device in the field, live on every edit."""

from __future__ import annotations

import shutil
from pathlib import Path

from textual.widgets import DataTable, Static

from tests.support.seed import SEED
from tests.support.tui import SIZE, go_to
from tui.app import PartwrightApp
from tui.widgets.diff_view import DiffView


def _rows(app: PartwrightApp) -> dict[str, str]:
    table: DataTable[object] = app.main.query_one("#diff-table", DataTable)
    return {str(table.get_row(key)[0]): str(table.get_row(key)[1]) for key in table.rows}


async def test_the_diff_tab_follows_the_edits(tmp_path: Path) -> None:
    path = tmp_path / "seed.kiwi"
    shutil.copyfile(SEED, path)
    app = PartwrightApp.open(path)
    async with app.run_test(size=SIZE) as pilot:
        app.main.query_one("#tabs").active = "tab-diff"
        await pilot.pause()
        verdict = str(app.main.query_one("#diff-verdict", Static).render())
        assert "in-place" in verdict and "the same" in verdict
        await go_to(pilot, "home")
        await pilot.press("+")
        await pilot.pause()
        app.main.query_one("#tabs").active = "tab-diff"
        await pilot.pause()
        view = app.main.query_one(DiffView)
        assert view.comparison is not None and view.comparison.verdict == "rewrite"
        fates = _rows(app)
        assert fates["home"] == "lost" and fates["root"] == "lost"
        assert fates["homeclone3"] == "new" and fates["boot"] == "kept"
        assert "rewrite: the table must be rewritten" in str(app.main.query_one("#diff-verdict", Static).render())
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert view.comparison is not None and view.comparison.verdict == "in-place"
