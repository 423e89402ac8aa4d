"""`partwright edit [FILE]`: the Textual layout designer (also `partwright` alone)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "edit", help="design a layout interactively (the default command)",
        description="Open the designer, a terminal UI, on FILE (ctrl+s saves back losslessly);"
                    " without FILE, on the built-in example. It needs a terminal: use"
                    " `partwright preview` in scripts and CI.")
    p.add_argument("file", metavar="FILE", nargs="?",
                   help="KIWI description or bare <type>; without it the built-in example")
    p.add_argument("--profile", help="use the <type> of this profile")
    p.set_defaults(func=run_edit)


def run_edit(args: argparse.Namespace) -> int:
    from engine.errors import PartwrightError
    from tui.app import PartwrightApp

    if args.file is None:
        if args.profile:
            raise PartwrightError("--profile needs a FILE (the built-in example has no profiles)")
        app = PartwrightApp()
    else:
        app = PartwrightApp.open(args.file, profile=args.profile)  # DescriptionError: exit 2
    app.run()
    return 0
