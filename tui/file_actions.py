"""Saving, exporting and reloading: the questions around the Document's writes.

ctrl+s writes the Layout back onto the description it came from (lossless,
atomic); when the file's content changed on disk since it was read, it asks
first: reload it (the edits stay in the history), overwrite it, or cancel.
The built-in example has no file: its first save asks for a path. ctrl+e
writes the full description to a new path. A refused write is one
notification naming the file not written, and leaves every file as it was.

`FileActions` is composed into the app: it gets the app (for dialogs and
notifications), the Document, the current Layout, and what to do once a
layout is saved or reloaded (the app's session changes).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App

from engine.errors import PartwrightError
from engine.layout.model import Layout
from tui.document import Document
from tui.screens.dialogs import ConfirmOverwrite, ConflictChoice, PathPrompt


class FileActions:
    def __init__(self, app: App[Any], document: Document, layout: Callable[[], Layout],
                 saved: Callable[[Layout], None], reloaded: Callable[[Layout], None]) -> None:
        self.app = app
        self.document = document
        self.layout = layout
        self.saved = saved
        self.reloaded = reloaded

    def _failed(self, exc: PartwrightError, what: str) -> None:
        self.app.notify(exc.message, title=what, severity="error", timeout=8)

    def save(self, then_quit: bool = False) -> None:
        layout = self.layout()
        doc = self.document
        if doc.path is None:
            def chosen(path: Path | None) -> None:
                if path is not None:
                    self._write(lambda: doc.save_as(path, layout), layout, then_quit)
            self.app.push_screen(PathPrompt("Save the example as", "example.kiwi"), chosen)
            return
        try:
            changed = doc.changed_on_disk()
        except PartwrightError as exc:
            self._failed(exc, "Not saved")
            return
        if not changed:
            self._write(lambda: doc.save(layout), layout, then_quit)
            return

        def answered(choice: ConflictChoice | None) -> None:
            if choice == "overwrite":
                self._write(lambda: doc.save(layout), layout, then_quit)
            elif choice == "reload":
                self.reload()

        self.app.push_screen(ConfirmOverwrite(doc.path), answered)

    def _write(self, write: Callable[[], None], layout: Layout, then_quit: bool) -> None:
        try:
            write()
        except PartwrightError as exc:
            self._failed(exc, "Not saved")
            return
        self.saved(layout)
        self.app.notify(f"Saved {self.document.path}", timeout=3)
        if then_quit:
            self.app.exit()

    def reload(self) -> None:
        """The file as it is on disk now (one more step of the history)."""
        try:
            layout = self.document.reload()
        except PartwrightError as exc:
            self._failed(exc, "Not reloaded")
            return
        self.reloaded(layout)
        self.app.notify(f"Reloaded {self.document.path} (ctrl+z brings your edits back)",
                        timeout=4)

    def export(self) -> None:
        layout = self.layout()
        doc = self.document

        def chosen(path: Path | None) -> None:
            if path is None:
                return
            try:
                doc.export(path, layout)
            except PartwrightError as exc:
                self._failed(exc, "Not written")
                return
            self.app.notify(f"Wrote {path}", timeout=3)

        stem = doc.path.stem if doc.path is not None else "example"
        self.app.push_screen(PathPrompt("Export the full description to", f"{stem}-export.kiwi"),
                             chosen)
