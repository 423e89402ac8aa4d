"""The Diff tab: the layout being edited against the file as it was opened.

The engine compares (engine.diff.compare); this view shows the verdict for a
device in the field that runs the opened layout, then one row per partition:
its key, where it was, where it is now, what changed and what that means on
the device (kept, grown, reflash, lost, new).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from engine.diff.model import Comparison
from engine.plan.model import Entry
from tui import look

FATE_STYLES = {"kept": "", "grown": "green", "reflash": "yellow", "lost": "bold red",
               "new": "cyan"}
COLUMNS = ("Key", "On the device", "Change", "As opened", "Now")


def where(e: Entry | None) -> str:
    if e is None:
        return "-"
    return f"{e.number}: {e.start}-{e.end} ({look.human_bytes(e.size_bytes)})"


class DiffView(Vertical):
    """The verdict line and the table of changes."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.comparison: Comparison | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="diff-verdict")
        table: DataTable[Text] = DataTable(id="diff-table", cursor_type="row", zebra_stripes=True)
        yield table

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)

    def show(self, comparison: Comparison) -> None:
        self.comparison = comparison
        head = Text(f"{comparison.verdict}: ", style="bold")
        head.append(comparison.summary)
        for note in comparison.notes:
            head.append(f"\n{note}", style="italic")
        self.query_one("#diff-verdict", Static).update(head)
        table = self.query_one(DataTable)
        table.clear()
        for c in comparison.changes:
            style = FATE_STYLES[c.fate]
            table.add_row(*(Text(cell, style=style) for cell in (
                c.key, c.fate, ", ".join(c.kinds), where(c.old), where(c.new))), key=c.key)
