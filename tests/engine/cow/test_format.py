"""UML COW format: headers of every version, geometry, bitmap runs, and the
v3 file `partwright cow create` writes being byte-identical to uml_mkcow's.
"""

from __future__ import annotations

import os
import random
import struct
import subprocess
from pathlib import Path

import pytest

from engine.cow import create_cow, read_header
from engine.cow.format import (
    COW_MAGIC,
    bitmap_runs,
    geometry,
    header_for,
    parse_header,
    runs_in_bitmap,
)
from engine.errors import CowError
from tests.support.cow import needs_uml, write_random

# --- header layouts ----------------------------------------------------------

@pytest.mark.parametrize("version,broken,size,ss,align,expect", [
    (3, False, 64 << 20, 512, 4096, (8192, 16384, 24576)),  # research worked example
    (3, False, 1 << 30, 512, 4096, (8192, 262144, 270336)),
    (3, False, 1000, 512, 512, (4608, 1, 5120)),
    (3, True, 64 << 20, 512, 4096, (8192, 16384, 24576)),
    (3, True, 1 << 20, 512, 512, (4608, 256, 5120)),
    (2, False, 1 << 20, 512, 512, (4120, 256, 4608)),
    (1, False, 1 << 20, 512, 512, (280, 256, 1024)),
    (1, False, 9 * 512, 512, 512, (280, 1, 512)),  # rounding bug: 9 sectors, 1 byte
])
def test_geometry(version: int, broken: bool, size: int, ss: int, align: int,
                  expect: tuple[int, int, int]) -> None:
    assert geometry(version, size, ss, align, broken) == expect


@pytest.mark.parametrize("version,broken", [(1, False), (2, False), (3, False), (3, True)])
def test_header_round_trip(version: int, broken: bool) -> None:
    raw, h = header_for(version, "/srv/base.img", 0x1_2345_6789, 5 << 20, 512, 4096, broken)
    assert len(raw) == {1: 280, 2: 4120, 3: 4136 if broken else 4128}[version]
    assert (h.version, h.broken, h.backing_file, h.size, h.sectorsize) == (
        version, broken, "/srv/base.img", 5 << 20, 512)
    assert h.mtime == 0x2345_6789  # 32 bits on disk in every version
    assert parse_header(raw + bytes(100), "x") == h


def test_v3_header_bytes() -> None:
    raw, _ = header_for(3, "/b", 0x01020304, 0x4000000, 512, 4096)
    assert raw[:32].hex() == ("4f4f4f4d" "00000003" "01020304" "0000000004000000"
                              "00000200" "00001000" "00000000")
    assert raw[32:35] == b"/b\0"


def test_v1_is_host_endian() -> None:
    raw, _ = header_for(1, "/b", 5, 1 << 20)
    assert raw[:8] == b"MOOO\x01\0\0\0"


def test_broken_v3_detected_by_zero_path_start() -> None:
    raw, h = header_for(3, "/b", 5, 1 << 20, 512, 4096, broken=True)
    assert raw[32:36] == b"\0\0\0\0" and raw[36:38] == b"/b"
    assert h.layout == "v3-broken" and h.header_len == 4136


def test_v2_rounding_bug_leaves_last_sectors_without_bits() -> None:
    _, h = header_for(2, "/b", 0, 13 * 512)
    assert h.bitmap_len == 1 and h.nsectors == 13 and h.covered_sectors == 8
    _, h3 = header_for(3, "/b", 0, 13 * 512)
    assert h3.bitmap_len == 2 and h3.covered_sectors == 13


@pytest.mark.parametrize("raw,words", [
    (b"", "truncated COW header"),
    (b"OOOM", "truncated COW header"),
    (struct.pack(">II", COW_MAGIC, 3) + bytes(40), "truncated COW header"),
    (b"XXXX" + bytes(5000), "bad magic"),
    (struct.pack(">II", COW_MAGIC, 9) + bytes(5000), "unknown version 9"),
    (b"QFI\xfb" + bytes(5000), "qcow2"),
])
def test_corrupt_headers(raw: bytes, words: str) -> None:
    with pytest.raises(CowError, match=words):
        parse_header(raw, "x.cow")


def test_corrupt_fields() -> None:
    raw, _ = header_for(3, "/b", 0, 1 << 20)
    bad_ss = raw[:20] + struct.pack(">I", 700) + raw[24:]
    with pytest.raises(CowError, match="sector size 700"):
        parse_header(bad_ss, "x")
    bad_align = raw[:24] + struct.pack(">I", 0) + raw[28:]
    with pytest.raises(CowError, match="alignment is 0"):
        parse_header(bad_align, "x")
    bad_fmt = raw[:28] + struct.pack(">I", 1) + raw[32:]
    with pytest.raises(CowError, match="data format 1"):
        parse_header(bad_fmt, "x")
    no_nul = raw[:32] + b"/" * 4096
    with pytest.raises(CowError, match="not NUL-terminated"):
        parse_header(no_nul, "x")


def test_path_too_long() -> None:
    with pytest.raises(CowError, match="at most 4095"):
        header_for(3, "/" + "a" * 4095, 0, 512)
    with pytest.raises(CowError, match="at most 255"):
        header_for(1, "/" + "a" * 300, 0, 512)


# --- bitmap -----------------------------------------------------------------

def test_bit_order_lsb_first() -> None:
    # research: sectors 0 and 9-11 written -> bitmap bytes 01 0E
    assert list(runs_in_bitmap(bytes([0x01, 0x0E]))) == [(0, 1), (9, 3)]


def _naive_runs(bitmap: bytes, limit: int) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for s in range(min(limit, len(bitmap) * 8)):
        if bitmap[s >> 3] >> (s & 7) & 1:
            if runs and sum(runs[-1]) == s:
                runs[-1] = (runs[-1][0], runs[-1][1] + 1)
            else:
                runs.append((s, 1))
    return runs


@pytest.mark.parametrize("seed", range(6))
def test_bitmap_runs_match_naive(tmp_path: Path, seed: int) -> None:
    r = random.Random(seed)
    size = r.randint(1, 4000) * 512
    raw, h = header_for(3, "/b", 0, size)
    pattern = bytes(r.choice([0, 0, 0, 0xFF, 0xFF, r.randrange(256)]) for _ in range(h.bitmap_len))
    p = tmp_path / "c.cow"
    with open(p, "wb") as f:
        f.write(raw)
        f.truncate(h.file_len)
        f.seek(h.bitmap_offset)
        f.write(pattern)
    fd = os.open(p, os.O_RDONLY)
    try:
        want = _naive_runs(pattern, h.nsectors)
        assert list(bitmap_runs(fd, h)) == want
        assert list(bitmap_runs(fd, h, step=1)) == want  # coalesced across reads
        assert list(bitmap_runs(fd, h, step=7)) == want
    finally:
        os.close(fd)


# --- creating ------------------------------------------------------------------

@needs_uml
@pytest.mark.parametrize("size", [64 << 20, (3 << 20) + 512, 1 << 20])
def test_create_is_byte_identical_to_uml_mkcow(tmp_path: Path, size: int) -> None:
    base = tmp_path / "base.img"
    write_random(base, size)
    subprocess.run(["uml_mkcow", str(tmp_path / "theirs.cow"), str(base)], check=True,
                   cwd=tmp_path, capture_output=True)
    create_cow(base, tmp_path / "ours.cow")
    assert (tmp_path / "ours.cow").read_bytes() == (tmp_path / "theirs.cow").read_bytes()
    assert (tmp_path / "ours.cow.backing.json").exists()


@needs_uml
def test_create_records_resolved_directory_like_uml(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    write_random(real / "base.img", 1 << 20)
    (tmp_path / "link").symlink_to(real)
    subprocess.run(["uml_mkcow", "theirs.cow", "link/base.img"], check=True, cwd=tmp_path,
                   capture_output=True)
    create_cow(tmp_path / "link" / "base.img", tmp_path / "ours.cow")
    assert (tmp_path / "ours.cow").read_bytes() == (tmp_path / "theirs.cow").read_bytes()
    assert read_header(tmp_path / "ours.cow").backing_file == str(real / "base.img")


def test_create_refuses_existing_output(tmp_path: Path) -> None:
    base = tmp_path / "base.img"
    write_random(base, 1 << 20)
    (tmp_path / "c.cow").write_bytes(b"keep")
    with pytest.raises(CowError, match="already exists"):
        create_cow(base, tmp_path / "c.cow")
    assert (tmp_path / "c.cow").read_bytes() == b"keep"
    create_cow(base, tmp_path / "c.cow", force=True)
    assert read_header(tmp_path / "c.cow").size == 1 << 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.img", "c.cow",
                                                          "c.cow.backing.json"]
