"""Every parser of a text field in the designer, and the validator that uses them.

A parser takes the field's text and returns the value for the Layout, or
raises ValueError with the one line the field shows under it. The rules are
the engine's: sizes by KIWI's size syntax and numbers by its schema
(engine.kiwi.schema), names by engine.layout.names. An empty optional field
means "unset" (None). No widget here: the form and the settings attach
`Parsed(parser)` to their inputs.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.validation import ValidationResult, Validator

from engine.kiwi.schema import TYPE_ATTR_BY_XML, parse_size_mb, parse_uint, parse_value
from engine.layout import names

Parser = Callable[[str], object]


class Parsed(Validator):
    """Valid when `parse` accepts the text; the failure says why (its message)."""

    def __init__(self, parse: Parser) -> None:
        super().__init__()
        self.parse = parse

    def validate(self, value: str) -> ValidationResult:
        try:
            self.parse(value)
        except ValueError as exc:
            return self.failure(str(exc))
        return self.success()


# --- the partition form ----------------------------------------------------------
def size_required(text: str) -> int:
    """A partition size (`N`, `NM`, `NG`) in MiB, above 0."""
    value = parse_size_mb(text)
    if value == 0:
        raise ValueError("a partition needs a size above 0")
    return value


def size_optional(text: str) -> int | None:
    """A size above 0, or None for an empty field (KIWI's default)."""
    if not text.strip():
        return None
    return size_required(text)


def clones(text: str) -> int:
    """A clone count (empty: 0)."""
    return parse_uint(text or "0")


def mountpoint(text: str) -> str | None:
    value = text.strip()
    if not value:
        return None
    if not value.startswith("/"):
        raise ValueError(f"'{value}' is not an absolute path (it must start with /)")
    if any(ch.isspace() for ch in value):
        raise ValueError("a mountpoint cannot hold spaces")
    return value


def gpt_name(text: str) -> str | None:
    """A GPT partition name (partition_name), None for KIWI's p.lx<name>."""
    value = text.strip()
    if not value:
        return None
    problems = names.partition_name_problems(value)
    if problems:
        raise ValueError(problems[0])
    return value


def label_text(text: str) -> str | None:
    value = text.strip()
    if any(ch.isspace() for ch in value):
        raise ValueError("a filesystem label here cannot hold spaces")
    return value or None


def name_check(taken: set[str]) -> Callable[[str], str]:
    """A parser of a custom partition's name that refuses the names in `taken`."""
    def check(text: str) -> str:
        value = text.strip()
        problems = names.name_problems(value)
        if problems:
            raise ValueError(problems[0])
        if value in taken:
            raise ValueError(f"there is already a partition named {value}")
        return value
    return check


# --- the type settings -------------------------------------------------------------
def optional_mb(text: str) -> int | None:
    """Whole MiB > 0, or None for an empty field (unset)."""
    if not text.strip():
        return None
    value = parse_uint(text)
    if value == 0:
        raise ValueError("0 MiB: leave the field empty to unset it")
    return value


def optional_size(text: str) -> int | None:
    """`N`, `NM` or `NG`, or None for an empty field."""
    if not text.strip():
        return None
    value = parse_size_mb(text)
    if value == 0:
        raise ValueError("a size of 0: leave the field empty for none")
    return value


def optional_sector(text: str) -> int | None:
    """A start sector by KIWI's rule (engine.kiwi.schema), or None for the default."""
    if not text.strip():
        return None
    value = parse_value(TYPE_ATTR_BY_XML["disk_start_sector"], text)
    assert isinstance(value, int)
    return value
