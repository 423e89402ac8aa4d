"""Records written by the previous version (version 1: a sha256 per 4 MiB
chunk, no leaves) are still checked, tamper and all, and `cow check
--refresh` or an in-place merge upgrades them to the digest tree."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from engine.cow import create_cow, read_header
from engine.cow.sidecar import load
from tests.support.cow import cli, one_error_line, reference_merge, scribble, write_random

CHUNK = 4 << 20
SIZE = 3 * CHUNK + 12345  # a short last chunk


def write_v1(cow: Path, base: Path) -> None:
    """The record exactly as the previous version wrote it."""
    data = base.read_bytes()
    digests = [hashlib.sha256(data[i:i + CHUNK]).hexdigest() for i in range(0, len(data), CHUNK)]
    root = hashlib.sha256(b"".join(bytes.fromhex(d) for d in digests)).hexdigest()
    st = os.stat(base)
    doc = {"version": 1, "path": str(base), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
           "ctime_ns": st.st_ctime_ns, "dev": st.st_dev, "ino": st.st_ino,
           "algorithm": "sha256", "chunk": CHUNK, "root": root, "digests": digests}
    Path(f"{cow}.backing.json").write_text(json.dumps(doc, indent=1) + "\n")


@pytest.fixture
def old(tmp_path: Path) -> tuple[Path, Path]:
    base = tmp_path / "base.img"
    write_random(base, SIZE)
    cow = tmp_path / "c.cow"
    create_cow(base, cow, record=False)
    scribble(cow)
    write_v1(cow, base)
    return base, cow


def test_old_record_is_checked_and_says_how_to_upgrade(
        capsys: pytest.CaptureFixture[str], old: tuple[Path, Path]) -> None:
    base, cow = old
    sc = load(cow)
    assert sc is not None and sc.version == 1
    rc, out, err = cli(capsys, "check", cow)
    assert rc == 0 and "unchanged" in out
    assert "version 1 record" in err and "cow check --refresh" in err
    rc, out, _ = cli(capsys, "check", "--full", cow)  # the sha256 digests match
    assert rc == 0 and "digests match" in out


def test_old_record_catches_a_byte_changed_with_mtime_restored(
        capsys: pytest.CaptureFixture[str], old: tuple[Path, Path]) -> None:
    base, cow = old
    st = os.stat(base)
    with open(base, "r+b") as f:
        f.seek(2 * CHUNK + 777)
        byte = f.read(1)
        f.seek(2 * CHUNK + 777)
        f.write(bytes([byte[0] ^ 1]))
    os.utime(base, ns=(st.st_atime_ns, st.st_mtime_ns))
    rc, out, err = cli(capsys, "check", "--refresh", cow)
    line = one_error_line(err)
    assert rc == 2 and out == "" and str(base) in line and f"offset {2 * CHUNK}" in line
    assert "sha256" in line
    assert load(cow) is not None and load(cow).version == 1  # type: ignore[union-attr]


def test_old_record_catches_truncation(capsys: pytest.CaptureFixture[str],
                                       old: tuple[Path, Path]) -> None:
    base, cow = old
    st = os.stat(base)
    os.truncate(base, SIZE - 1)
    os.utime(base, ns=(st.st_atime_ns, st.st_mtime_ns))
    rc, _, err = cli(capsys, "check", cow)
    line = one_error_line(err)
    assert rc == 2 and f"size {SIZE} -> {SIZE - 1}" in line and f"offset {3 * CHUNK}" in line


def test_refresh_upgrades_an_old_record(capsys: pytest.CaptureFixture[str],
                                        old: tuple[Path, Path]) -> None:
    base, cow = old
    rc, out, err = cli(capsys, "check", "--refresh", cow)
    assert rc == 0 and "upgraded to version 2" in err
    sc = load(cow)
    assert sc is not None and sc.version == 2 and sc.algorithm == "blake3"
    rc, out, err = cli(capsys, "check", cow)
    assert rc == 0 and err == ""
    rc, out, err = cli(capsys, "check", "--full", cow)
    assert rc == 0 and "digests match" in out
    with open(base, "r+b") as f:  # and the new record catches changes too
        f.write(b"\1")
    rc, _, err = cli(capsys, "check", cow)
    assert rc == 2 and "offset 0" in one_error_line(err)


def test_in_place_merge_over_an_old_record_leaves_a_valid_tree(
        capsys: pytest.CaptureFixture[str], old: tuple[Path, Path]) -> None:
    base, cow = old
    want = reference_merge(cow, base)
    rc, _, err = cli(capsys, "merge", "--in-place", cow)
    assert rc == 0 and "upgraded" in err
    assert base.read_bytes() == want
    sc = load(cow)
    assert sc is not None and sc.version == 2
    assert read_header(cow).mtime == int(os.stat(base).st_mtime) & 0xFFFFFFFF
    rc, out, err = cli(capsys, "check", "--full", cow)
    assert rc == 0 and "digests match" in out and "version 1" not in err


def test_a_newer_record_is_refused_in_one_line(capsys: pytest.CaptureFixture[str],
                                               old: tuple[Path, Path]) -> None:
    _, cow = old
    side = Path(f"{cow}.backing.json")
    doc = json.loads(side.read_text())
    doc["version"] = 9
    side.write_text(json.dumps(doc))
    rc, _, err = cli(capsys, "check", cow)
    line = one_error_line(err)
    assert rc == 2 and "version 9" in line and "newer" in line
