"""A root tree's measurements as planner inputs (`--root-tree DIR`).

engine.host.root_tree measures the tree as KIWI does; this puts the numbers
into the Layout fields the disk-size estimate reads (root_mbytes,
root_files, partition_data_mb), with each custom partition's filesystem
factor applied to the data below its mountpoint.

`with_tree_diagnostics(plan, top, fill_refusals)` adds what the plan's
filesystems cannot hold of the tree (vfat: owners, links, special files,
names; squashfs: ACLs) as diagnostics, so that `preview --root-tree` says it
before any write; and, from `fill_refusals` (what the caller found the host
cannot loop-mount: engine.host.mount.loop_mount_refusals(KERNEL_FILLED)),
the xfs and btrfs partitions a tree cannot be written into here.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping
from dataclasses import replace

from engine.host.root_tree import entries, measure
from engine.layout.model import Layout
from engine.plan.diagnostics import ordered
from engine.plan.disk_size import root_filesystem_mbytes
from engine.plan.fs_diagnostics import KIWI_MOUNTS, entry_kind
from engine.plan.model import Diagnostic, Plan
from engine.plan.tree_rules import problems

KERNEL_FILLED = ("xfs", "btrfs")  # a root tree goes in through a loop mount (as KIWI does)


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


def tree_mountpoints(plan: Plan) -> dict[str, tuple[str, str]]:
    """Partition key -> (mountpoint, filesystem kind) of every origin that
    holds part of the root tree (with an overlay root: the read-only one)."""
    found: dict[str, tuple[str, str]] = {}
    keys = {e.key for e in plan.entries}
    for entry in plan.entries:
        if entry.is_clone:
            continue
        kind = entry_kind(entry.role, entry.filesystem, entry.size_bytes)
        mountpoint = entry.mountpoint or KIWI_MOUNTS.get(entry.role)
        if entry.role == "readonly":
            mountpoint = "/"
        elif entry.role == "root" and "readonly" in keys:
            continue
        if kind is None or kind == "swap" or not mountpoint or not mountpoint.startswith("/"):
            continue
        found[entry.key] = (posixpath.normpath(mountpoint), kind)
    return found


def tree_diagnostics(plan: Plan, top: str,
                     fill_refusals: Mapping[str, str] | None = None) -> list[Diagnostic]:
    """What the filesystems of `plan` cannot hold of the tree at `top`
    (engine.plan.tree_rules), and which of them cannot be filled on this
    host (`fill_refusals`: filesystem kind -> why the host cannot loop-mount
    it), before anything is written."""
    mounts = tree_mountpoints(plan)
    names = {e.key: f"partition {e.number} ({e.name or e.key})" for e in plan.entries}
    out: list[Diagnostic] = []
    for key, (mp, kind) in mounts.items():
        reason = (fill_refusals or {}).get(kind)
        if reason is not None:
            out.append(Diagnostic(
                "tree-needs-loop-mount", "error",
                f"{names[key]}: filling {kind} from a root tree needs the kernel to write it"
                f" through a loop mount, as KIWI does: {reason}", key,
                f"build as root where loop devices exist, or make {mp} ext4"
                " (mkfs.ext4 -d needs no kernel)"))
        if kind not in ("fat16", "fat32", "squashfs"):
            continue  # ext2/3/4, xfs and btrfs hold everything
        source = os.path.join(top, mp.lstrip("/")) if mp != "/" else top
        if not os.path.isdir(source):
            continue
        inside = mp.rstrip("/") + "/"
        nested = [other for k, (other, _) in mounts.items()
                  if k != key and (mp == "/" or other.startswith(inside)) and other != mp]
        skip = [os.fsencode(other[len(mp):].lstrip("/")) for other in nested]
        for finding in problems(kind, entries(source, skip)):
            error = finding.severity == "error"
            out.append(Diagnostic(
                "tree-unsupported" if error else "tree-reduced", finding.severity,
                f"{names[key]}, {kind} at {mp}, cannot hold {finding.reason}:"
                f" {finding.shown()} ({len(finding.paths)} below {mp})", key,
                f"leave them out of the tree below {mp}, or use a filesystem that holds them"
                if error else None))
    return out


def with_tree_diagnostics(plan: Plan, top: str,
                          fill_refusals: Mapping[str, str] | None = None) -> Plan:
    """`plan` with `tree_diagnostics` added among its diagnostics."""
    found = tree_diagnostics(plan, top, fill_refusals)
    if not found:
        return plan
    return replace(plan, diagnostics=tuple(ordered([*plan.diagnostics, *found])))
