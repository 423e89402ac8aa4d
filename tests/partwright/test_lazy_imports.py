"""A command imports what it needs when it runs: `partwright --help` loads no
command module and no engine, `preview` not the COW or image engine, rich,
pyparted or the KIWI writer, nor the standard modules only other commands
use (pathlib, shutil); and the table the top-level parser is built from
names exactly the commands each module registers, with their help."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap

import pytest

from partwright.cli import build_parser
from partwright.commands import AREAS, COMMANDS, HELP
from tests.support.paths import DATA, ROOT

SEED = DATA / "oracle" / "seed.xml"


def loaded_after(*argv: str) -> tuple[int, set[str]]:
    """The exit status of `partwright ARGV` run in a fresh interpreter, and the
    modules it had imported by then."""
    code = textwrap.dedent(f"""
        import contextlib, io, json, sys
        from partwright.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                status = main({list(argv)!r})
            except SystemExit as exc:  # --help
                status = exc.code
        sys.stderr.write(json.dumps([status, sorted(sys.modules)]))
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.stderr, result
    status, modules = json.loads(result.stderr.splitlines()[-1])
    return status, set(modules)


def under(modules: set[str], *packages: str) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


def test_preview_json_loads_only_the_reader_and_the_planner() -> None:
    status, modules = loaded_after("preview", str(SEED), "--json")
    assert status == 0
    assert "engine.kiwi.read" in modules and "engine.plan.planner" in modules  # it did run
    assert under(modules, "engine.cow", "engine.image", "engine.targets", "engine.importer",
                 "rich", "parted", "_ped", "textual", "tui") == []
    assert under(modules, "engine.kiwi.write", "engine.kiwi.export", "engine.kiwi.assign",
                 "engine.plan.first_boot", "engine.host.root_tree") == []
    assert [m for m in modules if m.startswith("partwright.cmd_")] == ["partwright.cmd_layout"]
    # standard modules that cost a reading process milliseconds and that it does not use
    assert sorted(modules & {"pathlib", "shutil", "urllib.parse", "ipaddress", "bz2", "lzma",
                             "engine.layout.example"}) == []


def test_preview_as_a_table_loads_rich_but_no_other_engine() -> None:
    status, modules = loaded_after("preview", str(SEED))
    assert status == 0 and "rich.table" in modules
    assert under(modules, "engine.cow", "engine.image", "parted", "textual", "tui") == []


def test_help_loads_no_command_module_and_no_engine() -> None:
    status, modules = loaded_after("--help")
    assert status == 0
    assert [m for m in modules if m.startswith("partwright.cmd_")] == []
    assert under(modules, "engine") == []
    assert under(modules, "lxml", "rich", "parted", "textual") == []
    assert sorted(modules & {"typing", "shutil", "pathlib", "dataclasses"}) == []


@pytest.mark.parametrize("columns", ["", "1", "37", "200", "-3", "wide"])
def test_help_is_as_wide_as_argparse_makes_it(columns: str) -> None:
    """The command line's formatter finds the width argparse's own would (it
    asks shutil), with COLUMNS set or not, on a terminal or not."""
    code = textwrap.dedent("""
        import argparse, json, os, pty, sys
        from partwright.cli import _Formatter
        widths = [_Formatter("p")._width, argparse.HelpFormatter("p")._width]
        main, other = pty.openpty()
        os.dup2(other, 1)  # stdout a terminal (80 columns here)
        widths += [_Formatter("p")._width, argparse.HelpFormatter("p")._width]
        sys.stderr.write(json.dumps(widths))
    """)
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns:
        env["COLUMNS"] = columns
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60, check=True, stdin=subprocess.DEVNULL)
    ours, theirs, ours_tty, theirs_tty = json.loads(result.stderr)
    assert (ours, ours_tty) == (theirs, theirs_tty)
    if columns.isdigit():
        assert ours == int(columns) - 2


def commands_of(parser: argparse.ArgumentParser) -> dict[str, str]:
    """The commands a parser lists, with their help, in its order."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return {a.dest: str(a.help) for a in action._choices_actions}
    return {}


def test_the_table_lists_every_command_in_the_order_of_the_full_parser() -> None:
    assert commands_of(build_parser()) == {name: HELP[name] for name in COMMANDS}
    assert commands_of(build_parser(())) == commands_of(build_parser())
    assert set(HELP) == set(COMMANDS)


@pytest.mark.parametrize("area,names", AREAS, ids=[area for area, _ in AREAS])
def test_each_module_registers_the_commands_the_table_gives_it(area: str,
                                                               names: tuple[str, ...]) -> None:
    assert tuple(commands_of(build_parser((area,)))) == names
