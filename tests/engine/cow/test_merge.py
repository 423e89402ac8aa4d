"""Merging: sparse, streaming, progress, in place, reflink, flat memory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine.cow import create_cow, merge_in_place, merge_to_new, read_header
from engine.cow import merge as merge_mod
from engine.cow.format import mark_sectors, set_sectors
from engine.host.sparse import data_extents, punch_hole, subtract
from tests.support.cow import (
    cli,
    cutting_progress,
    one_error_line,
    reference_merge,
    scribble,
    write_random,
)
from tests.support.paths import ROOT

MIB = 1 << 20


def sparse_base(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        f.truncate(size)
        for k in range(0, size, 8 * MIB):  # 1 MiB of data every 8 MiB
            f.seek(k)
            f.write(os.urandom(MIB))


def test_subtract() -> None:
    assert subtract([(0, 100)], [(10, 10), (50, 60)]) == [(0, 10), (20, 30)]
    assert subtract([(0, 10), (20, 10)], [(5, 20)]) == [(0, 5), (25, 5)]
    assert subtract([(0, 10)], []) == [(0, 10)]
    assert subtract([(5, 5)], [(0, 100)]) == []


def test_merge_to_new_is_sparse(tmp_path: Path) -> None:
    base = tmp_path / "base.img"
    sparse_base(base, 64 * MIB)
    cow = tmp_path / "c.cow"
    create_cow(base, cow)
    h = read_header(cow)
    fd = os.open(cow, os.O_RDWR)
    set_sectors(fd, h, 100, os.urandom(8192))  # into base data
    set_sectors(fd, h, (3 * MIB) // 512, os.urandom(4096))  # into a base hole
    set_sectors(fd, h, (16 * MIB) // 512, bytes(MIB))  # zeros written as data over base data
    mark_sectors(fd, h, (24 * MIB) // 512, MIB // 512)  # discard: bits over a COW hole
    punch_hole(fd, h.data_offset + 24 * MIB, MIB)
    os.close(fd)
    out = tmp_path / "flat.img"
    res = merge_to_new(cow, out)
    assert out.read_bytes() == reference_merge(cow, base)
    assert res.size == 64 * MIB
    allocated = out.stat().st_blocks * 512
    assert allocated <= base.stat().st_blocks * 512 - 2 * MIB + 64 * 1024
    fd = os.open(out, os.O_RDONLY)
    try:
        extents = list(data_extents(fd, 0, 64 * MIB))
    finally:
        os.close(fd)
    for off in (16 * MIB, 24 * MIB, 44 * MIB):  # zeros and holes stay holes
        assert not any(o <= off < o + n for o, n in extents), off


def test_small_windows_and_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path / "base.img"
    write_random(base, 8 * MIB)
    cow = tmp_path / "c.cow"
    create_cow(base, cow)
    scribble(cow, writes=300)
    h = read_header(cow)
    fd = os.open(cow, os.O_RDWR)
    set_sectors(fd, h, 127, os.urandom(512 * 300))  # a run across many windows
    os.close(fd)
    want = reference_merge(cow, base)
    monkeypatch.setattr(merge_mod, "WINDOW", 64 * 1024)
    fd = os.open(cow, os.O_RDONLY)
    try:  # runs are split at window edges and nothing is lost
        wins = list(merge_mod.windows(merge_mod.byte_runs(fd, h), h.size))
        assert len(wins) == 128
        assert sum(n for _, _, runs in wins for _, n in runs) == sum(
            n for _, n in merge_mod.byte_runs(fd, h))
        assert all(s <= o and o + n <= e for s, e, runs in wins for o, n in runs)
    finally:
        os.close(fd)
    seen: list[tuple[int, int]] = []
    merge_to_new(cow, tmp_path / "a.img", progress=lambda s, d, t: seen.append((d, t)))
    assert (tmp_path / "a.img").read_bytes() == want
    assert seen[-1][0] == seen[-1][1] > 8 * MIB
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:], strict=False))
    shutil.copyfile(base, tmp_path / "b.img")
    merge_in_place(cow, backing=str(tmp_path / "b.img"))
    assert (tmp_path / "b.img").read_bytes() == want


def test_in_place_punches_discarded_runs(tmp_path: Path) -> None:
    base = tmp_path / "base.img"
    write_random(base, 4 * MIB)
    cow = tmp_path / "c.cow"
    create_cow(base, cow)
    h = read_header(cow)
    fd = os.open(cow, os.O_RDWR)
    mark_sectors(fd, h, 2048, 2048)  # 1 MiB discarded at 1 MiB
    os.close(fd)
    before = base.stat().st_blocks
    merge_in_place(cow)
    assert base.read_bytes()[MIB:2 * MIB] == bytes(MIB)
    assert base.stat().st_blocks <= before - MIB // 512


def _is_root() -> bool:
    return os.geteuid() == 0


@pytest.mark.root
@pytest.mark.skipif(not _is_root(), reason="needs root to mount an XFS loop file system")
@pytest.mark.skipif(shutil.which("mkfs.xfs") is None, reason="xfsprogs not installed")
def test_reflink_merge_on_xfs(tmp_path: Path) -> None:
    fs = tmp_path / "xfs.img"
    with open(fs, "wb") as f:
        f.truncate(512 * MIB)
    subprocess.run(["mkfs.xfs", "-q", "-m", "reflink=1", str(fs)], check=True)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-o", "loop", str(fs), str(mnt)], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot loop-mount XFS here: {proc.stderr.strip()}")
    try:
        base = mnt / "base.img"
        write_random(base, 32 * MIB)
        cow = mnt / "c.cow"
        create_cow(base, cow)
        scribble(cow, writes=100)
        out = mnt / "flat.img"
        merge_to_new(cow, out)
        assert out.read_bytes() == reference_merge(cow, base)
        # reflinked: the merge shares the base's blocks, so the fs barely grew
        used = subprocess.run(["df", "--output=used", "-B1", str(mnt)], capture_output=True,
                              text=True, check=True).stdout.split()[-1]
        assert int(used) < 2 * 32 * MIB + 64 * MIB
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


PEAK = textwrap.dedent("""
    import os, sys
    from engine.cow import create_cow, merge_to_new, read_header
    from engine.cow.format import set_sectors
    base, cow, out, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    with open(base, "wb") as f:
        f.truncate(size)
        for k in range(16):
            f.seek(k * (size // 16))
            f.write(os.urandom(1 << 20))
    create_cow(base, cow)
    h = read_header(cow)
    fd = os.open(cow, os.O_RDWR)
    for k in range(0, h.nsectors - 64, h.nsectors // 64):
        set_sectors(fd, h, k, os.urandom(4096))
    os.close(fd)
    def hwm():  # peak RSS of this process (ru_maxrss would count the forking parent's)
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
    before = hwm()
    merge_to_new(cow, out)
    print(before, hwm())
""")


def test_memory_is_flat_1_vs_16_gib(tmp_path: Path) -> None:
    peaks = {}
    for gib in (1, 16):
        proc = subprocess.run(
            [sys.executable, "-c", PEAK, str(tmp_path / f"b{gib}"), str(tmp_path / f"c{gib}"),
             str(tmp_path / f"o{gib}"), str(gib << 30)],
            capture_output=True, text=True, cwd=ROOT, check=True)
        before, after = map(int, proc.stdout.split())
        peaks[gib] = after
        for p in tmp_path.iterdir():
            p.unlink()
    # KiB: the 16 GiB merge (a 4 MiB bitmap) needs about what 1 GiB needs, and little
    assert peaks[16] - peaks[1] < 8 * 1024, peaks
    assert peaks[16] < 96 * 1024, peaks


@pytest.mark.parametrize("victim", ["cow", "backing", "cow in place"])
def test_an_input_cut_during_the_merge_is_one_error_and_leaves_nothing(
        victim: str, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A read past an end cut meanwhile gives zeros: the merge must not
    commit them. One line naming the file, exit 2, no output left."""
    base = tmp_path / "base.img"
    sparse_base(base, 64 * MIB)
    cow = tmp_path / "c.cow"
    create_cow(base, cow)
    scribble(cow)
    cut = cutting_progress(monkeypatch, base if victim == "backing" else cow, "first")
    before = sorted(p.name for p in tmp_path.iterdir())
    where = ["--in-place"] if victim == "cow in place" else ["-o", tmp_path / "out.img"]
    rc, out, err = cli(capsys, "merge", cow, *where)
    named = f"backing file {base}" if victim == "backing" else f"COW file {cow}"
    assert cut and rc == 2 and out == ""
    assert f"{named} changed during the merge" in one_error_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
