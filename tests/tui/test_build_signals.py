"""The designer in a real terminal (tmux), building with the real engine and a
root tree, sent SIGHUP or SIGTERM while mkfs runs: the tool is killed with
its process group at once, the app exits 128 + the signal, nothing is left
(no .partial file or folder, no process of its session), the previous image
is as it was.

The test holds mkfs with SIGSTOP once it is seen, so that it would run
forever: only a designer that kills it ends."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.support import procs
from tests.support.image import needs_tools
from tests.tui.test_terminal import PARTWRIGHT, tmux, wait_for

pytestmark = needs_tools

DESCRIPTION = """<type image="oem" firmware="efi" filesystem="ext4">
    <size unit="M">64</size>
</type>
"""


def session_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        return int(fh.read().rpartition(")")[2].split()[3])


def type_into(socket: str, text: str, shown: str) -> None:
    """`text` typed into the focused field until the screen shows `shown`
    (keys can be lost while a loaded machine draws)."""
    for _ in range(4):
        tmux(socket, "send-keys", "-t", "pw", "C-u")
        tmux(socket, "send-keys", "-t", "pw", "-l", text)
        try:
            wait_for(socket, shown, timeout=5)
            return
        except AssertionError:
            continue
    wait_for(socket, shown, timeout=5)


def _start_build(socket: str, tmp_path: Path, description: Path, image: Path,
                 tree: Path) -> tuple[int, int, list[int]]:
    """The designer in tmux, its build dialog filled in and the build started,
    until mkfs runs: (the app's pid, its session, mkfs's pid)."""
    out = image.parent
    pid, status = tmp_path / "pid", tmp_path / "status"
    for old in (pid, status):
        old.unlink(missing_ok=True)
    inner = f"echo \\$\\$ > {pid}; exec env -u COLUMNS -u LINES {PARTWRIGHT} edit {description}"
    command = f'cd {tmp_path} && sh -c "{inner}"; echo $? > {status}; sleep 30'
    started = tmux(socket, "-f", "/dev/null", "new-session", "-d", "-s", "pw",
                   "-x", "120", "-y", "40", f"sh -c '{command}'")
    assert started.returncode == 0, started.stderr
    wait_for(socket, "p.lxroot")
    app = int(pid.read_text())
    sid = session_of(app)
    tmux(socket, "send-keys", "-t", "pw", "b")
    wait_for(socket, "Build the disk image")
    time.sleep(1)  # the dialog drawn is not yet the dialog focused on a loaded machine
    type_into(socket, str(image), f"{out.name}/{image.name} ")
    for _ in range(2):  # to the root tree's field, a key at a time (a loaded machine lags)
        time.sleep(0.3)
        tmux(socket, "send-keys", "-t", "pw", "Tab")
    time.sleep(0.3)
    type_into(socket, str(tree), f"{tmp_path.name}/{tree.name} ")
    tmux(socket, "send-keys", "-t", "pw", "Enter")
    wait_for(socket, "Build again", timeout=60)  # "... exists: Build again to replace it"
    tmux(socket, "send-keys", "-t", "pw", "Enter")
    deadline = time.monotonic() + 20
    mkfs: list[int] = []
    while not mkfs:
        assert time.monotonic() < deadline, "mkfs was not seen running"
        mkfs = [p for p, name in procs.session_members(sid) if name.startswith("mkfs")]
    return app, sid, mkfs


@pytest.mark.parametrize("signame", ["HUP", "TERM"])
def test_a_stop_signal_kills_the_running_tool_and_leaves_nothing(
        tmp_path: Path, signame: str) -> None:
    if not PARTWRIGHT.exists():
        pytest.skip(f"{PARTWRIGHT} is not installed (pip install -e .)")
    description = tmp_path / "disk.kiwi"
    description.write_text(DESCRIPTION)
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    for i in range(2000):  # enough for mkfs to be seen running
        (tree / "etc" / f"f{i}").write_bytes(os.urandom(500))
    out = tmp_path / "out"
    out.mkdir()
    image = out / "disk.raw"
    image.write_bytes(b"the previous image\n")
    for attempt in range(3):  # keys sent while a loaded machine draws the dialog can be lost
        socket = f"partwright-test-{os.getpid()}-build-{signame}-{attempt}"
        try:
            app, sid, mkfs = _start_build(socket, tmp_path, description, image, tree)
            break
        except AssertionError:
            tmux(socket, "kill-server")
            if attempt == 2:
                raise
            for path in out.iterdir():
                if path != image:
                    pytest.fail(f"a lost start left {path}")
    status = tmp_path / "status"
    try:
        os.kill(mkfs[0], signal.SIGSTOP)  # held: it ends only when killed
        sent = time.monotonic()
        os.kill(app, getattr(signal, f"SIG{signame}"))
        while not status.exists():
            assert time.monotonic() - sent < 10, f"SIG{signame} did not end the app"
            time.sleep(0.05)
        assert status.read_text().strip() == str(128 + getattr(signal, f"SIG{signame}"))
        left = [(p, name) for p, name in procs.session_members(sid)
                if name not in ("sh", "sleep")]
        assert not left, f"still running: {left}"
        assert sorted(p.name for p in out.iterdir()) == ["disk.raw"]
        assert image.read_bytes() == b"the previous image\n"
        screen = tmux(socket, "capture-pane", "-p", "-t", "pw").stdout
        assert "Traceback" not in screen
        assert screen.strip().endswith("partwright: interrupted"), screen
    finally:
        tmux(socket, "kill-server")
