"""Signals that stop long work: Ctrl-C (SIGINT), `kill` (SIGTERM), a closed
terminal or a dropped SSH session (SIGHUP).

Inside `stopping_signals()` each of them raises `Interrupted` in the main
thread, wherever it is (a tool being waited for is then killed with its
process group, engine.host.tools), so that the work cleans up after itself
as after any failure. Only the first signal raises: one arriving during the
clean-up is ignored, so that it can finish. Once the work has reached the
point where it only completes (an image linked into place), `finishing()`
makes every later signal of the block ignored too: a run either stops with
its target as it was, or completes and says so, never both. The exit status
of a process stopped this way is 128 + the signal's number, as a shell
reports it.

`held()` puts a signal off until the end of a short block that must not be
cut in two: a tool process started but not yet known to its caller (it
would run on orphaned), engine.host.tools.

In any other thread (the designer builds in a worker) nothing is installed:
Python only lets the main thread set handlers; the caller stops the work
its own way (a progress callback that raises).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A signal stopped the work."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


_depth = 0  # nested stopping_signals() blocks: the outermost restores the handlers
_fired: list[int] = []
_held = 0  # nested held() blocks in the main thread
_pending: list[int] = []  # the signal that came inside held(), raised at its end


def _handler(signum: int, _frame: FrameType | None) -> None:
    if not _fired:
        _fired.append(signum)
        if _held:
            _pending.append(signum)
            return
        raise Interrupted(signum)


@contextmanager
def held() -> Iterator[None]:
    """A stop signal arriving inside the block raises `Interrupted` at its
    end, not half-way through it (main thread; elsewhere a no-op)."""
    global _held
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _held += 1
    try:
        yield
    finally:
        _held -= 1
        if not _held and _pending:
            raise Interrupted(_pending.pop())


def finishing() -> None:
    """From now on, until the outermost `stopping_signals()` block ends,
    the stop signals are ignored: the work is completing."""
    if _depth and not _fired:
        _fired.append(0)


@contextmanager
def stopping_signals() -> Iterator[None]:
    """Turn SIGINT, SIGTERM and SIGHUP into `Interrupted` (main thread only)."""
    global _depth
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[signal.Signals, signal._HANDLER] = {}
    _depth += 1
    try:
        if _depth == 1:
            for signum in STOP_SIGNALS:
                previous[signum] = signal.signal(signum, _handler)
        yield
    finally:
        _depth -= 1
        if not _depth:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            _fired.clear()
            _pending.clear()
