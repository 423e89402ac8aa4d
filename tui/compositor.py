"""A partial screen update that renders only the widgets it repaints.

Textual's compositor answers a partial update by rendering every widget
inside the box around all changed regions, then keeps the changed lines. A
key in the designer changes the title line, the partition list, the table,
the disk map and the diagnostics, whose box is the whole screen: every one of
the settings pane's fifty widgets was rendered again, unchanged, on every
key. `SparseCompositor` renders only the widgets whose visible part overlaps
a changed region; the others could only have painted cells outside the
changed regions, which a partial update does not write. Nor does it render a
widget (the screen, a container) whose part of the changed regions is all
under a widget in front of it: the front one's cells are the ones written. What reaches the
terminal is the same (tests/tui/test_compositor.py compares both).

`install` puts it under a screen where Textual's compositor is what it
expects; on any other Textual the screen keeps its own.
"""

from __future__ import annotations

from typing import Any

from textual._compositor import ChopsUpdate, Compositor
from textual.geometry import Region
from textual.screen import Screen
from textual.widget import Widget


class SparseCompositor(Compositor):
    def render_partial_update(self) -> ChopsUpdate | None:
        changed = tuple(self._dirty_regions)
        everyone = self.visible_widgets
        _ = self.cuts  # the cuts of every widget, computed before the view narrows
        # the update also writes the piece that starts just right of a region
        reach = [Region(c.x, c.y, c.width + 1, c.height) for c in changed]
        narrowed: dict[Widget, tuple[Region, Region]] = {}
        drawn: list[Region] = []  # what the widgets kept so far show (front first)
        for widget, (region, clip) in everyone.items():
            visible = region.intersection(clip)
            if not any(visible.overlaps(c) for c in changed):
                continue
            parts = [visible.intersection(r) for r in reach if visible.overlaps(r)]
            # a part that a widget in front shows in full is that widget's: the
            # one behind it (a container) would paint nothing there that is seen
            if not all(any(front.contains_region(part) for front in drawn) for part in parts):
                narrowed[widget] = (region, clip)
                drawn.append(visible)
        self._visible_widgets = narrowed
        try:
            return super().render_partial_update()
        finally:
            if self._visible_widgets is narrowed:
                self._visible_widgets = everyone


def install(screen: Screen[Any]) -> bool:
    """Give `screen` the sparse compositor (keeping its state); False when the
    screen's compositor is not the one this was written for."""
    compositor = getattr(screen, "_compositor", None)
    if type(compositor) is not Compositor:
        return False
    compositor.__class__ = SparseCompositor
    return True
