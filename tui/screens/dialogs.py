"""Small modal screens: the key help, the unsaved-changes question, a path prompt."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from tui.keys import KEYS

EXTRA_KEYS = (
    ("Enter", "on a row: edit it; on a diagnostic: go to its partition"),
    ("↑ ↓ PgUp PgDn", "move in the focused list or table"),
    ("Tab / shift+Tab", "next / previous pane"),
    ("ctrl+p", "command palette: every action by name"),
    ("mouse", "click a row, a map segment, a diagnostic, a tab or a footer key"),
)


def help_table() -> Table:
    table = Table(box=None, show_header=False, pad_edge=False, expand=True)
    table.add_column("key", style="bold", no_wrap=True, min_width=14)
    table.add_column("what")
    for key in KEYS:
        table.add_row(key.display, f"{key.title}: {key.help}")
    for keys, what in EXTRA_KEYS:
        table.add_row(keys, what)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help", classes="dialog"):
            yield Static("partwright: keys", classes="dialog-title")
            with VerticalScroll(id="help-body"):
                yield Static(help_table())
                yield Static(Text(
                    "The table is what KIWI NG 11 builds for this description, sector for"
                    " sector. Every edit re-plans at once; ctrl+z takes it back.",
                    style="italic"), id="help-note")
            yield Button("Close", id="help-close", compact=True)

    @on(Button.Pressed, "#help-close")
    def action_close(self) -> None:
        self.dismiss(None)


QuitChoice = Literal["save", "quit", "cancel"]


class ConfirmQuit(ModalScreen[QuitChoice]):
    """Unsaved changes: 'save', 'quit' (discard) or 'cancel'."""

    BINDINGS = [Binding("escape", "choose('cancel')", "Cancel"),
                Binding("s", "choose('save')", "Save", show=False),
                Binding("y,q", "choose('quit')", "Quit", show=False)]

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm", classes="dialog"):
            yield Static("Unsaved changes", classes="dialog-title")
            yield Static(f"{self.what} has changes that are not saved.", id="confirm-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save and quit (s)", id="save", variant="primary", compact=True)
                yield Button("Quit without saving (q)", id="quit", variant="error", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        pressed = event.button.id
        choice: QuitChoice = "save" if pressed == "save" else "quit" if pressed == "quit" \
            else "cancel"
        self.dismiss(choice)

    def action_choose(self, choice: QuitChoice) -> None:
        self.dismiss(choice)


class PathPrompt(ModalScreen[Path | None]):
    """Ask for a file path; an existing file needs a second Enter to overwrite."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, default: str = "", must_be_new: bool = False) -> None:
        super().__init__()
        self.prompt_title = title
        self.default = default
        self.must_be_new = must_be_new
        self._confirmed: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="path-prompt", classes="dialog"):
            yield Static(self.prompt_title, classes="dialog-title")
            yield Input(self.default, placeholder="path/to/file.kiwi", id="path-input")
            yield Static("", id="path-problem")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", id="path-ok", variant="primary", compact=True)
                yield Button("Cancel", id="path-cancel", compact=True)

    @on(Input.Submitted)
    @on(Button.Pressed, "#path-ok")
    def _ok(self) -> None:
        text = self.query_one("#path-input", Input).value.strip()
        problem = self.query_one("#path-problem", Static)
        if not text:
            problem.update("give a path")
            return
        path = Path(text).expanduser()
        if path.is_dir():
            problem.update(f"{path} is a directory")
            return
        if not path.parent.is_dir():
            problem.update(f"the directory {path.parent} does not exist")
            return
        if path.exists() and self._confirmed != text:
            self._confirmed = text
            problem.update(f"{path} exists: Enter again to replace it")
            return
        self.dismiss(path)

    @on(Button.Pressed, "#path-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
