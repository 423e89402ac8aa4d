"""Helpers of the COW tests (engine/cow and `partwright cow`): random backing
files, COW files of every version written as the kernel writes them, random
sector writes, an independent reference merge, digests, and the CLI run in
process with its one error line."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.cow import read_header
from engine.cow.format import COW_MAGIC, header_for, set_sectors
from engine.host.progress import Progress
from partwright.cli import main

HAVE_UML = shutil.which("uml_moo") is not None and shutil.which("uml_mkcow") is not None
needs_uml = pytest.mark.skipif(not HAVE_UML, reason="uml-utilities (uml_moo, uml_mkcow) not installed")


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


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    rc = main(["cow", *map(str, args)])
    out, err = capsys.readouterr()
    return rc, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("partwright: error: ")
    assert "Traceback" not in err
    return lines[0]


def cutting_progress(monkeypatch: pytest.MonkeyPatch, victim: Path, when: str,
                     skip: str = "choosing the base") -> list[int]:
    """Make the command line's progress bar (its one seam for a callback)
    cut `victim` to nothing once, as another process could: when some work
    is done ("first": the rest still to be read) or all of it ("last":
    every read done, only the final checks left); never during the step
    named skip. Returns the `done` it cut at."""
    import contextlib

    from partwright import cmd_cow

    cut: list[int] = []

    def progress(step: str, done: int, total: int) -> None:
        ready = done > 0 if when == "first" else done >= total
        if ready and not cut and step != skip:
            os.truncate(victim, 0)
            cut.append(done)

    @contextlib.contextmanager
    def bar(label: str) -> Iterator[Progress]:
        yield progress

    monkeypatch.setattr(cmd_cow, "progress_bar", bar)
    return cut
