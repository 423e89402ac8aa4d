"""UML COW format: headers of every version, geometry, bitmap runs, and the
v3 file `partwright cow create` writes being byte-identical to uml_mkcow's.

The helpers at the top are shared by the other tests/test_cow_*.py files.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
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
    set_sectors,
)
from engine.errors import CowError

HAVE_UML = shutil.which("uml_moo") is not None and shutil.which("uml_mkcow") is not None
needs_uml = pytest.mark.skipif(not HAVE_UML, reason="uml-utilities (uml_moo, uml_mkcow) not installed")


# --- helpers shared by the COW tests ----------------------------------------

def write_random(path: Path, size: int, seed: int = 42) -> bytes:
    data = random.Random(seed).randbytes(size)
    path.write_bytes(data)
    return data


def make_cow(path: Path, backing: Path, version: int = 3, sectorsize: int = 512,
             alignment: int = 4096, broken: bool = False) -> None:
    """A fresh COW of any version, written the way the kernel writes them."""
    st = os.stat(backing)
    raw, header = header_for(version, str(backing.resolve()), int(st.st_mtime), st.st_size,
                             sectorsize, alignment, broken)
    with open(path, "wb") as f:
        f.write(raw)
        f.truncate(header.file_len)


def scribble(cow: Path, seed: int = 7, writes: int = 40, zero_run: bool = True) -> None:
    """Random sector writes into a COW (data, then bits), plus a run whose bits
    are set over a hole (a discard: reads as zeros)."""
    header = read_header(cow)
    r = random.Random(seed)
    ss = header.sectorsize
    fd = os.open(cow, os.O_RDWR)
    try:
        for _ in range(writes):
            count = r.randint(1, 9)
            s = r.randrange(0, header.covered_sectors - count)
            set_sectors(fd, header, s, r.randbytes(count * ss))
        set_sectors(fd, header, 0, r.randbytes(ss))  # first sector
        last = header.covered_sectors - 1
        set_sectors(fd, header, last, r.randbytes(ss))  # last sector
        if zero_run:
            from engine.cow.format import mark_sectors
            s = header.covered_sectors // 2
            mark_sectors(fd, header, s, 16)
            from engine.host.sparse import punch_hole
            punch_hole(fd, header.data_offset + s * ss, 16 * ss)
    finally:
        os.close(fd)


def reference_merge(cow: Path, backing: Path) -> bytes:
    """An independent, naive merge: offsets from the research notes' table."""
    raw = cow.read_bytes()
    base = bytearray(backing.read_bytes())
    (magic_le,) = struct.unpack("<I", raw[:4])
    if magic_le == COW_MAGIC:  # v1, little-endian host
        size, ss = struct.unpack("<QI", raw[268:280])
        bm_off = 280
        bm_len = (size + ss - 1) // (8 * ss)
        data_off = -(-(bm_off + bm_len) // ss) * ss
    else:
        version = struct.unpack(">I", raw[4:8])[0]
        if version == 2:
            size, ss = struct.unpack(">QI", raw[4108:4120])
            bm_off = 4120
            bm_len = (size + ss - 1) // (8 * ss)
            data_off = -(-(bm_off + bm_len) // ss) * ss
        else:
            broken = raw[32:36] == b"\0\0\0\0"
            if broken:
                size, ss, align = struct.unpack(">QII", raw[16:32])
                hdr = 4136
            else:
                size, ss, align = struct.unpack(">QII", raw[12:28])
                hdr = 4128
            bm_off = -(-hdr // align) * align
            bm_len = ((size + ss - 1) // ss + 7) // 8
            data_off = -(-(bm_off + bm_len) // align) * align
    nsect = min(-(-size // ss), bm_len * 8)
    bitmap = raw[bm_off:bm_off + bm_len]
    for s in range(nsect):
        if bitmap[s >> 3] >> (s & 7) & 1:
            end = min((s + 1) * ss, size)
            base[s * ss:end] = raw[data_off + s * ss:data_off + end].ljust(end - s * ss, b"\0")
    return bytes(base[:size])


def sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


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
