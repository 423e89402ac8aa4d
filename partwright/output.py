"""Consoles and tables for the command line: wide enough when stdout is not a
terminal, so piped tables keep whole UUIDs and names. rich is imported when
something is drawn, not before: `--json` output and the commands that print
plain lines never load it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

PIPE_WIDTH = 200


def stdout_console() -> Console:
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=max(console.width, PIPE_WIDTH))
    return console


def new_table(**options: Any) -> Table:
    """A rich Table with these options."""
    from rich.table import Table

    return Table(**options)
