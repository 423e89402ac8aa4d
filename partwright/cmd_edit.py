"""`partwright edit [FILE]`: the Textual layout designer (also `partwright` alone).

The designer needs a terminal on standard input and error (where Textual
draws); without one (a pipe, /dev/null, CI) it says so and points at
`preview` instead of drawing escape codes into the void. A FILE that does
not exist yet starts a new description there; a disk image, block device or
table dump opens the layout it imports to, as a new IMAGE.kiwi. SIGINT,
SIGTERM and SIGHUP end the designer cleanly (the terminal restored), exit
status 128 + the signal.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from partwright.commands import HELP


def register(sub: Any) -> None:
    p = sub.add_parser(
        "edit", help=HELP["edit"],
        description="Open the designer, a terminal UI, on FILE (ctrl+s saves back losslessly);"
                    " a FILE that does not exist yet starts a new description there; without"
                    " FILE, the built-in example. It needs a terminal: use `partwright preview`"
                    " in scripts and CI.")
    p.add_argument("file", metavar="FILE", nargs="?",
                   help="KIWI description or bare <type> (a new path: a new description), or a"
                        " disk image, block device or table dump (its imported layout, saved as"
                        " IMAGE.kiwi); without it the built-in example")
    p.add_argument("--profile", help="use the <type> of this profile")
    p.set_defaults(func=run_edit)


def has_terminal() -> bool:
    """Whether the designer has a terminal: standard input (the keys) and
    standard error (Textual draws there) are both one."""
    try:
        return os.isatty(sys.stdin.fileno()) and os.isatty(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError):
        return False


def run_edit(args: argparse.Namespace) -> int:
    from engine.errors import PartwrightError

    if args.file is None and args.profile:
        raise PartwrightError("--profile needs a FILE (the built-in example has no profiles)")
    from tui.app import PartwrightApp

    if args.file is None:
        app = PartwrightApp(stop_on_signals=True)
    elif _is_disk(args.file):  # an image, device or dump: the imported layout, a new file
        app = _imported(args.file)
    else:  # DescriptionError: exit 2
        app = PartwrightApp.open(args.file, profile=args.profile, stop_on_signals=True)
    if not has_terminal():
        raise PartwrightError(
            "the designer needs a terminal (standard input and error are not one here);"
            " in scripts and CI use `partwright preview FILE` (or export, build)")
    app.run()
    status = app.return_code or 0
    if status > 128:
        sys.stderr.write("partwright: interrupted\n")
    return status


def _is_disk(path: str) -> bool:
    import os
    import stat

    from engine.importer import is_description

    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISBLK(mode) or (stat.S_ISREG(mode) and not is_description(path))


def _imported(path: str) -> Any:
    """The designer on the layout `partwright import` finds for the disk at
    `path`, as a new description IMAGE.kiwi (in the current directory for a
    block device); the disk itself is only read."""
    from pathlib import Path

    from engine.errors import PartwrightError
    from engine.importer import import_disk
    from tui.app import PartwrightApp

    source = Path(path)
    folder = Path.cwd() if source.is_block_device() else source.parent
    target = folder / f"{source.name}.kiwi"
    if target.exists():
        raise PartwrightError(f"{target} exists: open it with `partwright edit {target}`, or"
                              f" write another with `partwright import {path} -o OUT`")
    imported = import_disk(path)
    return PartwrightApp.new(imported.layout, target, stop_on_signals=True)
