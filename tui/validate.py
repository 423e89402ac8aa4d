"""Input validation: a field is valid when the engine's parser accepts its text."""

from __future__ import annotations

from collections.abc import Callable

from textual.validation import ValidationResult, Validator


class Parsed(Validator):
    """Valid when `parse` accepts the text; the failure says why (its message)."""

    def __init__(self, parse: Callable[[str], object]) -> None:
        super().__init__()
        self.parse = parse

    def validate(self, value: str) -> ValidationResult:
        try:
            self.parse(value)
        except ValueError as exc:
            return self.failure(str(exc))
        return self.success()
