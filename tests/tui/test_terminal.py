"""The designer in a real terminal: tmux at 120x40, the seed table drawn, `q` quits."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.paths import ROOT

PARTWRIGHT = Path(sys.executable).parent / "partwright"

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def tmux(socket: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True,
                          check=False, timeout=30)


def wait_for(socket: str, text: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux(socket, "capture-pane", "-p", "-t", "pw").stdout
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} did not appear; the screen was:\n{screen}")


def test_runs_in_tmux_and_quits_cleanly(tmp_path: Path) -> None:
    if not PARTWRIGHT.exists():
        pytest.skip(f"{PARTWRIGHT} is not installed (pip install -e .)")
    socket = f"partwright-test-{os.getpid()}"
    status = tmp_path / "status"
    # COLUMNS/LINES (which a non-interactive caller may pass on) would override
    # the pane's size for Textual: the app must see the terminal's 120x40
    command = f"cd {ROOT} && env -u COLUMNS -u LINES {PARTWRIGHT}; echo $? > {status}"
    started = tmux(socket, "-f", "/dev/null", "new-session", "-d", "-s", "pw",
                   "-x", "120", "-y", "40", f"sh -c '{command}'")
    assert started.returncode == 0, started.stderr
    try:
        screen = wait_for(socket, "p.lxroot")
        assert "Settings" in screen and "Partitions" in screen  # the wide layout
        # the seed example, sector for sector (layout.md)
        for number in ("5531648", "9725951", "1337344", "661504", "p.lxhomeclone2",
                       "free space", "Diagnostics"):
            assert number in screen, number
        assert "partwright — example" in screen
        tmux(socket, "send-keys", "-t", "pw", "q")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not status.exists():
            time.sleep(0.2)
        assert status.exists(), "q did not end the app"
        assert status.read_text().strip() == "0"
    finally:
        tmux(socket, "kill-server")


@pytest.mark.parametrize("signame,when", [("INT", "start-up"), ("INT", "drawn"),
                                          ("TERM", "drawn"), ("HUP", "drawn")])
def test_a_stop_signal_ends_it_cleanly(tmp_path: Path, signame: str, when: str) -> None:
    """SIGINT, SIGTERM, SIGHUP (a closed terminal): exit 128 + the signal, the
    terminal given back, one line, no traceback; during start-up too."""
    if not PARTWRIGHT.exists():
        pytest.skip(f"{PARTWRIGHT} is not installed (pip install -e .)")
    socket = f"partwright-test-{os.getpid()}-{signame}-{when}"
    pid, status = tmp_path / "pid", tmp_path / "status"
    # the inner shell writes its own pid, then becomes partwright (Textual draws on stderr)
    inner = f"echo \\$\\$ > {pid}; exec env -u COLUMNS -u LINES {PARTWRIGHT}"
    command = f'cd {ROOT} && sh -c "{inner}"; echo $? > {status}; sleep 30'
    started = tmux(socket, "-f", "/dev/null", "new-session", "-d", "-s", "pw",
                   "-x", "120", "-y", "40", f"sh -c '{command}'")
    assert started.returncode == 0, started.stderr
    try:
        deadline = time.monotonic() + 20
        while not pid.exists() or not pid.read_text().strip():
            assert time.monotonic() < deadline, "partwright did not start"
            time.sleep(0.02)
        if when == "drawn":
            wait_for(socket, "p.lxroot")
        else:
            time.sleep(0.3)
        os.kill(int(pid.read_text()), getattr(signal, f"SIG{signame}"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not status.exists():
            time.sleep(0.1)
        assert status.exists(), f"SIG{signame} did not end the app"
        assert status.read_text().strip() == str(128 + getattr(signal, f"SIG{signame}"))
        screen = tmux(socket, "capture-pane", "-p", "-t", "pw").stdout
        assert "Traceback" not in screen and "Error" not in screen
        assert screen.strip().endswith("partwright: interrupted"), screen
    finally:
        tmux(socket, "kill-server")
