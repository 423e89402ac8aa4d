"""A root tree's measurements as planner inputs (`--root-tree DIR`).

engine.host.root_tree measures the tree as KIWI does; this puts the numbers
into the Layout fields the disk-size estimate reads (root_mbytes,
root_files, partition_data_mb), with each custom partition's filesystem
factor applied to the data below its mountpoint.
"""

from __future__ import annotations

import os

from engine.host.root_tree import measure
from engine.layout.model import Layout
from engine.plan.disk_size import root_filesystem_mbytes


def with_root_tree(layout: Layout, top: str) -> Layout:
    """`layout` with the root data size, entry count and the data below each
    custom partition's mountpoint taken from the tree at `top`."""
    tree = measure(top)
    below: list[tuple[str, int]] = []
    for part in layout.partitions:
        if not part.mountpoint:
            continue
        sub = os.path.normpath(os.path.join(top, part.mountpoint.lstrip("/")))
        if os.path.isdir(sub):
            size = measure(sub)
            below.append((part.mountpoint,
                          root_filesystem_mbytes(size.mbytes, part.filesystem, size.files)))
        else:
            below.append((part.mountpoint, 0))
    return layout.with_changes(root_mbytes=tree.mbytes, root_files=tree.files,
                               partition_data_mb=tuple(below))
