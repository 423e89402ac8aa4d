"""Interop both ways with the real uml-utilities.

- a COW made by uml_mkcow (or, for v1, v2, broken v3, other alignments and
  a 4096-byte sector size, by our own writer) and changed as the kernel
  changes it merges with partwright to the same bytes as with uml_moo, and
  both equal an independent naive merge;
- a COW made by partwright (create, rebase) merges with uml_moo to the same
  bytes as partwright's merge;
- in-place merges agree with `uml_moo -d -b`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.cow import create_cow, merge_in_place, merge_to_new, read_header, rebase_images
from engine.cow.format import set_sectors
from tests.support.cow import (
    make_cow,
    needs_uml,
    reference_merge,
    scribble,
    write_random,
)

pytestmark = needs_uml

SIZE = 3 << 20  # 6144 sectors of 512: uml_moo moves 512 bytes per syscall

VARIANTS = {
    "v1": dict(version=1),
    "v2": dict(version=2),
    "v3": dict(version=3),
    "v3-broken": dict(version=3, broken=True),
    "v3-align512": dict(version=3, alignment=512),
    "v3-align65536": dict(version=3, alignment=65536),
    "v3-ss4096": dict(version=3, sectorsize=4096),
    "v2-ss4096": dict(version=2, sectorsize=4096),
}


def uml_moo(*args: str | Path) -> None:
    proc = subprocess.run(["uml_moo", *map(str, args)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_merge_matches_uml_moo(tmp_path: Path, variant: str) -> None:
    base = tmp_path / "base.img"
    write_random(base, SIZE)
    cow = tmp_path / "c.cow"
    make_cow(cow, base, **VARIANTS[variant])  # type: ignore[arg-type]
    h = read_header(cow)
    assert h.layout == ("v3-broken" if variant == "v3-broken" else variant[:2])
    scribble(cow)
    want = reference_merge(cow, base)
    assert want != base.read_bytes()

    merge_to_new(cow, tmp_path / "ours.img")
    uml_moo(cow, tmp_path / "theirs.img")
    ours = (tmp_path / "ours.img").read_bytes()
    assert ours == want
    assert (tmp_path / "theirs.img").read_bytes() == ours

    # in place, both ways, on copies of the backing file
    shutil.copy2(base, tmp_path / "b1.img")
    shutil.copy2(base, tmp_path / "b2.img")
    uml_moo("-d", "-b", tmp_path / "b1.img", cow)
    merge_in_place(cow, backing=str(tmp_path / "b2.img"))
    assert (tmp_path / "b1.img").read_bytes() == want
    assert (tmp_path / "b2.img").read_bytes() == want


def test_uml_mkcow_cow_merges_like_uml_moo(tmp_path: Path) -> None:
    base = tmp_path / "base.img"
    write_random(base, SIZE)
    cow = tmp_path / "mk.cow"
    subprocess.run(["uml_mkcow", str(cow), str(base)], check=True, capture_output=True)
    scribble(cow, seed=3, writes=80)
    merge_to_new(cow, tmp_path / "ours.img")
    uml_moo(cow, tmp_path / "theirs.img")
    assert (tmp_path / "ours.img").read_bytes() == (tmp_path / "theirs.img").read_bytes()
    assert (tmp_path / "ours.img").read_bytes() == reference_merge(cow, base)


def test_partwright_cow_merges_with_uml_moo(tmp_path: Path) -> None:
    base = tmp_path / "base.img"
    write_random(base, SIZE)
    cow = tmp_path / "pw.cow"
    create_cow(base, cow)
    scribble(cow, seed=11, writes=120)
    merge_to_new(cow, tmp_path / "ours.img")
    uml_moo(cow, tmp_path / "theirs.img")
    assert (tmp_path / "ours.img").read_bytes() == (tmp_path / "theirs.img").read_bytes()


def test_rebased_cows_merge_with_uml_moo(tmp_path: Path) -> None:
    base = tmp_path / "base.img"
    data = bytearray(write_random(base, SIZE))
    images = []
    for k in range(3):
        img = bytearray(data)
        img[4096 * (k + 1):4096 * (k + 1) + 700] = os.urandom(700)  # partial sectors
        img[SIZE // 2 + k * 512:SIZE // 2 + k * 512 + 9000] = bytes(9000)  # zeros over data
        img[-1] ^= 0xFF  # the very last byte
        p = tmp_path / f"host{k}.img"
        p.write_bytes(img)
        images.append(p)
    out = tmp_path / "cows"
    out.mkdir()
    res = rebase_images(base, images, out)
    for item, img in zip(res.items, images, strict=True):
        uml_moo(item.cow, tmp_path / "back.img")
        assert (tmp_path / "back.img").read_bytes() == img.read_bytes()
        os.unlink(tmp_path / "back.img")


def test_uml_moo_truncates_partial_last_sector_partwright_does_not(tmp_path: Path) -> None:
    base = tmp_path / "base.img"
    write_random(base, (1 << 20) + 100)
    cow = tmp_path / "c.cow"
    create_cow(base, cow)
    h = read_header(cow)
    fd = os.open(cow, os.O_RDWR)
    set_sectors(fd, h, 5, b"\xab" * 512)
    set_sectors(fd, h, h.nsectors - 1, b"\xcd" * 512)  # the partial last sector
    os.close(fd)
    merge_to_new(cow, tmp_path / "ours.img")
    uml_moo(cow, tmp_path / "theirs.img")
    ours = (tmp_path / "ours.img").read_bytes()
    theirs = (tmp_path / "theirs.img").read_bytes()
    assert len(ours) == (1 << 20) + 100 and len(theirs) == 1 << 20
    assert ours[:1 << 20] == theirs
    assert ours[-100:] == b"\xcd" * 100
    assert ours == reference_merge(cow, base)


def test_uml_moo_accepts_header_mtime_partwright_refreshed(tmp_path: Path) -> None:
    """A backing file replaced by an equal copy: UML would refuse (new mtime);
    partwright accepts it and rewrites the header mtime, so UML does too."""
    base = tmp_path / "base.img"
    write_random(base, SIZE)
    cow = tmp_path / "c.cow"
    create_cow(base, cow)
    scribble(cow)
    shutil.copyfile(base, tmp_path / "copy.img")
    st = os.stat(base)
    os.utime(tmp_path / "copy.img", (st.st_atime + 5, st.st_mtime + 5))
    os.replace(tmp_path / "copy.img", base)
    refused = subprocess.run(["uml_moo", str(cow), str(tmp_path / "x.img")], capture_output=True)
    assert refused.returncode != 0
    os.unlink(tmp_path / "x.img") if (tmp_path / "x.img").exists() else None
    res = merge_to_new(cow, tmp_path / "ours.img")
    assert any("content is unchanged" in n for n in res.notes)
    uml_moo(cow, tmp_path / "theirs.img")
    assert (tmp_path / "ours.img").read_bytes() == (tmp_path / "theirs.img").read_bytes()
