"""The command line as a user runs it: `python -m partwright` in a subprocess,
and the one line a failure must print."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.paths import ROOT


def cli(*args: str | Path, env: dict[str, str] | None = None, stdin: bytes | str | None = None,
        cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`partwright ARGS...` in a fresh interpreter (stdin: text or bytes to feed;
    without it, /dev/null)."""
    full = {**os.environ, **(env or {})}
    data = stdin.decode("utf-8", "surrogateescape") if isinstance(stdin, bytes) else stdin
    return subprocess.run([sys.executable, "-m", "partwright", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=full, timeout=timeout,
                          check=False, input=data,
                          stdin=subprocess.DEVNULL if data is None else None)


def one_line(text: str) -> str:
    """The one non-empty line of `text` (a failure's stderr), which is no traceback."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]
