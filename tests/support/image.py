"""Shared pieces of the image tests: layouts, a sparse digest, tool checks."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.host import sparse
from engine.layout.model import Layout, Partition
from tests.support.cli import cli
from tests.support.paths import ROOT

__all__ = ["MIXED_LAYOUT", "MSDOS_LAYOUT", "ROOT", "cli", "content_sha256", "file_sha256", "holds_bytes", "missing_tools",
           "needs_tools", "sparse_sha256", "write_seed_description"]

# msdos with an extended partition: 3 primaries, extended, 5 logical ones
MSDOS_LAYOUT = Layout(
    firmware="bios", filesystem="ext4", bootpartition=True, bootfilesystem="ext2",
    boot_clone=1, root_clone=1, dosparttable_extended_layout=True,
    oem_swap=True, oem_swapsize=64,
    partitions=(
        Partition(name="home", size_mb=64, mountpoint="/home", filesystem="ext3", clone=1),
        Partition(name="srv", size_mb=32, mountpoint="/srv", filesystem="ext4"),
    ),
    oem_systemsize=256, oem_resize=False, size_mb=2048,
)

# btrfs root and data, FAT32 and FAT16 custom partitions, the ESP, swap: all cloned but swap
MIXED_LAYOUT = Layout(
    firmware="efi", filesystem="btrfs", root_clone=1, oem_swap=True, oem_swapsize=32,
    partitions=(
        Partition(name="data", size_mb=160, mountpoint="/data", filesystem="btrfs", clone=1),
        Partition(name="fw", size_mb=64, mountpoint="/fw", filesystem="fat32", clone=1),
        Partition(name="scratch", size_mb=16, mountpoint="/scratch", filesystem="fat16", clone=1),
    ),
    oem_systemsize=256, oem_resize=False, size_mb=2048,
)

TOOLS = ("sfdisk", "blkid", "mkfs.ext4", "mkfs.xfs", "mkfs.btrfs", "mkfs.vfat", "mkswap",
         "tune2fs", "xfs_admin", "xfs_db", "xfs_repair", "btrfstune", "e2fsck", "fsck.vfat",
         "mcopy", "mmd")


def missing_tools(*extra: str) -> list[str]:
    return [t for t in (*TOOLS, *extra)
            if shutil.which(t) is None and shutil.which(t, path="/usr/sbin:/sbin") is None]


needs_tools = pytest.mark.skipif(
    bool(missing_tools()), reason=f"filesystem tools missing: {missing_tools()} (run make)"
)


def blkid(path: str | Path, offset: int = 0, size: int | None = None) -> dict[str, str]:
    """What `blkid -p` (probing the bytes, no cache) finds at `offset` of `path`,
    within `size` bytes if given: {"TYPE": "ext4", "UUID": ...}; {} for nothing."""
    argv = ["blkid", "-p", "-o", "export", "-O", str(offset)]
    if size is not None:
        argv += ["-S", str(size)]
    out = subprocess.run([*argv, str(path)], capture_output=True, text=True, check=False).stdout
    return dict(ln.split("=", 1) for ln in out.splitlines() if "=" in ln)


def sparse_sha256(path: str | Path) -> str:
    """sha256 over the size, the data extents and their bytes: two files
    with equal digests have equal bytes (holes read as zeros), without
    reading 100 GiB of holes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        fd = fh.fileno()
        size = os.fstat(fd).st_size
        digest.update(f"{size}\n".encode())
        for offset, length in sparse.extents(fd, 0, size):
            digest.update(f"{offset}+{length}\n".encode())
            pos = offset
            while pos < offset + length:
                chunk = os.pread(fd, min(1 << 20, offset + length - pos), pos)
                digest.update(chunk)
                pos += len(chunk)
    return digest.hexdigest()


def content_sha256(path: str | Path, block: int = 64 << 10) -> str:
    """sha256 over the size and every `block` bytes that are not all zeros,
    each with its offset: two files have equal digests exactly when their
    bytes are equal (holes read as zeros), whatever their extents are, and
    only the blocks data extents touch are read (a 1 GiB image with 50 MiB
    of data: about 50 MiB)."""
    zeros = bytes(block)
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        fd = fh.fileno()
        size = os.fstat(fd).st_size
        digest.update(f"{size}\n".encode())
        done = 0  # every block below this one is hashed (or was all zeros)
        for offset, length in sparse.extents(fd, 0, size):
            pos = max(offset - offset % block, done)
            end = min(-(-(offset + length) // block) * block, size)
            while pos < end:
                chunk = os.pread(fd, min(16 * block, end - pos), pos)
                if not chunk:
                    break
                for at in range(0, len(chunk), block):
                    piece = chunk[at:at + block]
                    if piece != zeros[:len(piece)]:
                        digest.update(f"{pos + at}\n".encode())
                        digest.update(piece)
                pos += len(chunk)
            done = max(done, pos)
    return digest.hexdigest()


def holds_bytes(path: str | Path, needle: bytes) -> bool:
    """Whether `needle` (not all zeros) is anywhere in the file, read extent by
    extent (a hole holds only zeros), each read overlapping the last by
    len(needle) - 1 bytes so that no match across two reads is missed."""
    assert needle.strip(b"\0"), "a needle of zeros is in every hole"
    with open(path, "rb") as fh:
        fd = fh.fileno()
        for offset, length in sparse.extents(fd, 0, os.fstat(fd).st_size):
            tail = b""
            pos = offset
            while pos < offset + length:
                chunk = os.pread(fd, min(4 << 20, offset + length - pos), pos)
                if not chunk:
                    break
                if needle in tail + chunk:
                    return True
                tail = chunk[-(len(needle) - 1):] if len(needle) > 1 else b""
                pos += len(chunk)
    return False


def file_sha256(path: str | Path) -> str:
    """sha256 of every byte, as sha256sum prints it."""
    out = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True)
    return out.stdout.split()[0]


def write_seed_description(path: Path) -> Path:
    from engine.layout.example import EXAMPLE_TYPE_XML

    path.write_text(EXAMPLE_TYPE_XML)
    return path
