"""`partwright cow ...` from the command line: every bad input is exit 2 with
one line on stderr, and nothing half-written remains at any target path."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from engine.cow import create_cow, read_header
from engine.cow.format import COW_MAGIC
from tests.support.cli import cli as run_cli
from tests.support.cli import one_line
from tests.support.cow import cli, one_error_line, reference_merge, scribble, sha256, write_random

SIZE = 2 << 20


@pytest.fixture
def work(tmp_path: Path) -> tuple[Path, Path]:
    base = tmp_path / "base.img"
    write_random(base, SIZE)
    cow = tmp_path / "c.cow"
    create_cow(base, cow)
    scribble(cow)
    return base, cow


def listing(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


def test_happy_path(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    base = tmp_path / "base.img"
    write_random(base, SIZE)
    rc, out, _ = cli(capsys, "create", "--backing", base, tmp_path / "new.cow")
    assert rc == 0 and "created uml COW" in out
    scribble(tmp_path / "new.cow")
    rc, out, _ = cli(capsys, "info", "--json", tmp_path / "new.cow")
    doc = json.loads(out)
    assert rc == 0 and doc["version"] == "v3" and doc["backing"] == str(base)
    assert doc["size"] == SIZE and doc["sectors_present"] > 0 and doc["sidecar"] is True
    assert doc["bytes_present"] == doc["sectors_present"] * 512
    rc, out, _ = cli(capsys, "info", tmp_path / "new.cow")
    assert rc == 0 and "sectors present" in out
    rc, out, _ = cli(capsys, "merge", tmp_path / "new.cow", "-o", tmp_path / "flat.img")
    assert rc == 0
    assert (tmp_path / "flat.img").read_bytes() == reference_merge(tmp_path / "new.cow", base)


def test_subprocess_entry_point(tmp_path: Path, work: tuple[Path, Path]) -> None:
    _, cow = work
    proc = subprocess.run([sys.executable, "-m", "partwright", "cow", "info", "--json", str(cow)],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and json.loads(proc.stdout)["format"] == "uml"
    cow.write_bytes(b"OOOM")
    proc = subprocess.run([sys.executable, "-m", "partwright", "cow", "merge", str(cow),
                           "-o", str(tmp_path / "f.img")], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == ""
    one_error_line(proc.stderr)


def _truncated(cow: Path) -> None:
    os.truncate(cow, 2000)


def _bad_magic(cow: Path) -> None:
    with open(cow, "r+b") as f:
        f.write(b"ZZZZ")


def _bad_version(cow: Path) -> None:
    with open(cow, "r+b") as f:
        f.seek(4)
        f.write(struct.pack(">I", 4))


def _bad_sectorsize(cow: Path) -> None:
    with open(cow, "r+b") as f:
        f.seek(20)
        f.write(struct.pack(">I", 3))


def _empty(cow: Path) -> None:
    os.truncate(cow, 0)


def _bitmap_short(cow: Path) -> None:
    h = read_header(cow)
    os.truncate(cow, h.bitmap_offset + h.bitmap_len // 2)


def _data_short(cow: Path) -> None:
    h = read_header(cow)
    os.truncate(cow, h.data_offset + 4096)


def _backing_missing(cow: Path) -> None:
    os.unlink(read_header(cow).backing_file)


def _host_endian_v3(cow: Path) -> None:
    with open(cow, "r+b") as f:
        f.write(struct.pack("<II", COW_MAGIC, 3))


BREAKS = {
    "truncated header": (_truncated, "truncated COW header"),
    "empty file": (_empty, "truncated COW header"),
    "bad magic": (_bad_magic, "not a UML COW file"),
    "bad version": (_bad_version, "unknown version 4"),
    "bad sector size": (_bad_sectorsize, "sector size 3"),
    "host-endian v3": (_host_endian_v3, "host-endian magic with version 3"),
    "bitmap shorter than image": (_bitmap_short, "bitmap is shorter than the image"),
    "data area truncated": (_data_short, "data area is truncated"),
    "backing missing": (_backing_missing, "does not exist"),
}


@pytest.mark.parametrize("name", list(BREAKS))
def test_bad_input_exit_2_one_line_nothing_written(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, work: tuple[Path, Path],
        name: str) -> None:
    base, cow = work
    breaker, words = BREAKS[name]
    breaker(cow)
    before = listing(tmp_path)
    base_sum = sha256(base) if base.exists() else None
    for args in (["merge", cow, "-o", tmp_path / "flat.img"], ["merge", "--in-place", cow],
                 ["check", cow]):
        rc, out, err = cli(capsys, *args)
        assert rc == 2, (args, err)
        assert words in one_error_line(err), err
        assert out == ""
        assert listing(tmp_path) == before  # no flat.img, no temporary file
        if base_sum is not None:
            assert sha256(base) == base_sum
    if name == "backing missing":  # info reads only the COW, and says the backing is gone
        rc, out, _ = cli(capsys, "info", cow)
        assert rc == 0 and "(missing)" in out
    elif name != "data area truncated":
        rc, _, err = cli(capsys, "info", cow)
        assert rc == 2 and words in one_error_line(err)


def test_missing_cow(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for action in ("check", "info"):
        rc, _, err = cli(capsys, action, tmp_path / "nope.cow")
        assert rc == 2 and "does not exist" in one_error_line(err)


def test_create_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                       work: tuple[Path, Path]) -> None:
    base, cow = work
    rc, _, err = cli(capsys, "create", "--backing", tmp_path / "nope.img", tmp_path / "x.cow")
    assert rc == 2 and "nope.img does not exist" in one_error_line(err)
    rc, _, err = cli(capsys, "create", "--backing", base, cow)
    assert rc == 2 and "already exists" in one_error_line(err)
    rc, _, err = cli(capsys, "create", "--backing", base, base)
    assert rc == 2 and "backing file itself" in one_error_line(err)
    rc, _, err = cli(capsys, "create", "--backing", tmp_path, tmp_path / "y.cow")
    assert rc == 2 and "not a regular file" in one_error_line(err)
    rc, _, err = cli(capsys, "create", "--backing", base, tmp_path / "no" / "dir.cow")
    assert rc == 2 and "does not exist" in one_error_line(err)
    assert not (tmp_path / "x.cow").exists() and not (tmp_path / "y.cow").exists()


def test_merge_target_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                             work: tuple[Path, Path]) -> None:
    base, cow = work
    (tmp_path / "flat.img").write_bytes(b"precious")
    rc, _, err = cli(capsys, "merge", cow, "-o", tmp_path / "flat.img")
    assert rc == 2 and "already exists" in one_error_line(err)
    assert (tmp_path / "flat.img").read_bytes() == b"precious"
    rc, _, err = cli(capsys, "merge", cow, "-o", base, "--force")
    assert rc == 2 and "--in-place" in one_error_line(err)
    rc, _, err = cli(capsys, "merge", cow, "-o", cow, "--force")
    assert rc == 2 and "COW file itself" in one_error_line(err)
    rc, _, _ = cli(capsys, "merge", cow, "-o", tmp_path / "flat.img", "--force")
    assert rc == 0 and (tmp_path / "flat.img").stat().st_size == SIZE


def test_usage_errors(capsys: pytest.CaptureFixture[str], work: tuple[Path, Path]) -> None:
    _, cow = work
    with pytest.raises(SystemExit) as exc:
        cli(capsys, "merge", cow)  # neither -o nor --in-place
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        cli(capsys, "merge", cow, "-o", "x", "--in-place")
    rc, _, _ = cli(capsys)
    assert rc == 2


def test_locked_cow_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                               work: tuple[Path, Path]) -> None:
    """A running UML holds a POSIX write lock on its COW file."""
    _, cow = work
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import fcntl, os, sys, time
        fd = os.open({str(cow)!r}, os.O_RDWR)
        fcntl.lockf(fd, fcntl.LOCK_EX)
        print("locked", flush=True)
        time.sleep(30)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        rc, _, err = cli(capsys, "merge", cow, "-o", tmp_path / "flat.img")
        assert rc == 2 and "locked by another process" in one_error_line(err)
        assert not (tmp_path / "flat.img").exists()
    finally:
        holder.kill()
        holder.wait()
    t0 = time.monotonic()
    rc, _, _ = cli(capsys, "merge", cow, "-o", tmp_path / "flat.img")
    assert rc == 0 and time.monotonic() - t0 < 10


def test_create_into_a_directory_says_so(tmp_path: Path) -> None:
    base = tmp_path / "base.img"
    write_random(base, SIZE)
    target = tmp_path / "cows"
    target.mkdir()
    for force in ([], ["--force"]):
        proc = run_cli("cow", "create", "--backing", str(base), str(target), *force)
        assert proc.returncode == 2
        assert f"{target} is a directory" in one_line(proc.stderr)
    assert listing(target) == [] and listing(tmp_path) == ["base.img", "cows"]


def test_qcow2_info_and_merge_count_the_bytes_present_and_copied(tmp_path: Path) -> None:
    base = tmp_path / "base.img"
    with open(base, "wb") as fh:  # 64 MiB, 4 MiB of data at 1 MiB
        fh.truncate(64 << 20)
        fh.seek(1 << 20)
        fh.write(os.urandom(4 << 20))
    overlay = tmp_path / "host.qcow2"
    assert run_cli("cow", "create", "--format", "qcow2", "--backing", str(base),
                   str(overlay)).returncode == 0
    subprocess.run(["qemu-io", "-c", "write -P 0x55 0 1M", "-c", "write -z 8M 1M", str(overlay)],
                   check=True, capture_output=True)
    info = json.loads(run_cli("cow", "info", "--json", str(overlay)).stdout)
    assert info["bytes_present"] == 2 << 20  # the written and the zeroed MiB, nothing else
    merged = run_cli("cow", "merge", str(overlay), "-o", str(tmp_path / "flat.img"))
    assert merged.returncode == 0, merged.stderr
    assert f"{2 << 20} from the COW, {4 << 20} copied from the backing file" in merged.stdout
    base.rename(tmp_path / "away.img")  # the overlay's own bytes do not need the backing file
    info = json.loads(run_cli("cow", "info", "--json", str(overlay)).stdout)
    assert info["bytes_present"] == 2 << 20 and info["backing_exists"] is False
