"""The backing-file record (COW.backing.json) and the tamper check.

UML checks only size and whole-second mtime; these tests show the gaps it
leaves (a scribble with the mtime restored) are caught, while a harmless
equal-bytes copy is accepted with a note.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.cow import create_cow, merge_in_place, read_header
from engine.cow.sidecar import CHUNK, load, zero_digest
from tests.support.cow import (
    HAVE_UML,
    cli,
    make_cow,
    one_error_line,
    scribble,
    sha256,
    write_random,
)

SIZE = 12 << 20  # three 4 MiB chunks


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    base = tmp_path / "base.img"
    write_random(base, SIZE)
    cow = tmp_path / "c.cow"
    create_cow(base, cow)
    scribble(cow)
    return base, cow


def restore_times(path: Path, st: os.stat_result) -> None:
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_record_contents(setup: tuple[Path, Path]) -> None:
    base, cow = setup
    doc = json.loads(Path(f"{cow}.backing.json").read_text())
    st = os.stat(base)
    assert doc["path"] == str(base)
    assert (doc["size"], doc["mtime_ns"], doc["ctime_ns"], doc["dev"], doc["ino"]) == (
        SIZE, st.st_mtime_ns, st.st_ctime_ns, st.st_dev, st.st_ino)
    assert doc["algorithm"] == "blake3" and doc["chunk"] == 4 << 20 and doc["leaf"] == 64 << 10
    assert len(doc["digests"]) == 3 and len(doc["root"]) == 64
    assert sorted(doc["leaves"]) == ["0", "1", "2"]  # 64 leaf digests of 32 bytes each
    assert all(len(base64.b64decode(v)) == 64 * 32 for v in doc["leaves"].values())


def test_unchanged_backing_passes_fast(capsys: pytest.CaptureFixture[str],
                                       setup: tuple[Path, Path]) -> None:
    _, cow = setup
    rc, out, err = cli(capsys, "check", cow)
    assert rc == 0 and "unchanged" in out and err == ""
    rc, out, _ = cli(capsys, "check", "--full", cow)
    assert rc == 0 and "digests match" in out


def test_one_byte_changed_mtime_restored_is_caught(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, setup: tuple[Path, Path]) -> None:
    base, cow = setup
    st = os.stat(base)
    with open(base, "r+b") as f:
        f.seek(CHUNK + 12345)
        byte = f.read(1)
        f.seek(CHUNK + 12345)
        f.write(bytes([byte[0] ^ 1]))
    restore_times(base, st)
    assert os.stat(base).st_mtime_ns == st.st_mtime_ns  # the UML check is fooled ...
    if HAVE_UML:
        fooled = subprocess.run(["uml_moo", str(cow), str(tmp_path / "moo.img")],
                                capture_output=True)
        assert fooled.returncode == 0
    rc, out, err = cli(capsys, "check", cow)  # ... partwright is not
    line = one_error_line(err)
    assert rc == 2 and out == ""
    assert str(base) in line and f"offset {CHUNK}" in line
    rc, _, err = cli(capsys, "merge", cow, "-o", tmp_path / "flat.img")
    assert rc == 2 and str(base) in one_error_line(err)
    assert not (tmp_path / "flat.img").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".flat")]


def test_same_second_scribble_is_caught(capsys: pytest.CaptureFixture[str],
                                        setup: tuple[Path, Path]) -> None:
    base, cow = setup
    with open(base, "r+b") as f:
        f.write(b"\0" * 8)
    rc, _, err = cli(capsys, "check", cow)
    assert rc == 2 and "offset 0" in one_error_line(err)


@pytest.mark.parametrize("new_size", [SIZE - 1, 5 << 20, 0])
def test_truncated_backing_is_caught(capsys: pytest.CaptureFixture[str],
                                     setup: tuple[Path, Path], new_size: int) -> None:
    base, cow = setup
    st = os.stat(base)
    os.truncate(base, new_size)
    restore_times(base, st)
    rc, _, err = cli(capsys, "check", cow)
    line = one_error_line(err)
    assert rc == 2 and str(base) in line and f"size {SIZE} -> {new_size}" in line
    first = new_size // CHUNK * CHUNK
    assert f"offset {first}" in line


def test_grown_backing_is_caught(capsys: pytest.CaptureFixture[str],
                                 setup: tuple[Path, Path]) -> None:
    base, cow = setup
    with open(base, "ab") as f:
        f.write(b"x")
    rc, _, err = cli(capsys, "check", cow)
    assert rc == 2 and f"offset {3 * CHUNK}" in one_error_line(err)


def test_equal_copy_is_accepted_with_note(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                          setup: tuple[Path, Path]) -> None:
    base, cow = setup
    old = load(cow)
    assert old is not None
    shutil.copyfile(base, tmp_path / "copy")
    os.replace(tmp_path / "copy", base)  # new inode, new mtime and ctime, same bytes
    record, header = Path(f"{cow}.backing.json").read_bytes(), cow.read_bytes()
    rc, out, err = cli(capsys, "check", cow)  # check alone writes nothing
    assert rc == 0 and "digests match" in out
    assert "content is unchanged" in err and "--refresh" in err and "refreshed" not in err
    assert Path(f"{cow}.backing.json").read_bytes() == record and cow.read_bytes() == header
    rc, out, err = cli(capsys, "check", "--refresh", cow)
    assert rc == 0 and "digests match" in out
    assert "content is unchanged" in err and "refreshed" in err
    new = load(cow)
    assert new is not None and new.ino == os.stat(base).st_ino != old.ino
    assert new.digests == old.digests
    assert read_header(cow).mtime == int(os.stat(base).st_mtime) & 0xFFFFFFFF
    rc, out, err = cli(capsys, "check", cow)  # now the fast path again
    assert rc == 0 and err == "" and "unchanged" in out


def test_moved_backing_with_override(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                     setup: tuple[Path, Path]) -> None:
    base, cow = setup
    moved = tmp_path / "moved.img"
    shutil.copy2(base, moved)
    os.unlink(base)
    rc, _, err = cli(capsys, "check", cow)
    assert rc == 2 and "does not exist" in one_error_line(err)
    header = cow.read_bytes()
    rc, out, err = cli(capsys, "check", "--backing", moved, cow)
    assert rc == 0 and "content is unchanged" in err and "now names" not in err
    assert cow.read_bytes() == header
    rc, out, err = cli(capsys, "check", "--refresh", "--backing", moved, cow)
    assert rc == 0 and "content is unchanged" in err and f"now names {moved}" in err
    assert read_header(cow).backing_file == str(moved)  # as the kernel does on a switch
    rc, out, err = cli(capsys, "check", cow)  # no --backing needed any more
    assert rc == 0 and err == ""
    if HAVE_UML:
        proc = subprocess.run(["uml_moo", str(cow), str(tmp_path / "m.img")],
                              capture_output=True)
        assert proc.returncode == 0


def test_no_sidecar_falls_back_to_uml_check(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    base = tmp_path / "base.img"
    write_random(base, 1 << 20)
    cow = tmp_path / "c.cow"
    make_cow(cow, base)
    rc, out, err = cli(capsys, "check", cow)
    assert rc == 0 and "size and mtime only" in out
    assert "no backing record" in err and "as UML does" in err
    os.utime(base, (1, 1))
    rc, _, err = cli(capsys, "check", cow)
    assert rc == 2 and "mtime mismatch" in one_error_line(err)


def test_corrupt_sidecar(capsys: pytest.CaptureFixture[str], setup: tuple[Path, Path]) -> None:
    _, cow = setup
    side = Path(f"{cow}.backing.json")
    doc = json.loads(side.read_text())
    doc["digests"][1] = "00" * 32
    side.write_text(json.dumps(doc))
    rc, _, err = cli(capsys, "check", cow)
    assert rc == 2 and "root digest" in one_error_line(err)
    side.write_text("{not json")
    rc, _, err = cli(capsys, "check", cow)
    assert rc == 2 and "unreadable backing record" in one_error_line(err)


def test_sparse_backing_hashes_holes_without_reading(tmp_path: Path) -> None:
    base = tmp_path / "sparse.img"
    with open(base, "wb") as f:
        f.truncate(1 << 30)
        f.seek(100 << 20)
        f.write(b"data")
    create_cow(base, tmp_path / "c.cow")
    sc = load(tmp_path / "c.cow")
    assert sc is not None and len(sc.digests) == 256
    holes = [d for d in sc.digests if d == zero_digest(CHUNK)]
    assert len(holes) == 255


def test_in_place_merge_keeps_own_cow_valid_and_flags_others(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, setup: tuple[Path, Path]) -> None:
    base, cow = setup
    other = tmp_path / "other.cow"
    create_cow(base, other)
    before = sha256(base)
    rc, _, err = cli(capsys, "merge", "--in-place", cow)
    line = one_error_line(err)
    assert rc == 2 and "other.cow" in line and "--force" in line
    assert sha256(base) == before
    rc, _, err = cli(capsys, "merge", "--in-place", "--force", cow)
    assert rc == 0 and "other.cow is now invalid" in err
    assert sha256(base) != before
    rc, _, err = cli(capsys, "check", cow)  # still valid: its sectors equal the backing's
    assert rc == 0 and err == ""
    rc, _, err = cli(capsys, "check", other)
    assert rc == 2 and str(base) in one_error_line(err)


def test_in_place_merge_refreshes_only_touched_chunks(tmp_path: Path) -> None:
    base = tmp_path / "base.img"
    write_random(base, SIZE)
    cow = tmp_path / "c.cow"
    create_cow(base, cow)
    from engine.cow.format import set_sectors
    h = read_header(cow)
    fd = os.open(cow, os.O_RDWR)
    set_sectors(fd, h, (CHUNK // 512) + 3, b"\x55" * 1024)
    os.close(fd)
    old = load(cow)
    merge_in_place(cow)
    new = load(cow)
    assert old is not None and new is not None
    assert new.digests[0] == old.digests[0] and new.digests[2] == old.digests[2]
    assert new.digests[1] != old.digests[1]
    from engine.cow.sidecar import record
    assert record(base).digests == new.digests


def test_in_place_drop_record(capsys: pytest.CaptureFixture[str],
                              setup: tuple[Path, Path]) -> None:
    _, cow = setup
    rc, _, err = cli(capsys, "merge", "--in-place", "--drop-record", cow)
    assert rc == 0 and "removed" in err
    assert not Path(f"{cow}.backing.json").exists()
    rc, out, err = cli(capsys, "check", cow)  # the header mtime still matches
    assert rc == 0 and "size and mtime only" in out
