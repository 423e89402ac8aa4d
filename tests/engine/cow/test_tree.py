"""The digest tree of the backing record: an in-place merge hashes only the
64 KiB leaves it wrote, and what it leaves equals a record made from
scratch; a corrupt leaf list is caught before anything is written."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from engine.cow import create_cow, merge_in_place, read_header, tree
from engine.cow.format import set_sectors
from engine.cow.sidecar import load, record
from tests.support.cow import cli, one_error_line, reference_merge, sha256, write_random

SIZE = 12 << 20


def test_in_place_merge_hashes_only_the_leaves_written(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path / "base.img"
    write_random(base, SIZE)
    cow = tmp_path / "c.cow"
    create_cow(base, cow)
    h = read_header(cow)
    fd = os.open(cow, os.O_RDWR)
    for sector in (3, 200, 9000, 24575 - 130, 24575):  # every chunk, one spanning two leaves
        set_sectors(fd, h, sector, os.urandom(512 * (3 if sector == 200 else 1)))
    set_sectors(fd, h, 127, os.urandom(1024))  # sectors 127-128: the leaves 0 and 1
    os.close(fd)
    want = reference_merge(cow, base)
    hashed: list[int] = []
    real = tree.hash_leaves

    def counting(buf: bytes, *args: Any) -> bytes:
        hashed.append(len(buf))
        return real(buf, *args)

    monkeypatch.setattr(tree, "hash_leaves", counting)
    merge_in_place(cow)
    monkeypatch.setattr(tree, "hash_leaves", real)
    assert base.read_bytes() == want
    assert sum(hashed) == 5 * tree.LEAF  # leaves 0-1, 70, 190 and 191: not 12 MiB
    kept, fresh = load(cow), record(base)
    assert kept is not None and kept.digests == fresh.digests and kept.root == fresh.root
    assert all(kept.chunk_leaves(i) == fresh.chunk_leaves(i) for i in range(3))


def test_in_place_merge_of_zeros_and_holes_keeps_the_tree_exact(tmp_path: Path) -> None:
    base = tmp_path / "base.img"
    with open(base, "wb") as f:  # a sparse base: data only in the middle chunk
        f.truncate(SIZE)
        f.seek(5 << 20)
        f.write(os.urandom(1 << 20))
    cow = tmp_path / "c.cow"
    create_cow(base, cow)
    h = read_header(cow)
    fd = os.open(cow, os.O_RDWR)
    set_sectors(fd, h, (5 << 20) // 512, bytes(1 << 20))  # zeros over all the data
    set_sectors(fd, h, 100, os.urandom(512))  # data into a hole
    os.close(fd)
    want = reference_merge(cow, base)
    merge_in_place(cow)
    assert base.read_bytes() == want
    kept = load(cow)
    assert kept is not None and kept.digests == record(base).digests
    assert kept.leaves is not None and sorted(kept.leaves) == [0]  # chunk 1 is zeros again


def test_corrupt_leaves_stop_an_in_place_merge_before_it_writes(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    base = tmp_path / "base.img"
    write_random(base, SIZE)
    cow = tmp_path / "c.cow"
    create_cow(base, cow)
    h = read_header(cow)
    fd = os.open(cow, os.O_RDWR)
    set_sectors(fd, h, 10, os.urandom(512))
    os.close(fd)
    side = Path(f"{cow}.backing.json")
    doc = json.loads(side.read_text())
    doc["leaves"]["1"] = doc["leaves"]["0"]  # the chunk digests and root still agree
    side.write_text(json.dumps(doc))
    before = sha256(base)
    rc, out, _ = cli(capsys, "check", cow)  # content is not in question: the fast path passes
    assert rc == 0
    rc, _, err = cli(capsys, "merge", "--in-place", cow)
    line = one_error_line(err)
    assert rc == 2 and "corrupt" in line and "offset 4194304" in line
    assert sha256(base) == before


def test_difference_names_the_leaf(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    base = tmp_path / "base.img"
    write_random(base, SIZE)
    cow = tmp_path / "c.cow"
    create_cow(base, cow)
    st = os.stat(base)
    with open(base, "r+b") as f:
        f.seek((4 << 20) + 3 * tree.LEAF + 5)
        f.write(b"!")
    os.utime(base, ns=(st.st_atime_ns, st.st_mtime_ns))
    rc, _, err = cli(capsys, "check", cow)
    line = one_error_line(err)
    assert rc == 2 and "block at offset 4194304" in line
    assert f"64 KiB at offset {(4 << 20) + 3 * tree.LEAF}" in line
