"""The `partwright` command line: a thin caller of the engine.

Each area has its own module `partwright/cmd_<area>.py` with a
`register(subparsers)` function that adds its sub-commands and sets
`func` to a callable `(args) -> int`. Errors from the engine become one
line on stderr and exit status 2 (3 for a tool failure); never a traceback.

A run imports only the module of the command it runs (and that module
imports what the command needs when it runs): the other commands appear in
the top-level parser from the table in `partwright.commands`, so
`partwright --help` and `partwright preview` do not pay for the COW engine,
the image engine or rich. `build_parser()` with no argument builds every
command's parser (for tests and documentation).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from partwright.commands import AREAS, COMMANDS, HELP, area_of

TYPE_CHECKING = False  # not typing's: `partwright --help` does without importing typing
if TYPE_CHECKING:
    from collections.abc import Collection, Sequence
    from typing import Any, NoReturn


def terminal_columns() -> int:
    """`shutil.get_terminal_size().columns`, the width argparse formats help
    for, without importing shutil (with bz2 and lzma: milliseconds every run
    would pay, as argparse makes a formatter for each argument it adds): the
    COLUMNS variable when a positive number, else the terminal of stdout, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, its width found by `terminal_columns`."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         terminal_columns() - 2 if width is None else width)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"partwright: error: {message}\n")
        raise SystemExit(2)


def build_parser(areas: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser. `areas`: the command modules to import and
    register (`cmd_layout` ...), None: all of them; an empty collection: every
    command listed with its help only (`partwright --help`)."""
    parser = _Parser(
        prog="partwright",
        description="Design KIWI NG partition layouts, preview the exact table, build the image.",
    )
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    for area, names in AREAS:
        if areas is None or area in areas:
            importlib.import_module(f"partwright.{area}").register(sub)
        elif not areas:
            for name in names:
                sub.add_parser(name, help=HELP[name])
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
    commands = list(COMMANDS)
    # `partwright` alone and `partwright FILE` open the designer
    if args_list and args_list[0] not in commands and not args_list[0].startswith("-") \
            and not _names_a_file(args_list[0]):
        sys.stderr.write(f"partwright: error: unknown command '{args_list[0]}' (commands:"
                         f" {', '.join(commands)}; a new description: a path such as"
                         f" {args_list[0]}.kiwi)\n")
        return 2
    if not args_list or args_list[0] not in commands and not args_list[0].startswith("-"):
        args_list = ["edit", *args_list]
    word = next((a for a in args_list if not a.startswith("-")), None)
    area = area_of(word) if word is not None else None
    try:  # imports the command's module: Ctrl-C may come meanwhile
        parser = build_parser(() if area is None else (area,))
    except KeyboardInterrupt:
        sys.stderr.write("partwright: interrupted\n")
        return 130
    args = parser.parse_args(args_list)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    from engine.errors import PartwrightError  # not before: `--help` imports no engine

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


def _names_a_file(word: str) -> bool:
    """Whether `partwright WORD` means a file to open, not a mistyped command:
    it exists, or looks like a path (a directory part or a suffix)."""
    return os.path.lexists(word) or os.sep in word or "." in os.path.basename(word)


if __name__ == "__main__":
    raise SystemExit(main())
