"""qcow2 overlays through qemu-img, guarded by partwright's backing record.

qcow2 stores only the backing file's name: qemu-img itself happily merges
over a scribbled or truncated backing file. partwright refuses.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.cow import create_cow, merge_to_new
from tests.support.cow import cli, one_error_line, sha256, write_random

pytestmark = pytest.mark.skipif(
    shutil.which("qemu-img") is None or shutil.which("qemu-io") is None,
    reason="qemu-utils (qemu-img, qemu-io) not installed")

SIZE = 8 << 20


def qemu_io(img: Path, *cmds: str) -> None:
    args = ["qemu-io", "-f", "qcow2"]
    for c in cmds:
        args += ["-c", c]
    subprocess.run([*args, str(img)], check=True, capture_output=True)


@pytest.fixture
def overlay(tmp_path: Path) -> tuple[Path, Path, bytes]:
    base = tmp_path / "base.img"
    data = bytearray(write_random(base, SIZE))
    ov = tmp_path / "ov.qcow2"
    create_cow(base, ov, fmt="qcow2")
    qemu_io(ov, "write -P 0xaa 0 512", "write -P 0x55 1M 64k", "write -z 4M 8k")
    data[0:512] = b"\xaa" * 512
    data[1 << 20:(1 << 20) + 65536] = b"\x55" * 65536
    data[4 << 20:(4 << 20) + 8192] = bytes(8192)
    return base, ov, bytes(data)


def test_create_qcow2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    base = tmp_path / "base.img"
    write_random(base, SIZE)
    rc, out, _ = cli(capsys, "create", "--backing", base, "--format", "qcow2", tmp_path / "o.qcow2")
    assert rc == 0 and "qcow2" in out
    doc = json.loads(subprocess.run(["qemu-img", "info", "--output=json",
                                     str(tmp_path / "o.qcow2")],
                                    capture_output=True, text=True, check=True).stdout)
    assert doc["format"] == "qcow2" and doc["virtual-size"] == SIZE
    assert doc["backing-filename"] == str(base) and doc["backing-filename-format"] == "raw"
    assert (tmp_path / "o.qcow2.backing.json").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_merge_qcow2_matches_qemu_img_convert(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path,
                                              overlay: tuple[Path, Path, bytes]) -> None:
    base, ov, want = overlay
    rc, _, _ = cli(capsys, "merge", ov, "-o", tmp_path / "ours.img")
    assert rc == 0
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(ov), str(tmp_path / "theirs.img")],
                   check=True)
    assert (tmp_path / "ours.img").read_bytes() == want
    assert (tmp_path / "theirs.img").read_bytes() == want
    rc, out, _ = cli(capsys, "info", "--json", ov)
    doc = json.loads(out)
    assert rc == 0 and doc["format"] == "qcow2" and doc["backing"] == str(base)
    assert doc["size"] == SIZE and doc["bytes_present"] >= 65536 and doc["sidecar"]
    rc, out, _ = cli(capsys, "check", ov)
    assert rc == 0 and "unchanged" in out


def test_qcow2_tamper_caught_where_qemu_img_is_not(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path,
                                                   overlay: tuple[Path, Path, bytes]) -> None:
    base, ov, _ = overlay
    st = os.stat(base)
    with open(base, "r+b") as f:
        f.seek(6 << 20)
        f.write(b"scribble")
    os.utime(base, ns=(st.st_atime_ns, st.st_mtime_ns))
    fooled = subprocess.run(["qemu-img", "convert", "-O", "raw", str(ov),
                             str(tmp_path / "q.img")], capture_output=True)
    assert fooled.returncode == 0  # qemu-img has no idea
    rc, _, err = cli(capsys, "merge", ov, "-o", tmp_path / "ours.img")
    assert rc == 2 and f"{base}" in one_error_line(err) and "offset 4194304" in err
    assert not (tmp_path / "ours.img").exists()
    os.truncate(base, SIZE // 2)
    rc, _, err = cli(capsys, "check", ov)
    assert rc == 2 and "size" in one_error_line(err)


def test_qcow2_in_place(capsys: pytest.CaptureFixture[str],
                        overlay: tuple[Path, Path, bytes]) -> None:
    base, ov, want = overlay
    rc, _, err = cli(capsys, "merge", "--in-place", ov)
    assert rc == 0 and "every other COW" in err
    assert base.read_bytes() == want
    rc, _, err = cli(capsys, "check", ov)  # the record follows the committed backing file
    assert rc == 0 and err == ""


def test_qcow2_without_record(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    base = tmp_path / "base.img"
    write_random(base, SIZE)
    ov = tmp_path / "plain.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "raw",
                    str(ov)], check=True)
    rc, out, err = cli(capsys, "check", ov)
    assert rc == 0 and "not checked" in out and "no backing record" in err
    merge_to_new(ov, tmp_path / "flat.img")
    assert sha256(tmp_path / "flat.img") == sha256(base)


def test_corrupt_qcow2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.qcow2"
    bad.write_bytes(b"QFI\xfb" + bytes(100))
    rc, _, err = cli(capsys, "merge", bad, "-o", tmp_path / "x.img")
    assert rc == 2 and "qemu-img" in one_error_line(err)
    assert not (tmp_path / "x.img").exists()


def test_qcow2_missing_backing(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                               overlay: tuple[Path, Path, bytes]) -> None:
    base, ov, _ = overlay
    os.unlink(base)
    for args in (["check", ov], ["merge", ov, "-o", tmp_path / "x.img"]):
        rc, _, err = cli(capsys, *args)
        assert rc == 2 and f"backing file {base} does not exist" in one_error_line(err)
    rc, out, _ = cli(capsys, "info", "--json", ov)
    assert rc == 0 and json.loads(out)["backing_exists"] is False
