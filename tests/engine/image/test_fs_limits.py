"""Every limit in engine.plan.fs_limits, checked against the real tool: at
the limit it works, one sector past it the tool refuses or changes what it
makes, and the planner's prediction says so. A tool release that moves a
limit fails here. (The 2 TiB FAT32 maximum writes 512 MiB of FAT: run with
PARTWRIGHT_SLOW_TESTS=1.)"""

from __future__ import annotations

import os
import struct
import subprocess
from pathlib import Path

import pytest

from engine.plan.fs_limits import (
    LIMITS,
    MIB,
    TOOLS,
    fat32_cluster_sectors,
    fat_chs,
    fat_geometry,
    fat_range,
    label_problems,
    size_problems,
)
from tests.support.image import needs_tools

pytestmark = needs_tools
SECTOR = 512


def _file(tmp: Path, size: int, name: str = "fs.img") -> Path:
    path = tmp / name
    with open(path, "wb") as fh:
        fh.truncate(size)
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False,
                          env={**os.environ, "LC_ALL": "C"})


def _blkid(path: Path, tag: str) -> str:
    return _run("blkid", "-p", "-o", "value", "-s", tag, str(path)).stdout.strip()


def test_versions_measured_are_installed() -> None:
    """The table says which versions it was measured with; print what is here."""
    found = {}
    for package in TOOLS:
        out = _run("dpkg-query", "-W", "-f=${Version}", package).stdout
        found[package] = out
    print("\n" + "\n".join(f"{p}: measured {TOOLS[p]}, installed {v}" for p, v in found.items()))
    assert set(LIMITS) == {"ext2", "ext3", "ext4", "xfs", "btrfs", "fat16", "fat32", "swap",
                           "squashfs"}


@pytest.mark.parametrize("kind", ["xfs", "btrfs"])
def test_minimum_size(kind: str, tmp_path: Path) -> None:
    low = LIMITS[kind].min_bytes  # type: ignore[index]
    mkfs = {"xfs": ["mkfs.xfs", "-q", "-f"], "btrfs": ["mkfs.btrfs", "-q", "-f"]}[kind]
    assert _run(*mkfs, str(_file(tmp_path, low))).returncode == 0
    past = _run(*mkfs, str(_file(tmp_path, low - SECTOR)))
    assert past.returncode != 0
    assert LIMITS[kind].min_reason.split(": ", 1)[1] in past.stderr  # type: ignore[index]
    assert not size_problems(kind, low)  # type: ignore[arg-type]
    assert [p.what for p in size_problems(kind, low - SECTOR)] == ["too-small"]  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["ext2", "ext3", "ext4"])
def test_ext_minimum_and_journal(kind: str, tmp_path: Path) -> None:
    lim = LIMITS[kind]  # type: ignore[index]
    image = _file(tmp_path, 4 * MIB)

    def mkfs(size: int) -> subprocess.CompletedProcess[str]:
        return _run(f"mkfs.{kind}", "-F", "-q", "-E", "nodiscard", str(image), f"{size // 1024}k")

    assert mkfs(lim.min_bytes).returncode == 0
    assert mkfs(lim.min_bytes - SECTOR).returncode != 0
    assert [p.what for p in size_problems(kind, lim.min_bytes - SECTOR)] == ["too-small"]  # type: ignore[arg-type]
    if lim.journal_min_bytes is None:
        return
    assert mkfs(lim.journal_min_bytes).returncode == 0
    assert "has_journal" in _run("tune2fs", "-l", str(image)).stdout
    assert _blkid(image, "TYPE") == kind
    assert not size_problems(kind, lim.journal_min_bytes)  # type: ignore[arg-type]
    assert mkfs(lim.journal_min_bytes - SECTOR).returncode == 0
    assert "has_journal" not in _run("tune2fs", "-l", str(image)).stdout
    assert _blkid(image, "TYPE") == ("ext2" if kind == "ext3" else "ext4")
    assert [p.what for p in size_problems(kind, lim.journal_min_bytes - SECTOR)] == ["no-journal"]  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["ext2", "ext3"])
def test_ext_maximum_without_64bit(kind: str, tmp_path: Path) -> None:
    """mke2fs -n (nothing written) at 16 TiB less a sector, and at 16 TiB."""
    high = LIMITS[kind].max_bytes  # type: ignore[index]
    assert high is not None
    image = _file(tmp_path, MIB)
    top = high // SECTOR * SECTOR
    assert _run(f"mkfs.{kind}", "-n", "-F", "-q", str(image), f"{top // 1024}k").returncode == 0
    past = _run(f"mkfs.{kind}", "-n", "-F", "-q", str(image), f"{(top + SECTOR) // 1024}k")
    assert past.returncode != 0 and "too big to be expressed" in past.stderr
    assert not size_problems(kind, top)  # type: ignore[arg-type]
    assert [p.what for p in size_problems(kind, top + SECTOR)] == ["too-large"]  # type: ignore[arg-type]


def test_swap_minimum(tmp_path: Path) -> None:
    low = LIMITS["swap"].min_bytes
    assert _run("mkswap", str(_file(tmp_path, low))).returncode == 0
    past = _run("mkswap", str(_file(tmp_path, low - 4096)))
    assert past.returncode != 0 and "at least 40 KiB" in past.stderr
    assert size_problems("swap", low - 4096) and not size_problems("swap", low)


def _mkfs_fat(tmp: Path, size: int, bits: int) -> tuple[int, int] | None:
    """mkfs.vfat as the build runs it (in a file of the partition's size,
    hidden sectors as at 1 MiB): (sectors per cluster, clusters) from the
    boot sector, or None when it refuses."""
    image = _file(tmp, size, "fat.img")
    heads, secs = fat_chs(size // SECTOR)
    cluster = ["-s", str(fat32_cluster_sectors(size))] if bits == 32 else []
    proc = _run("mkfs.vfat", "-F", str(bits), "-S", "512", "-g", f"{heads}/{secs}", *cluster,
                "-h", "2048", str(image), str(size // 1024))
    if proc.returncode != 0:
        return None
    with open(image, "rb") as fh:
        boot = fh.read(SECTOR)
    bps, spc, reserved, fats, root, total16, _media, fat16 = struct.unpack_from("<HBHBHHBH", boot, 11)
    total = total16 or struct.unpack_from("<I", boot, 32)[0]
    fat_len = fat16 or struct.unpack_from("<I", boot, 36)[0]
    data = total - (reserved + fats * fat_len + (root * 32 + bps - 1) // bps)
    return spc, data // spc


FAT_SIZES = sorted({m * MIB + d for m in (1, 8, 9, 16, 32, 33, 34, 64, 128, 256, 260, 261, 512,
                                          1024, 2047, 2048, 4095, 4096)
                    for d in (-SECTOR, 0, SECTOR)} | {12345 * SECTOR, 99999 * SECTOR})


@pytest.mark.parametrize("bits", [16, 32])
def test_fat_geometry_is_what_mkfs_vfat_makes(bits: int, tmp_path: Path) -> None:
    """mkfs.fat's own arithmetic, ported: the same cluster size and count
    for every size around the limits, and the same refusals."""
    for size in FAT_SIZES:
        predicted = fat_geometry(size, bits)
        got = _mkfs_fat(tmp_path, size, bits)
        assert got == (None if predicted is None else
                       (predicted.cluster_sectors, predicted.clusters)), size


@pytest.mark.parametrize("kind", ["fat16", "fat32"])
def test_fat_minimum(kind: str, tmp_path: Path) -> None:
    """fat16 from 9 MiB (smaller: mkfs.vfat refuses); fat32 from 33 MiB
    (smaller: mkfs.vfat makes it, with too few clusters, and mtools reads it
    as FAT16 and finds no directory slots)."""
    bits = 16 if kind == "fat16" else 32
    low, _ = fat_range(bits)
    assert -(-low // MIB) == (9 if bits == 16 else 33)
    assert _mkfs_fat(tmp_path, low, bits) is not None
    assert not size_problems(kind, low)  # type: ignore[arg-type]
    below = low - SECTOR
    assert size_problems(kind, below)  # type: ignore[arg-type]
    made = _mkfs_fat(tmp_path, below, bits)
    if bits == 16:
        assert made is None
        return
    assert made is not None and made[1] < 65525
    env = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}
    target = str(tmp_path / "fat.img")
    proc = subprocess.run(["mmd", "-i", target, "::/dir"], capture_output=True, text=True,
                          env=env, check=False)
    assert proc.returncode != 0 and "No directory slots" in proc.stderr + proc.stdout


def test_fat16_maximum(tmp_path: Path) -> None:
    _, high = fat_range(16)
    assert high // MIB == 4095
    assert _mkfs_fat(tmp_path, high, 16) is not None
    assert _mkfs_fat(tmp_path, high + SECTOR, 16) is None
    assert [p.what for p in size_problems("fat16", high + SECTOR)] == ["too-large"]


@pytest.mark.skipif(not os.environ.get("PARTWRIGHT_SLOW_TESTS"), reason="writes 512 MiB of FAT"
                    " (PARTWRIGHT_SLOW_TESTS=1 runs it)")
def test_fat32_maximum(tmp_path: Path) -> None:
    high = LIMITS["fat32"].max_bytes
    assert high is not None
    top = high // SECTOR * SECTOR
    image = _file(tmp_path, top + SECTOR)
    heads, secs = fat_chs(top // SECTOR)
    ok = _run("mkfs.vfat", "-F", "32", "-S", "512", "-g", f"{heads}/{secs}", "-s", "64", str(image),
              str(top // 1024))
    assert ok.returncode == 0 and "target too large" not in ok.stdout
    past = _run("mkfs.vfat", "-F", "32", "-S", "512", "-g", f"{heads}/{secs}", "-s", "64",
                str(image), str((top + SECTOR) // 1024))
    assert "target too large" in past.stdout + past.stderr
    assert size_problems("fat32", top + SECTOR)


LABEL_TOOLS = {
    "ext4": lambda p, label: ["mkfs.ext4", "-F", "-q", "-L", label, p],
    "xfs": lambda p, label: ["mkfs.xfs", "-q", "-f", "-L", label, p],
    "btrfs": lambda p, label: ["mkfs.btrfs", "-q", "-f", "-L", label, p],
    "fat16": lambda p, label: ["mkfs.vfat", "-F", "16", "-n", label, p],
    "swap": lambda p, label: ["mkswap", "-L", label, p],
}


@pytest.mark.parametrize("kind", sorted(LABEL_TOOLS))
def test_label_length(kind: str, tmp_path: Path) -> None:
    """At the limit the label is written whole; one byte more and the tool
    refuses it or cuts it (and the planner says so)."""
    limit = LIMITS[kind].label_bytes  # type: ignore[index]
    assert limit is not None
    image = _file(tmp_path, 400 * MIB if kind == "xfs" else 128 * MIB)
    for label, whole in (("L" * limit, True), ("L" * (limit + 1), False)):
        proc = _run(*LABEL_TOOLS[kind](str(image), label))
        written = _blkid(image, "LABEL") if proc.returncode == 0 else None
        assert (written == label) is whole, (label, proc.returncode, written)
        assert bool(label_problems(kind, label)) is not whole  # type: ignore[arg-type]


def test_vfat_label_characters(tmp_path: Path) -> None:
    image = _file(tmp_path, 16 * MIB)
    for label in ("A.B", "A/B", "A:B", "ÄB"):
        assert _run("mkfs.vfat", "-F", "16", "-n", label, str(image)).returncode != 0, label
        assert label_problems("fat16", label), label
    assert _run("mkfs.vfat", "-F", "16", "-n", "EFI BOOT", str(image)).returncode == 0
    assert not label_problems("fat16", "EFI BOOT")
