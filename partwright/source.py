"""Where a command reads its description from: a path, or `-` for standard
input (read as /dev/stdin, so the engine's bounded reading applies to a pipe
as to a file)."""

from __future__ import annotations

STDIN = "-"


def description_path(name: str) -> str:
    """The path to read for the FILE argument `name`."""
    return "/dev/stdin" if name == STDIN else name
