"""Progress of long work, as the engine reports it to its callers.

    Progress = Callable[[step, done, total], None]

`step` names the work under way ("hashing", "merging", or one of a build's
STEPS); `done` of `total` are its units (bytes for COW work, items such as
filesystems for a build step). The command line draws a bar from it, the
designer posts it to its screen; a callback may raise to stop the work
(the designer's cancel key), which then cleans up as after any failure.

`Counter` is the one running count the engine keeps for a step: it adds
what each piece of work did and reports every change, never past `total`.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int], None]


class Counter:
    """`done` of `total` units of one step, reported to `progress` (which
    may be None: then nothing is reported)."""

    def __init__(self, progress: Progress | None, step: str, total: int, done: int = 0) -> None:
        self.progress = progress
        self.step = step
        self.total = total
        self.done = done

    def add(self, units: int) -> None:
        """`units` more are done."""
        self.done += units
        self.report()

    def set(self, done: int, total: int | None = None) -> None:
        """`done` (of a new `total`, if given) are done."""
        if total is not None:
            self.total = total
        self.done = done
        self.report()

    def finish(self) -> None:
        """All of it is done."""
        self.set(self.total)

    def report(self) -> None:
        if self.progress is not None:
            self.progress(self.step, min(self.done, self.total), self.total)
