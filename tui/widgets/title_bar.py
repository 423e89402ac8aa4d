"""The title line: the app's title (file, [modified]) and sub-title, centred.

Textual's Header re-lays the whole screen out whenever the title changes; the
title changes with the first edit and with every save, so this one-line bar
only repaints itself.
"""

from __future__ import annotations

from textual.visual import VisualType
from textual.widget import Widget


class TitleBar(Widget):
    def on_mount(self) -> None:
        self.watch(self.app, "title", self._changed, init=False)
        self.watch(self.app, "sub_title", self._changed, init=False)

    def _changed(self, _value: str) -> None:
        self.refresh()

    def render(self) -> VisualType:
        return self.app.format_title(self.app.title, self.app.sub_title)
