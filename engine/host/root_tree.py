"""The root tree's size as KIWI measures it for a disk without `<size>`.

KIWI (SystemSize) runs `du -s --apparent-size --block-size 1` over the tree,
leaving out the top-level proc, sys and dev, and truncates to whole MiB; for
ext filesystems it also counts `find TREE | wc -l` entries (two inodes of
256 bytes each). Data below a custom partition's mountpoint is measured the
same way and taken off that partition's share of the disk.

`entries(top, skip)` lists what a part of the tree holds (type, owner, link
count, size, mtime, extended attribute names) for the rules of what a
filesystem can hold (engine.plan.tree_rules).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from engine.errors import PartwrightError

NODEV = ("proc", "sys", "dev")  # KIWI's get_exclude_list_for_non_physical_devices


@dataclass(frozen=True)
class TreeSize:
    mbytes: int  # du --apparent-size, whole MiB (truncated)
    files: int  # find | wc -l: every entry, the top directory included


def measure(top: str) -> TreeSize:
    """du's apparent size (each inode once, directories and symlinks
    included, proc/sys/dev below `top` left out) and find's entry count."""
    if not os.path.isdir(top):
        raise PartwrightError(f"{top}: the root tree is not a directory")
    excluded = {os.path.join(top, name) for name in NODEV}
    seen: set[tuple[int, int]] = set()
    total = 0
    files = 0
    try:
        st = os.lstat(top)
    except OSError as exc:
        raise PartwrightError(f"{top}: cannot read the root tree: {exc.strerror}") from None
    total += st.st_size
    seen.add((st.st_dev, st.st_ino))
    files += 1
    stack = [(top, False)]
    while stack:
        path, skip = stack.pop()
        try:
            entries = list(os.scandir(path))
        except OSError as exc:
            raise PartwrightError(f"{path}: cannot read the root tree: {exc.strerror}") from None
        for entry in entries:
            files += 1
            inside_excluded = skip or entry.path in excluded
            st = entry.stat(follow_symlinks=False)
            if not inside_excluded and (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
            if entry.is_dir(follow_symlinks=False):
                stack.append((entry.path, inside_excluded))
    return TreeSize(total // 1048576, files)


_KINDS = {stat.S_IFREG: "file", stat.S_IFDIR: "dir", stat.S_IFLNK: "symlink"}


@dataclass(frozen=True)
class TreeEntry:
    """One path of a root tree, as the rules of engine.plan.tree_rules read it."""

    path: bytes  # relative to the part scanned; b"" is its top
    kind: str  # file dir symlink special
    uid: int
    gid: int
    nlink: int
    size: int
    mtime_ns: int
    xattrs: tuple[bytes, ...]


def entries(top: str | bytes, skip: Collection[bytes] = ()) -> Iterator[TreeEntry]:
    """Every path below `top` (the top itself first); the paths in `skip`
    (relative: the mountpoints of other partitions) and what is below them
    are left out."""
    base = os.fsencode(top)
    left_out = {s.strip(b"/") for s in skip}
    stack = [b""]
    while stack:
        rel = stack.pop()
        full = os.path.join(base, rel) if rel else base
        try:
            st = os.lstat(full)
            names = os.listxattr(full, follow_symlinks=False)
        except OSError as exc:
            if isinstance(exc, FileNotFoundError):
                continue
            names = []
            st = os.lstat(full)
        kind = _KINDS.get(stat.S_IFMT(st.st_mode), "special")
        yield TreeEntry(rel, kind, st.st_uid, st.st_gid, st.st_nlink, st.st_size,
                        st.st_mtime_ns, tuple(sorted(os.fsencode(n) for n in names)))
        if kind == "dir":
            for name in sorted(os.listdir(full), reverse=True):
                child = os.path.join(rel, name) if rel else name
                if child not in left_out:
                    stack.append(child)
