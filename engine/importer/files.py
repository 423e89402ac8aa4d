"""/etc/fstab and /config.partids from a root filesystem in an image, unmounted.

ext2/3/4: `debugfs -R "cat PATH" IMAGE?offset=N` reads the image in place.
xfs: the partition's data extents are copied to a sparse scratch file for
`xfs_db -r` (`path`, `bmap`, the superblock's agblocks and blocksize), and
the file's blocks are read from there. btrfs: the same scratch copy for
`btrfs restore --path-regex` into a scratch directory. Nothing is mounted,
no loop device is needed, the image is opened read-only.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile

from engine.host import sparse
from engine.host.tools import run

ROOT_FILESYSTEMS = ("ext2", "ext3", "ext4", "xfs", "btrfs")
MAX_BYTES = 1 << 20  # an fstab or partids file larger than this is not read
_BMAP = re.compile(r"data offset (\d+) startblock \d+ \((\d+)/(\d+)\) count (\d+)")


def _tool(name: str) -> bool:
    return bool(shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin"))


def read_files(image: str, offset: int, size: int, fstype: str,
               paths: tuple[str, ...]) -> dict[str, str]:
    """The text of each of `paths` found in the filesystem at [offset, offset+size)."""
    if fstype.startswith("ext"):
        return _ext(image, offset, paths)
    if fstype not in ("xfs", "btrfs"):
        return {}
    tool = "xfs_db" if fstype == "xfs" else "btrfs"
    if not _tool(tool):
        return {}
    scratch = tempfile.mkdtemp(prefix="partwright-import-")
    try:
        copy = os.path.join(scratch, "fs")
        with open(image, "rb") as img:
            sparse.extract(img.fileno(), offset, size, copy)
        return _xfs(copy, paths) if fstype == "xfs" else _btrfs(copy, scratch, paths)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _ext(image: str, offset: int, paths: tuple[str, ...]) -> dict[str, str]:
    if not _tool("debugfs"):
        return {}
    found = {}
    for path in paths:
        proc = run(["debugfs", "-R", f"cat {path}", f"{image}?offset={offset}"], check=False)
        if proc.returncode == 0 and "not found" not in proc.stderr and proc.stdout:
            found[path] = proc.stdout[:MAX_BYTES]
    return found


def _xfs(copy: str, paths: tuple[str, ...]) -> dict[str, str]:
    sb = run(["xfs_db", "-r", "-c", "sb 0", "-c", "p agblocks blocksize", copy], check=False)
    fields = dict(re.findall(r"(\w+) = (\d+)", sb.stdout))
    if "agblocks" not in fields or "blocksize" not in fields:
        return {}
    agblocks, bs = int(fields["agblocks"]), int(fields["blocksize"])
    found = {}
    with open(copy, "rb") as fs:
        for path in paths:
            proc = run(["xfs_db", "-r", "-c", f"path {path}", "-c", "bmap", "-c", "p core.size",
                        copy], check=False)
            size = re.search(r"core\.size = (\d+)", proc.stdout)
            if proc.returncode != 0 or size is None or "no such file" in proc.stderr.lower():
                continue
            length = min(int(size.group(1)), MAX_BYTES)
            data = bytearray(length)
            for off, ag, agbno, count in _BMAP.findall(proc.stdout):
                at = (int(ag) * agblocks + int(agbno)) * bs
                chunk = os.pread(fs.fileno(), int(count) * bs, at)
                pos = int(off) * bs
                if pos < length:
                    data[pos:pos + len(chunk)] = chunk[:length - pos]
            found[path] = bytes(data[:length]).decode("utf-8", "replace")
    return found


def _btrfs(copy: str, scratch: str, paths: tuple[str, ...]) -> dict[str, str]:
    out = os.path.join(scratch, "out")
    os.mkdir(out)
    parts = "|".join(re.escape(p.lstrip("/")).replace("/", "(|/") + ")" * p.lstrip("/").count("/")
                     for p in paths)
    run(["btrfs", "restore", "-i", "--path-regex", f"^/(|{parts})$", copy, out], check=False)
    found = {}
    for path in paths:
        target = os.path.join(out, path.lstrip("/"))
        if os.path.isfile(target):
            with open(target, encoding="utf-8", errors="replace") as fh:
                found[path] = fh.read(MAX_BYTES)
    return found


def parse_fstab(text: str) -> tuple[tuple[str, str, str], ...]:
    """(device spec, mountpoint, type) of each line."""
    rows = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 3:
            rows.append((fields[0], fields[1], fields[2]))
    return tuple(rows)
