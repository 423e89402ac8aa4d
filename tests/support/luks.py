"""What the LUKS tests share (test-only): a container's place in the test
image, its passphrase, and the tools' own views of a region (luksDump,
blkid, mkfs, fsck), independent of engine/image/luks."""

from __future__ import annotations

import subprocess
from pathlib import Path

from engine.host import sparse
from tests.support.image import blkid as probe

MIB = 1 << 20
SIZE = 48 * MIB
ORIGIN = 1 * MIB
CLONE = 64 * MIB
PASS = "Zebra-Quartz-7731-unique-passphrase"


def extract(image: Path, offset: int, size: int, target: Path) -> Path:
    """The region as a file of its own, for the tools (independent of luks.py)."""
    with open(image, "rb") as src:
        sparse.extract(src.fileno(), offset, size, str(target))
    return target


def dump(image: Path, offset: int, tmp: Path) -> str:
    region = extract(image, offset, SIZE, tmp / f"dump{offset}.img")
    try:
        return subprocess.run(["cryptsetup", "luksDump", str(region)], capture_output=True,
                              text=True, check=True).stdout
    finally:
        region.unlink()


def dumped_uuid(text: str) -> str:
    return next(ln.split(":", 1)[1].strip() for ln in text.splitlines()
                if ln.strip().startswith("UUID:"))


def blkid(image: Path, offset: int) -> dict[str, str]:
    return probe(image, offset, SIZE)


def copy_region(image: Path, src: int, dst: int, size: int) -> None:
    with open(image, "r+b") as fh:
        sparse.copy_range(fh.fileno(), src, fh.fileno(), dst, size)


def make_fs(path: Path, size: int, fstype: str) -> str:
    """A filesystem image of `size` bytes; returns its UUID."""
    with open(path, "wb") as fh:
        fh.truncate(size)
    command = {"ext4": ["mkfs.ext4", "-q", "-F", "-L", "ROOT", "-E", "nodiscard"],
               "xfs": ["mkfs.xfs", "-q", "-f", "-L", "ROOT"],
               "btrfs": ["mkfs.btrfs", "-q", "-f", "-L", "ROOT"]}[fstype]
    subprocess.run([*command, str(path)], check=True, capture_output=True)
    return subprocess.run(["blkid", "-s", "UUID", "-o", "value", str(path)], capture_output=True,
                          text=True, check=True).stdout.strip()


def fsck(path: Path, fstype: str) -> subprocess.CompletedProcess[str]:
    command = {"ext4": ["e2fsck", "-fn"], "xfs": ["xfs_repair", "-n"],
               "btrfs": ["btrfs", "check", "--readonly"]}[fstype]
    return subprocess.run([*command, str(path)], capture_output=True, text=True, check=False)
