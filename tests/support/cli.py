"""The command line as a user runs it: `python -m partwright` in its own
process, and the one line a failure must print.

Runs fork from a server that has the command line imported
(tests/support/cli_server.py): each is still a process of its own, with its
own stdin, stdout, stderr, working directory, environment and exit status;
`fresh=True` starts a new interpreter instead, start-up and imports included."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO

from tests.support.cli_server import CliServer
from tests.support.paths import ROOT

SERVER = CliServer()  # one per test worker, started on first use


def cli(*args: str | Path, env: dict[str, str] | None = None, stdin: bytes | str | None = None,
        cwd: Path = ROOT, timeout: float = 120,
        fresh: bool = False) -> subprocess.CompletedProcess[str]:
    """`partwright ARGS...` in a process of its own (stdin: text or bytes to
    feed; without it, /dev/null; fresh: in a new interpreter)."""
    full = {**os.environ, **(env or {})}
    data = stdin.decode("utf-8", "surrogateescape") if isinstance(stdin, bytes) else stdin
    argv = [str(a) for a in args]
    if not fresh:
        forked = _forked(argv, full, data, cwd, timeout)
        if forked is not None:
            return forked
    return subprocess.run([sys.executable, "-m", "partwright", *argv],
                          capture_output=True, text=True, cwd=cwd, env=full, timeout=timeout,
                          check=False, input=data,
                          stdin=subprocess.DEVNULL if data is None else None)


def _forked(argv: list[str], env: dict[str, str], data: str | None, cwd: Path,
            timeout: float) -> subprocess.CompletedProcess[str] | None:
    """One run forked from the server, its output read as subprocess.run(text=True)
    reads it (None: the server is busy with another thread's run)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        if data is None:
            source = os.open(os.devnull, os.O_RDONLY)
            feeder = None
        else:
            source, sink = os.pipe()
            feeder = threading.Thread(target=_feed, args=(sink, data.encode()), daemon=True)
            feeder.start()
        try:
            status = SERVER.run(argv, env, cwd, source, out.fileno(), err.fileno(), timeout)
        finally:
            os.close(source)
            if feeder is not None:
                feeder.join(timeout)
        if status is None:
            return None
        return subprocess.CompletedProcess(
            [sys.executable, "-m", "partwright", *argv], status, _text(out), _text(err))


def _feed(fd: int, data: bytes) -> None:
    with open(fd, "wb") as pipe:
        try:
            pipe.write(data)
        except BrokenPipeError:  # the command stopped reading, as with subprocess.run
            pass


def _text(file: IO[bytes]) -> str:
    """What subprocess.run(text=True) makes of the bytes: the locale's
    encoding, universal newlines."""
    file.seek(0)
    return io.TextIOWrapper(io.BytesIO(file.read())).read()


def one_line(text: str) -> str:
    """The one non-empty line of `text` (a failure's stderr), which is no traceback."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]
