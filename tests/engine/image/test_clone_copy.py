"""Clone copies allocate what `cp --sparse=always` does.

An empty 2 GiB xfs holds a 64 MiB log that mkfs.xfs allocates (fallocate)
but never writes: tmpfs reports it as data, and so do ext4 and xfs once its
zero pages are in the page cache. A copy that trusts SEEK_DATA alone writes
64 MiB of zeros. Here the copy (sparse.copy_range) and a clone inside an
image (clone_partition) are measured against cp's copy of the same bytes,
and read back byte for byte over the data of both files (holes read as
zeros by definition).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from engine.host import sparse
from engine.image.clone import ON_EXTRACT, clone_partition
from engine.image.filesystems import FsSpec, make_filesystem
from engine.image.identity import Identity
from tests.support.image import needs_tools

pytestmark = needs_tools

MIB = 1 << 20
SIZE = 2048 * MIB
SLACK = 64 << 10  # bytes above cp's allocation that still pass
SHM = Path("/dev/shm")


def _data(fd: int, start: int, end: int) -> list[tuple[int, int]]:
    """SEEK_DATA/SEEK_HOLE runs of [start, end), straight from the kernel."""
    runs, pos = [], start
    while pos < end:
        try:
            data = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError:
            break
        if data >= end:
            break
        hole = min(os.lseek(fd, data, os.SEEK_HOLE), end)
        runs.append((data, hole))
        pos = hole
    return runs


def assert_same_bytes(a: Path, a_off: int, b: Path, b_off: int, length: int) -> None:
    """[a_off, +length) of a equals [b_off, +length) of b: compared over the
    union of both sides' data runs; everything else is a hole in both."""
    with open(a, "rb") as fa, open(b, "rb") as fb:
        runs = [(s - a_off, e - a_off) for s, e in _data(fa.fileno(), a_off, a_off + length)]
        runs += [(s - b_off, e - b_off) for s, e in _data(fb.fileno(), b_off, b_off + length)]
        for start, end in sorted(runs):
            pos = start
            while pos < end:
                n = min(4 * MIB, end - pos)
                assert os.pread(fa.fileno(), n, a_off + pos) == os.pread(fb.fileno(), n, b_off + pos), (
                    f"{a} and {b} differ in bytes {pos}..{pos + n} of the range")
                pos += n


def warm(path: Path, offset: int = 0, length: int | None = None) -> None:
    """Read every allocated byte (written or not) into the page cache, as a
    probe or an earlier copy would."""
    with open(path, "rb") as fh:
        fd = fh.fileno()
        length = os.fstat(fd).st_size - offset if length is None else length
        found = sparse.allocated_extents(fd, offset, length)
        for start, size in found if found is not None else [(offset, length)]:
            for pos in range(start, start + size, 4 * MIB):
                os.pread(fd, min(4 * MIB, start + size - pos), pos)


def cp_sparse(src: Path, dst: Path) -> int:
    """`cp --sparse=always`, and what its copy allocates."""
    subprocess.run(["cp", "--sparse=always", str(src), str(dst)], check=True)
    return allocated(dst)


def allocated(path: Path) -> int:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())
    return os.stat(path).st_blocks * 512


@pytest.mark.parametrize("where", ["work", "tmpfs"])
def test_empty_xfs_copy_allocates_what_cp_does(tmp_path: Path, where: str) -> None:
    if where == "tmpfs":
        if not (SHM.is_dir() and os.access(SHM, os.W_OK)):
            pytest.skip("no writable /dev/shm (tmpfs)")
        work = Path(tempfile.mkdtemp(dir=SHM, prefix="pw-clonecopy-"))
    else:
        work = tmp_path
    try:
        source, ours, theirs = work / "empty.xfs", work / "ours.img", work / "cp.img"
        with open(source, "wb") as fh:
            fh.truncate(SIZE)
        subprocess.run(["mkfs.xfs", "-q", "-f", str(source)], check=True)
        warm(source)
        with open(source, "rb") as fh:
            data = sum(e - s for s, e in _data(fh.fileno(), 0, SIZE))
        if where == "tmpfs":  # the case the copy must not be fooled by
            assert data >= 32 * MIB, f"tmpfs reports {data} bytes of data"
        with open(source, "rb") as src, open(ours, "wb") as dst:
            dst.truncate(SIZE)
            sparse.copy_range(src.fileno(), 0, dst.fileno(), 0, SIZE, punch=False)
        cp_bytes = cp_sparse(source, theirs)
        assert allocated(ours) <= cp_bytes + SLACK, (
            f"copy allocates {allocated(ours)} bytes, cp {cp_bytes} (SEEK_DATA said {data})")
        assert_same_bytes(source, 0, ours, 0, SIZE)
        # over a target full of other bytes: punched first, then the same bytes
        with open(ours, "r+b") as dst:
            for pos in range(0, SIZE, 256 * MIB):
                os.pwrite(dst.fileno(), b"\xa5" * MIB, pos)
            with open(source, "rb") as src:
                sparse.copy_range(src.fileno(), 0, dst.fileno(), 0, SIZE)
        assert allocated(ours) <= cp_bytes + SLACK
        assert_same_bytes(source, 0, ours, 0, SIZE)
    finally:
        if work != tmp_path:
            for name in os.listdir(work):
                os.unlink(work / name)
            work.rmdir()


def test_empty_xfs_clone_in_an_image_allocates_what_cp_does(tmp_path: Path) -> None:
    ident = Identity(key="clone-copy", seeded=True, epoch=1_700_000_000)
    origin = FsSpec(1, "root", "root", "xfs", "ROOT", "6f1d8e0a-58b4-4c1c-9a52-0b8c1bd0e001",
                    MIB, SIZE, "/")
    clone = FsSpec(2, "root_clone1", "root", "xfs", "ROOT", "6f1d8e0a-58b4-4c1c-9a52-0b8c1bd0e002",
                   MIB + SIZE, SIZE, None, clone_of=1)
    image = tmp_path / "disk.img"
    with open(image, "wb") as fh:
        fh.truncate(2 * MIB + 2 * SIZE)
    work = tmp_path / "work"
    work.mkdir()
    make_filesystem(str(image), origin, ident, str(work))
    warm(image, origin.offset, origin.size)
    # cp's copy of the same clone: the origin's bytes given the same new
    # identifiers (xfs_admin -U and the log formatted back), then copied by cp
    ref = tmp_path / "ref.xfs"
    with open(image, "rb") as src, open(ref, "wb") as dst:
        dst.truncate(SIZE)
        for start, end in _data(src.fileno(), origin.offset, origin.offset + SIZE):
            os.pwrite(dst.fileno(), os.pread(src.fileno(), end - start, start),
                      start - origin.offset)
    ON_EXTRACT["xfs"](str(ref), clone, ident)
    cp_bytes = cp_sparse(ref, tmp_path / "ref-cp.xfs")

    before = allocated(image)
    clone_partition(str(image), origin, clone, ident, str(work))
    grown = allocated(image) - before
    assert grown <= cp_bytes + SLACK, f"the clone allocates {grown} bytes, cp's copy {cp_bytes}"
    assert_same_bytes(ref, 0, image, clone.offset, SIZE)
    assert os.listdir(work) == []
