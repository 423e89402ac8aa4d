"""`--help` says what every command, argument and option is: every parser of
the command line, walked, has a description, every command in a list says
what it does, and every argument and option has words of its own."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from partwright.cli import build_parser
from tests.support.cli import cli


def parsers(parser: argparse.ArgumentParser, name: str = "partwright"
            ) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, sub in action.choices.items():
                yield from parsers(sub, f"{name} {command}")


def described(action: argparse.Action) -> bool:
    return bool(action.help and action.help.strip() and action.help != argparse.SUPPRESS)


ALL = list(parsers(build_parser()))


def test_every_command_is_walked() -> None:
    names = {name for name, _ in ALL}
    for command in ("preview", "partids", "export", "example", "build", "inspect", "edit",
                    "cow create", "cow merge", "cow rebase", "cow check", "cow info"):
        assert f"partwright {command}" in names, command


@pytest.mark.parametrize("name,parser", ALL, ids=[name for name, _ in ALL])
def test_every_action_has_help(name: str, parser: argparse.ArgumentParser) -> None:
    assert parser.description and parser.description.strip(), f"{name}: no description"
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            listed = {a.dest for a in action._choices_actions if described(a)}
            assert listed == set(action.choices), f"{name}: commands without help"
            continue
        what = "/".join(action.option_strings) or action.metavar or action.dest
        assert described(action), f"{name}: {what} has no help text"


def test_help_prints_the_words() -> None:
    r = cli("cow", "rebase", "--help")
    assert r.returncode == 0 and r.stderr == ""
    for line in ("BASE ", "IMG ", "--out-dir DIR "):
        shown = [ln for ln in r.stdout.splitlines() if ln.strip().startswith(line.strip())]
        assert shown and len(shown[0].split()) > len(line.split()), (line, r.stdout)
