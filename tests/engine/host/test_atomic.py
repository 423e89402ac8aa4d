"""engine.host.atomic: an output appears complete or not at all, with the
unnamed file (O_TMPFILE) and with the named fallback; nothing is left after
a failure or a SIGKILL."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine.host import atomic
from engine.host.atomic import AtomicFile, write_bytes
from tests.support.paths import ROOT


@pytest.fixture(params=["unnamed", "named"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of writing: O_TMPFILE, and a filesystem without it."""
    if request.param == "named":
        real_open = os.open

        def no_tmpfile(path: str, flags: int, *args: object, **kwargs: object) -> int:
            if flags & os.O_TMPFILE == os.O_TMPFILE:
                raise OSError(errno.EOPNOTSUPP, "Operation not supported")
            return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(atomic.os, "open", no_tmpfile)
    return str(request.param)


def test_nothing_is_visible_before_commit(tmp_path: Path, mode: str) -> None:
    target = tmp_path / "out.img"
    with AtomicFile(target) as out:
        os.write(out.fd, b"data")
        visible = [p.name for p in tmp_path.iterdir()]
        if mode == "unnamed":
            assert visible == []
        else:  # one hidden temporary name next to the target
            assert len(visible) == 1 and visible[0].startswith(".out.img.")
        assert not target.exists()
        with open(out.path, "rb") as fh:  # the path a tool would be given
            assert fh.read() == b"data"
        out.commit()
    assert target.read_bytes() == b"data"
    assert [p.name for p in tmp_path.iterdir()] == ["out.img"]


def test_no_commit_leaves_nothing(tmp_path: Path, mode: str) -> None:
    with pytest.raises(RuntimeError), AtomicFile(tmp_path / "out.img") as out:
        os.write(out.fd, b"half")
        raise RuntimeError("stopped")
    assert list(tmp_path.iterdir()) == []


def test_existing_target_refused_or_replaced(tmp_path: Path, mode: str) -> None:
    target = tmp_path / "out.img"
    target.write_bytes(b"old")
    with pytest.raises(FileExistsError):
        AtomicFile(target).open()
    with AtomicFile(tmp_path / "late.img") as out:  # appears while writing: not replaced
        (tmp_path / "late.img").write_bytes(b"theirs")
        with pytest.raises(FileExistsError):
            out.commit()
    assert (tmp_path / "late.img").read_bytes() == b"theirs"
    with AtomicFile(target, replace=True) as out:
        os.write(out.fd, b"new")
        out.commit()
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["late.img", "out.img"]
    with pytest.raises(IsADirectoryError):
        AtomicFile(tmp_path, replace=True).open()


def test_write_bytes_keeps_mode_and_follows_symlinks(tmp_path: Path, mode: str) -> None:
    real = tmp_path / "config.kiwi"
    real.write_bytes(b"old")
    real.chmod(0o640)
    link = tmp_path / "link.kiwi"
    link.symlink_to(real.name)
    write_bytes(link, b"new")
    assert link.is_symlink() and real.read_bytes() == b"new"
    assert real.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.kiwi", "link.kiwi"]


def test_sigkill_while_writing_leaves_nothing(tmp_path: Path) -> None:
    """The process dies with the file open and large: no name, no space kept."""
    script = textwrap.dedent(f"""
        import os, sys, time
        from engine.host.atomic import AtomicFile
        out = AtomicFile({str(tmp_path / "big.img")!r}).open()
        os.ftruncate(out.fd, 1 << 40)
        os.pwrite(out.fd, b"x" * 65536, 0)
        print("ready", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert list(tmp_path.iterdir()) == []
