"""The `partwright` program's entry point: the command line, with Ctrl-C quiet
from the first moment (importing the command line and the engine takes a
while; an interrupt meanwhile is one line and exit status 130, never a
traceback). Nothing but built-in modules is imported before the guard."""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from partwright.cli import main as run

        return run()
    except KeyboardInterrupt:
        sys.stderr.write("partwright: interrupted\n")
        return 130
