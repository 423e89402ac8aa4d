"""Errors the engine raises. Callers map them to exit statuses.

Every message is one line and names the problem and where it is (a file,
a line and column, an attribute, a partition), so the command line can print
it as it is: `partwright: error: <message>`, exit status 2 (3 for a failing
tool during a build).
"""

from __future__ import annotations


class PartwrightError(Exception):
    """Bad input or usage: exit status 2."""

    exit_status = 2

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))

    @property
    def message(self) -> str:
        return str(self)


class DescriptionError(PartwrightError):
    """A KIWI description that cannot be read or is not valid."""


class ToolError(PartwrightError):
    """An external tool (mkfs, sfdisk, qemu-img ...) failed: exit status 3."""

    exit_status = 3


class CowError(PartwrightError):
    """A COW file or its backing file is unusable (corrupt, changed ...)."""
