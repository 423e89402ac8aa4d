"""Helpers of the import and diff tests: tables written without filesystems,
tables compared, small disks."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from engine.host import sparse
from engine.image.identity import make_identity
from engine.image.table import write_table
from engine.layout.model import Layout
from engine.plan.model import Plan
from engine.plan.planner import plan

Row = tuple[int, int, int, str, str | None]


def rows(p: Plan) -> list[Row]:
    """What a round trip must keep: number, start, end, code, name."""
    return [(e.number, e.start, e.end, e.code, e.name) for e in p.entries]


def table_image(path: Path, p: Plan) -> Path:
    """A sparse image holding only the plan's table, and IMAGE.partids
    beside it, as a build leaves it (no filesystems: fast)."""
    with open(path, "wb") as fh:
        fh.truncate(p.disk_bytes)
    write_table(str(path), p, make_identity("import"))
    Path(f"{path}.partids").write_text(p.partids_text())
    return path


MIN_FS_MB = {"xfs": 300, "btrfs": 128}  # the smallest filesystem mkfs makes


def small(layout: Layout) -> Layout | None:
    """The layout on a small disk (so its build is fast), with the same
    partitions: None when no small disk holds them."""
    want = [(e.key, e.role) for e in plan(layout).entries]
    least = MIN_FS_MB.get(layout.filesystem or "", 32)
    spare = max(MIN_FS_MB.get(layout.spare_part_fs or "", 32), 64)
    for size in (768, 1536, 3072, 6144):
        system = layout.oem_systemsize
        cand = layout.with_changes(
            size_mb=size if layout.size_mb is not None else None,
            unpartitioned_mb=min(layout.unpartitioned_mb, 64) if layout.unpartitioned_mb else None,
            oem_systemsize=max(min(system, size // 4), least) if system else system,
            spare_part_mb=min(layout.spare_part_mb, spare) if layout.spare_part_mb else None,
            root_mbytes=max(64, least) if layout.size_mb is None else layout.root_mbytes,
            overlayroot_readonly_partsize=min(layout.overlayroot_readonly_partsize, 128)
            if layout.overlayroot_readonly_partsize else None)
        p = plan(cand)
        if p.ok and [(e.key, e.role) for e in p.entries] == want and all(
                e.sectors >= MIN_FS_MB.get(e.filesystem or "", 1) * 2048 for e in p.entries):
            return cand
    return None


def region_sha256(path: str | Path, offset: int, length: int) -> str:
    """sha256 of [offset, offset+length) as bytes (holes read as zeros),
    reading only the data extents: nonzero 4 KiB blocks and their offsets."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        fd = fh.fileno()
        for start, size in sparse.extents(fd, offset, length):
            pos = start
            while pos < start + size:
                chunk = os.pread(fd, min(1 << 20, start + size - pos), pos)
                for i in range(0, len(chunk), 4096):
                    block = chunk[i:i + 4096]
                    if block.count(0) != len(block):
                        digest.update(f"{pos + i - offset}:".encode())
                        digest.update(block)
                pos += len(chunk)
    digest.update(f"length {length}".encode())
    return digest.hexdigest()


def small_tree(root: Path) -> Path:
    """A root tree with files for /, /home and /boot/efi (the seed's mountpoints)."""
    for d in ("etc", "usr/bin", "home/user", "boot/efi/EFI/BOOT"):
        (root / d).mkdir(parents=True)
    (root / "etc/hostname").write_text("partwright\n")
    (root / "usr/bin/hello").write_text("#!/bin/sh\necho hello\n")
    (root / "home/user/notes.txt").write_text("home data\n" * 100)
    (root / "boot/vmlinuz").write_bytes(b"kernel" * 1000)
    (root / "boot/efi/EFI/BOOT/BOOTX64.EFI").write_bytes(b"MZ" + bytes(100))
    return root
