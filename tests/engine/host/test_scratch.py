"""engine.host.scratch and engine.host.tools: a scratch directory whose
owner died (SIGKILL) is removed by the next one made next to it, the tools
the dead owner left running are stopped, and a live owner's directory is
never touched."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from engine.host.scratch import Scratch, ScratchBusy, start_time
from tests.support.paths import ROOT
from tests.support.procs import session_members

OWNER = textwrap.dedent("""
    import sys
    from engine.host.scratch import Scratch
    from engine.host.tools import run
    with Scratch(sys.argv[1]):
        print("ready", flush=True)
        run(["sleep", "300"])  # a tool that outlives its owner unless stopped
""")


def start_owner(path: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", OWNER, str(path)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 10
    while not tool_pids(path) and time.monotonic() < deadline:
        time.sleep(0.01)
    return proc


def tool_pids(path: Path) -> list[int]:
    return [int(name) for name in os.listdir(path / "tools") if name.isdigit()]


def test_a_dead_owners_scratch_and_tools_are_removed(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    scratch = tmp_path / "disk.img.partial.d"
    owner = start_owner(scratch)
    [tool] = tool_pids(scratch)
    assert start_time(tool) is not None
    with pytest.raises(ScratchBusy, match="in use by another partwright run"):
        Scratch(str(scratch), what="disk.img").__enter__()  # the owner is alive
    assert scratch.is_dir()
    owner.send_signal(signal.SIGKILL)
    owner.wait(timeout=30)
    assert start_time(tool) is not None  # the sleep lives on, orphaned
    with caplog.at_level(logging.WARNING, logger="engine"), Scratch(str(tmp_path / "other.partial.d")):
        pass
    assert not scratch.exists()
    assert start_time(tool) is None
    [record] = [r.getMessage() for r in caplog.records]
    assert str(scratch) in record and f"pid {owner.pid}" in record and "stopped 1 tool" in record
    assert list(tmp_path.iterdir()) == []


def test_a_tool_is_stopped_with_its_group_when_interrupted(tmp_path: Path) -> None:
    """SIGTERM during a tool's run: the tool's process group is killed before
    the owner cleans up."""
    script = textwrap.dedent("""
        import sys
        from engine.host.scratch import Scratch
        from engine.host.signals import Interrupted, stopping_signals
        from engine.host.tools import run
        try:
            with stopping_signals(), Scratch(sys.argv[1]):
                print("ready", flush=True)
                run(["sh", "-c", "sleep 300 & sleep 300"])
        except Interrupted as stop:
            sys.exit(stop.exit_status)
    """)
    scratch = tmp_path / "x.partial.d"
    proc = subprocess.Popen([sys.executable, "-c", script, str(scratch)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 10
    while not (scratch / "tools").is_dir() or not tool_pids(scratch):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.2)  # the shell has started both sleeps
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert not scratch.exists()
    assert session_members(proc.pid) == []  # the shell and both sleeps are gone

