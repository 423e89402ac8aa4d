"""The processes of a session, read from /proc (for checks that a stopped
run left no tool running)."""

from __future__ import annotations

import os


def session_members(sid: int) -> list[tuple[int, str]]:
    """The live (not zombie) processes of session `sid`: (pid, command name)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as fh:
                head, _, rest = fh.read().rpartition(")")
        except OSError:
            continue
        fields = rest.split()
        if int(fields[3]) == sid and fields[0] not in ("Z", "X"):
            found.append((int(name), head.split("(", 1)[1]))
    return found
