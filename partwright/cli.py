"""The `partwright` command line: a thin caller of the engine.

Each area has its own module `partwright/cmd_<area>.py` with a
`register(subparsers)` function that adds its sub-commands and sets
`func` to a callable `(args) -> int`. Errors from the engine become one
line on stderr and exit status 2 (3 for a tool failure); never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from engine.errors import PartwrightError

# sub-command modules, in the order `--help` lists them
AREAS = ("cmd_layout", "cmd_export", "cmd_edit", "cmd_build", "cmd_cow", "cmd_import", "cmd_diff")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"partwright: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="partwright",
        description="Design KIWI NG partition layouts, preview the exact table, build the image.",
    )
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    for area in AREAS:
        try:
            module = importlib.import_module(f"partwright.{area}")
        except ModuleNotFoundError as exc:
            if exc.name != f"partwright.{area}":
                raise
            continue
        module.register(sub)
    _describe(parser)
    return parser


def _describe(parser: argparse.ArgumentParser) -> None:
    """A command registered without a description gets its one-line help as
    one, so its --help says what it does (and so on down the sub-commands)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                if sub.description is None and helps.get(name):
                    text = str(helps[name])
                    sub.description = f"{text[0].upper()}{text[1:]}."
                _describe(sub)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()  # imports every command: Ctrl-C may come meanwhile
    except KeyboardInterrupt:
        sys.stderr.write("partwright: interrupted\n")
        return 130
    # `partwright` alone and `partwright FILE` open the designer
    commands = _commands(parser)
    if args_list and args_list[0] not in commands and not args_list[0].startswith("-") \
            and not _names_a_file(args_list[0]):
        sys.stderr.write(f"partwright: error: unknown command '{args_list[0]}' (commands:"
                         f" {', '.join(commands)}; a new description: a path such as"
                         f" {args_list[0]}.kiwi)\n")
        return 2
    if not args_list or args_list[0] not in commands and not args_list[0].startswith("-"):
        args_list = ["edit", *args_list]
    args = parser.parse_args(args_list)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except PartwrightError as exc:
        sys.stderr.write(f"partwright: error: {exc.message}\n")
        return exc.exit_status
    except KeyboardInterrupt:
        sys.stderr.write("partwright: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: still one line, unless asked for the trace
        if os.environ.get("PARTWRIGHT_DEBUG"):
            raise
        sys.stderr.write(
            f"partwright: internal error: {type(exc).__name__}: {exc}"
            " (set PARTWRIGHT_DEBUG=1 for the traceback, and please report it)\n"
        )
        return 3


def _commands(parser: argparse.ArgumentParser) -> list[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []


def _names_a_file(word: str) -> bool:
    """Whether `partwright WORD` means a file to open, not a mistyped command:
    it exists, or looks like a path (a directory part or a suffix)."""
    return os.path.lexists(word) or os.sep in word or "." in os.path.basename(word)


if __name__ == "__main__":
    raise SystemExit(main())
