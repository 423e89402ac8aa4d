"""Text views: `/config.partids` and the XML a save would write, highlighted."""

from __future__ import annotations

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static


def _theme(dark: bool) -> str:
    return "ansi_dark" if dark else "ansi_light"


class SourceView(VerticalScroll):
    """A scrollable, syntax highlighted text (or a plain message)."""

    def __init__(self, lexer: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lexer = lexer
        self.text = ""
        self.note: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(id=f"{self.id}-body" if self.id else None, classes="source-body")

    def show_text(self, text: str) -> None:
        self.text, self.note = text, None
        self._paint()

    def show_note(self, note: str) -> None:
        self.text, self.note = "", note
        self._paint()

    def _paint(self) -> None:
        body = self.query_one(".source-body", Static)
        if self.note is not None:
            body.update(Text(self.note, style="italic"))
            return
        dark = self.app.current_theme.dark if self.app.current_theme else True
        body.update(Syntax(self.text, self.lexer, theme=_theme(dark), word_wrap=False,
                           line_numbers=self.lexer == "xml", background_color="default"))
