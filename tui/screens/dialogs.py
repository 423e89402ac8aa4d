"""Small modal screens: the key help, the questions (unsaved changes, a file
changed on disk), a path prompt."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static
from textual.widgets.button import ButtonVariant

from tui.keys import FOCUS_KEYS, KEYS

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


Answer = TypeVar("Answer", bound=str)


class Question(ModalScreen[Answer]):
    """A question with a few answers, each a button (and a key in the
    subclass's BINDINGS); escape and the last button answer 'cancel'."""

    HEADING: ClassVar[str] = ""
    ANSWERS: ClassVar[tuple[tuple[Any, str, ButtonVariant], ...]] = ()  # answer, label, look

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm", classes="dialog"):
            yield Static(self.HEADING, classes="dialog-title")
            yield Static(self.text, id="confirm-text")
            with Horizontal(classes="dialog-buttons"):
                for answer, label, variant in self.ANSWERS:
                    yield Button(label, id=answer, variant=variant, compact=True)

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        for answer, _label, _variant in self.ANSWERS:
            if answer == event.button.id:
                self.dismiss(answer)

    def action_choose(self, answer: Answer) -> None:
        self.dismiss(answer)


QuitChoice = Literal["save", "quit", "cancel"]


class ConfirmQuit(Question[QuitChoice]):
    """Unsaved changes: 'save', 'quit' (discard) or 'cancel'."""

    HEADING = "Unsaved changes"
    ANSWERS = (("save", "Save and quit (s)", "primary"),
               ("quit", "Quit without saving (q)", "error"),
               ("cancel", "Cancel (esc)", "default"))
    BINDINGS = [Binding("escape", "choose('cancel')", "Cancel"),
                Binding("s", "choose('save')", "Save", show=False),
                Binding("y,q", "choose('quit')", "Quit", show=False)]

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} has changes that are not saved.")


ConflictChoice = Literal["reload", "overwrite", "cancel"]


class ConfirmOverwrite(Question[ConflictChoice]):
    """The file changed on disk since it was read: 'reload' it (the edits stay
    in the history), 'overwrite' it, or 'cancel'."""

    HEADING = "The file changed on disk"
    ANSWERS = (("reload", "Reload it (r)", "primary"),
               ("overwrite", "Overwrite it (o)", "error"),
               ("cancel", "Cancel (esc)", "default"))
    BINDINGS = [Binding("escape", "choose('cancel')", "Cancel"),
                Binding("r", "choose('reload')", "Reload", show=False),
                Binding("o", "choose('overwrite')", "Overwrite", show=False)]

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} was changed by someone else since it was read. Reload it"
                         " (your edits stay in the history: ctrl+z brings them back),"
                         " overwrite it with your layout, or cancel?")


class PathPrompt(ModalScreen[Path | None]):
    """Ask for a file path; an existing file needs a second Enter to overwrite."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), *FOCUS_KEYS]

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
