"""Consoles for the command line: wide enough when stdout is not a terminal,
so piped tables keep whole UUIDs and names."""

from __future__ import annotations

from rich.console import Console

PIPE_WIDTH = 200


def stdout_console() -> Console:
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=max(console.width, PIPE_WIDTH))
    return console
