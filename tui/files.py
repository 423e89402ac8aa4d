"""Saving and exporting: the designer's file actions (a mixin of the app).

ctrl+s writes the Layout back onto the description it came from through the
engine's lossless writer (atomic). The built-in example has no file, so its
first save asks for a path and writes the full description there; later
saves go to that file. ctrl+e writes the full description to a new path.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import PartwrightError
from tui import backend
from tui.screens.dialogs import PathPrompt

if TYPE_CHECKING:
    from tui.app import PartwrightApp

    Base = PartwrightApp
else:
    Base = object


_LUKS_ATTR = re.compile(r"""(\bluks\s*=\s*)(["'])(.*?)\2""", re.S)


def mask_secrets(xml: str) -> str:
    """The XML as shown on screen: a luks passphrase is never displayed
    (a key file reference, file://..., is)."""
    def mask(m: re.Match[str]) -> str:
        value = m.group(3)
        shown = value if value.startswith("file://") or not value else "\u2022" * 8
        return f"{m.group(1)}{m.group(2)}{shown}{m.group(2)}"
    return _LUKS_ATTR.sub(mask, xml)


class FileActions(Base):
    def xml_text(self) -> tuple[str, bool]:
        """The XML a save would write, or why there is none (text, ok)."""
        try:
            data = backend.xml_bytes(self.description, self.layout)
        except backend.NotAvailable as exc:
            return (f"Not available yet: {exc}. The table, partids and diagnostics are"
                    " complete without it.", False)
        except PartwrightError as exc:
            return f"This layout cannot be written yet: {exc.message}", False
        return mask_secrets(data.decode("utf-8", errors="replace")), True

    def action_save(self, then_quit: bool = False) -> None:
        if self.path is None:
            def chosen(path: Path | None) -> None:
                if path is not None and self._write_new(path, adopt=True) and then_quit:
                    self.exit()
            self.push_screen(PathPrompt("Save the example as", "example.kiwi"), chosen)
            return
        if self._save(self.path) and then_quit:
            self.exit()

    def _save(self, path: Path) -> bool:
        layout = self.layout
        try:
            if self.description is None or self.description.path is None:
                return self._write_new(path, adopt=True)
            self.description = backend.save(self.description, layout, path)
        except (backend.NotAvailable, PartwrightError) as exc:
            self.notify(str(exc), title="Not saved", severity="error", timeout=8)
            return False
        self.session = self.session.mark_saved(layout)
        self.update_title()
        self.notify(f"Saved {path}", timeout=3)
        return True

    def _write_new(self, path: Path, adopt: bool) -> bool:
        """Write the full description to `path`; with `adopt`, it becomes the file."""
        layout = self.layout
        try:
            data = backend.export_bytes(layout, self.description)
            backend.write_atomic(path, data)
        except (backend.NotAvailable, PartwrightError) as exc:
            self.notify(str(exc), title="Not written", severity="error", timeout=8)
            return False
        if adopt:
            self.path = path
            description: Any = backend.reload(path)
            if description is not None:
                self.description = description
            self.session = self.session.mark_saved(layout)
            self.update_title()
            self.render_plan()
        self.notify(f"Wrote {path}", timeout=3)
        return True

    def action_export(self) -> None:
        stem = self.path.stem if self.path is not None else "example"

        def chosen(path: Path | None) -> None:
            if path is not None:
                self._write_new(path, adopt=False)

        self.push_screen(PathPrompt("Export the full description to", f"{stem}-export.kiwi"),
                         chosen)
