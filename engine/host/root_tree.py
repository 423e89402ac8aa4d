"""The root tree's size as KIWI measures it for a disk without `<size>`.

KIWI (SystemSize) runs `du -s --apparent-size --block-size 1` over the tree,
leaving out the top-level proc, sys and dev, and truncates to whole MiB; for
ext filesystems it also counts `find TREE | wc -l` entries (two inodes of
256 bytes each). Data below a custom partition's mountpoint is measured the
same way and taken off that partition's share of the disk.
"""

from __future__ import annotations

import os
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
