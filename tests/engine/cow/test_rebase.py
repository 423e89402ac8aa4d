"""`cow rebase`: diverged flat images back into one base + per-image COWs.

The main test: three 1 GiB images with different changes
over one base; rebase, merge each COW back, and every image comes back
byte for byte (a sha256 of their content, holes read as zeros). The
images are sparse, so this stays fast.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path

import pytest

from engine.cow import merge_to_new, read_header, rebase_images
from engine.cow.compare import diff_runs
from engine.cow.sidecar import load, record
from tests.support.cow import cli, cutting_progress, one_error_line, write_random
from tests.support.image import content_sha256

GIB = 1 << 30


def sha_all(paths: list[Path]) -> list[str]:
    """The bytes of each file as one digest (holes read as zeros; only the
    data is read, not the 1 GiB of each)."""
    return [content_sha256(p) for p in paths]


def make_sparse_base(path: Path, size: int, seed: int) -> None:
    r = random.Random(seed)
    with open(path, "wb") as f:
        f.truncate(size)
        for k in range(40):  # 40 MiB of data in 1 MiB extents, every ~25 MiB
            f.seek(k * (size // 40) + r.randrange(0, 1 << 20) // 4096 * 4096)
            f.write(r.randbytes(1 << 20))


def clone(src: Path, dst: Path) -> None:
    subprocess.run(["cp", "--sparse=always", str(src), str(dst)], check=True)


def change(path: Path, seed: int) -> int:
    """Different changes per image; returns a rough count of bytes changed."""
    r = random.Random(seed)
    size = path.stat().st_size
    n = 0
    with open(path, "r+b") as f:
        region = r.randrange(0, (size - (64 << 20)) // 4096) * 4096
        for _ in range(200):  # random 4 KiB writes in a 64 MiB region (data or holes)
            f.seek(region + r.randrange(0, (64 << 20) // 4096) * 4096)
            f.write(r.randbytes(4096))
            n += 4096
        f.seek(r.randrange(0, size // 2 // 4096) * 4096)
        f.write(r.randbytes(4 << 20))  # a 4 MiB run
        n += 4 << 20
        f.seek(r.randrange(0, size // 512) * 512 + 100)
        f.write(b"x" * 1000)  # unaligned, across sectors
        f.seek(size - 1)
        f.write(b"\x01")  # the last byte
        n += 1001
    with open(path, "r+b") as f:
        f.seek(r.randrange(0, 40) * (size // 40))  # zeros over base data
        f.write(bytes(64 << 10))
    return n


def test_three_1gib_images_round_trip(tmp_path: Path) -> None:
    base = tmp_path / "base.img"
    make_sparse_base(base, GIB, seed=1)
    images = []
    for k in range(3):
        img = tmp_path / f"host{k}.img"
        clone(base, img)
        change(img, seed=100 + k)
        images.append(img)
    want = sha_all(images)
    assert len(set(want)) == 3
    out = tmp_path / "cows"
    out.mkdir()
    seen: list[tuple[int, int]] = []
    res = rebase_images(base, images, out, progress=lambda s, d, t: seen.append((d, t)))
    base_root = record(base).root
    assert res.base == str(base)
    assert seen and seen[-1][0] == seen[-1][1] == 3 * GIB
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:], strict=False))
    flats = []
    for item, img in zip(res.items, images, strict=True):
        assert item.cow == str(out / f"{img.stem}.cow")
        h = read_header(item.cow)
        assert (h.version, h.size, h.backing_file) == (3, GIB, str(base))
        assert 4 << 20 <= item.sectors * 512 <= 6 << 20  # sector granular: ~5 MiB changed
        assert item.allocated < 8 << 20  # sparse COW: the changes, not the image
        sc = load(item.cow)
        assert sc is not None and sc.root == base_root
        flat = tmp_path / f"flat{img.stem}.img"
        merge_to_new(item.cow, flat)
        flats.append(flat)
    assert sha_all(flats) == want


def test_pick_base_minimises_total_cow_bytes(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    size = 8 << 20
    orig = tmp_path / "orig.img"
    data = bytearray(write_random(orig, size, seed=5))
    data[0:3 << 20] = random.Random(6).randbytes(3 << 20)  # what every host has in common
    images = []
    for k in range(3):
        img = bytearray(data)
        img[(4 << 20) + k * 8192:(4 << 20) + k * 8192 + 4096] = os.urandom(4096)
        p = tmp_path / f"h{k}.img"
        p.write_bytes(img)
        images.append(p)
    out = tmp_path / "cows"
    out.mkdir()
    rc, stdout, _ = cli(capsys, "rebase", orig, *images, "--out-dir", out, "--pick-base",
                        "--json")
    assert rc == 0
    doc = json.loads(stdout)
    costs = dict(doc["costs"])
    assert costs[str(orig)] == 3 * ((3 << 20) + 4096)
    assert costs[str(images[0])] == 2 * 8192
    assert doc["base"] in {str(p) for p in images}
    for item, img in zip(doc["items"], images, strict=True):
        merge_to_new(item["cow"], tmp_path / "back.img")
        assert (tmp_path / "back.img").read_bytes() == img.read_bytes()
        os.unlink(tmp_path / "back.img")
    chosen = [it for it in doc["items"] if it["image"] == doc["base"]]
    assert chosen[0]["sectors"] == 0


def test_rebase_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    base = tmp_path / "base.img"
    write_random(base, 1 << 20)
    small = tmp_path / "small.img"
    write_random(small, 1 << 19)
    out = tmp_path / "out"
    out.mkdir()
    rc, _, err = cli(capsys, "rebase", base, small, "--out-dir", out)
    assert rc == 2 and "a COW must be the size of its backing file" in one_error_line(err)
    rc, _, err = cli(capsys, "rebase", base, base, "--out-dir", tmp_path / "nope" / "deeper")
    assert rc == 2 and "does not exist" in one_error_line(err)
    assert not (tmp_path / "nope").exists()
    rc, _, err = cli(capsys, "rebase", base, small, "--out-dir", tmp_path / "new")
    assert rc == 2 and not (tmp_path / "new").exists()  # a failed rebase leaves no new folder
    rc, stdout, _ = cli(capsys, "rebase", base, base, "--out-dir", tmp_path / "new")
    assert rc == 0 and sorted(p.name for p in (tmp_path / "new").iterdir()) == [
        "base.cow", "base.cow.backing.json"]  # --out-dir is made when missing
    (tmp_path / "file").write_bytes(b"")
    rc, _, err = cli(capsys, "rebase", base, base, "--out-dir", tmp_path / "file")
    assert rc == 2 and "not a directory" in one_error_line(err)
    rc, _, err = cli(capsys, "rebase", base, tmp_path / "missing.img", "--out-dir", out)
    assert rc == 2 and "missing.img does not exist" in one_error_line(err)
    other = tmp_path / "x"
    other.mkdir()
    write_random(other / "base.img", 1 << 20)
    rc, _, err = cli(capsys, "rebase", base, base, other / "base.img", "--out-dir", out)
    assert rc == 2 and "same COW name" in one_error_line(err)
    assert list(out.iterdir()) == []
    rc, stdout, _ = cli(capsys, "rebase", base, base, "--out-dir", out)
    assert rc == 0 and "0 sectors" in stdout
    rc, _, err = cli(capsys, "rebase", base, base, "--out-dir", out)
    assert rc == 2 and "already exists" in one_error_line(err)


def test_diff_runs_granularity() -> None:
    a = bytearray(1 << 20)
    b = bytearray(a)
    b[0] = 1
    b[511] = 1  # same sector
    b[4096 * 3 + 512] = 1
    b[(1 << 20) - 1] = 1
    b[70000:71000] = b"y" * 1000  # sectors 136..138
    assert diff_runs(bytes(a), bytes(b), 1 << 20, 1 << 20) == [
        (2048, 1), (2048 + 25, 1), (2048 + 136, 3), (2048 + 2047, 1)]


def test_rebase_reuses_a_current_base_record_only(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path / "base.img"
    write_random(base, 12 << 20)
    img = tmp_path / "img.img"
    data = bytearray(base.read_bytes())
    data[5 << 20] ^= 1
    img.write_bytes(data)
    out = tmp_path / "out"
    out.mkdir()
    rebase_images(base, [img], out)
    hashed: list[int] = []
    from engine.cow import tree
    real = tree.leaf_digest

    def counting(data: bytes) -> bytes:
        hashed.append(len(data))
        return real(data)

    monkeypatch.setattr(tree, "leaf_digest", counting)
    rebase_images(base, [img], out, force=True)
    assert hashed == []  # base unchanged since its record: its digests are reused
    st = os.stat(base)
    with open(base, "r+b") as f:  # scribble, and restore the mtime: ctime still moves
        f.seek(9 << 20)
        f.write(b"zz")
    os.utime(base, ns=(st.st_atime_ns, st.st_mtime_ns))
    rebase_images(base, [img], out, force=True)
    assert len(hashed) == 3 * 64  # re-hashed: every 64 KiB leaf of its 3 chunks
    sc = load(out / "img.cow")
    assert sc is not None and sc.digests == record(base).digests


@pytest.mark.parametrize("when", ["first", "last"])
@pytest.mark.parametrize("victim", ["base", "image"])
def test_an_input_cut_during_the_rebase_is_one_error_and_leaves_nothing(
        victim: str, when: str, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process truncates an input while the rebase reads it (once
    a mapping's reader died of SIGBUS here, leaving a temporary file): one
    line naming the file, exit 2, no COW, no record, no new directory."""
    base = tmp_path / "base.img"
    with open(base, "wb") as f:  # 256 MiB, 256 KiB of data in each of 32 chunks
        f.truncate(256 << 20)
        r = random.Random(3)
        for k in range(32):
            f.seek(k * (8 << 20))
            f.write(r.randbytes(256 << 10))
    img = tmp_path / "img.img"
    clone(base, img)
    with open(img, "r+b") as f:
        f.seek(5 << 20)
        f.write(b"changed")
    cut = cutting_progress(monkeypatch, base if victim == "base" else img, when)
    rc, out, err = cli(capsys, "rebase", base, img, "--out-dir", tmp_path / "cows")
    line = one_error_line(err)
    assert cut and rc == 2 and out == ""
    named = f"base file {base}" if victim == "base" else f"image {img}"
    assert f"{named} changed during the rebase" in line
    if when == "first":  # caught by a read that came back short
        assert "it is now shorter" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.img", "img.img"]


def test_the_content_digest_sees_bytes_not_extents(tmp_path: Path) -> None:
    """The round trip's digest: zeros written equal a hole, one byte anywhere
    (the last one too) or one byte more of length differs."""
    a, b = tmp_path / "a", tmp_path / "b"
    with open(a, "wb") as f:
        f.truncate(10 << 20)
        f.seek(70000)
        f.write(b"x" * 5000)  # across a 64 KiB block boundary
        f.seek(3 << 20)
        f.write(bytes(1 << 20))  # zeros as data
    with open(b, "wb") as f:
        f.truncate(10 << 20)
        f.seek(70000)
        f.write(b"x" * 5000)
    assert content_sha256(a) == content_sha256(b)
    for where, byte in ((10 << 20) - 1, b"\1"), (70001, b"y"), (3 << 20, b"\1"):
        with open(b, "r+b") as f:
            f.seek(where)
            old = f.read(1)
            f.seek(where)
            f.write(byte)
        assert content_sha256(a) != content_sha256(b), where
        with open(b, "r+b") as f:
            f.seek(where)
            f.write(old)
        assert content_sha256(a) == content_sha256(b)
    os.truncate(b, (10 << 20) + 1)
    assert content_sha256(a) != content_sha256(b)
