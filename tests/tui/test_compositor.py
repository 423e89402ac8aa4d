"""The sparse compositor: a key's partial update writes to the terminal exactly
what Textual's own compositor writes, while rendering only the widgets it
repaints (the settings pane is not rendered again for a `+`)."""

from __future__ import annotations

from typing import Any

from textual._compositor import ChopsUpdate, Compositor
from textual.widget import Widget

from tests.support.tui import SIZE, go_to
from tui.app import PartwrightApp
from tui.compositor import SparseCompositor
from tui.widgets.settings import Settings


async def test_partial_updates_write_what_textual_writes(monkeypatch: Any) -> None:
    app = PartwrightApp()
    compared: list[tuple[str, str]] = []
    rendered: list[Widget] = []  # by the sparse compositor
    counting = [False]
    render_lines = Widget.render_lines

    def counted(self: Widget, crop: Any) -> Any:
        if counting[0]:
            rendered.append(self)
        return render_lines(self, crop)

    sparse = SparseCompositor.render_partial_update

    def both(self: SparseCompositor) -> ChopsUpdate | None:
        dirty = set(self._dirty_regions)
        counting[0] = True
        try:
            ours = sparse(self)
        finally:
            counting[0] = False
        self._dirty_regions.update(dirty)
        theirs = Compositor.render_partial_update(self)
        if ours is not None and theirs is not None:
            compared.append((ours.render_segments(app.console),
                             theirs.render_segments(app.console)))
        return ours

    async with app.run_test(size=SIZE) as pilot:
        assert type(app.main._compositor) is SparseCompositor
        monkeypatch.setattr(SparseCompositor, "render_partial_update", both)
        await go_to(pilot, "home")
        settings = set(app.main.query_one(Settings).walk_children(Widget))
        monkeypatch.setattr(Widget, "render_lines", counted)
        for key in ("plus", "plus", "down", "minus", "up", "ctrl+z"):
            rendered.clear()
            await pilot.press(key)
            await pilot.pause()
            if key == "plus":
                assert rendered and not settings & set(rendered), "the settings were drawn again"
        assert app.layout.partition("home").clone == 4  # type: ignore[union-attr]
    assert len(compared) >= 6
    for ours, theirs in compared:
        assert ours == theirs
