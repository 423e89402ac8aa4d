"""What a build refuses before it writes a byte, each as one line.

- the plan has errors (exit status 1: the layout's errors, nothing built)
- a format, output directory or tool that is not there
- an output that is a file the build reads: the description (the caller
  says which files it read), a LUKS key file, anything in the root tree,
  by path and by device and inode (a symlink, a hard link); or an output
  that exists and is not a regular file (a block device, /dev/null)
- a disk larger than a file can be, or an image that cannot fit the free
  space of the output's filesystem (statvfs, against a lower-bound estimate
  of what the sparse image allocates); the output filesystem's largest file
  is found when the image file is sized (`too_large`)
- a root tree that is missing or does not fit its partitions
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence

from engine.errors import PartwrightError
from engine.host.tools import which
from engine.image import fill, populate
from engine.image.filesystems import EXT, FsSpec
from engine.plan.model import Plan
from engine.plan.root_tree import tree_diagnostics

MAX_FILE_BYTES = 2**63 - 1  # off_t: no file on Linux can be larger
MIB = 1 << 20
FS_OVERHEAD = MIB  # what an empty filesystem allocates at least (superblocks, journal head)


class PlanHasErrors(PartwrightError):
    """The plan has error diagnostics: nothing is built (exit status 1)."""

    exit_status = 1


def refuse_plan_errors(plan: Plan) -> None:
    """The layout's errors, every one of them, before anything else is looked at."""
    if not plan.errors:
        return
    if len(plan.errors) == 1:
        raise PlanHasErrors(f"the layout has errors, nothing built: {plan.errors[0].message}")
    listed = "; ".join(f"({i}) {e.message}" for i, e in enumerate(plan.errors, 1))
    raise PlanHasErrors(f"the layout has {len(plan.errors)} errors, nothing built: {listed}")


def needed_tools(specs: Sequence[FsSpec], fmt: str) -> list[str]:
    tools = {"sfdisk", "blkid"}
    for spec in specs:
        if spec.kind in EXT:
            tools |= {f"mkfs.{spec.kind}", "tune2fs", "e2fsck"}
        elif spec.kind == "xfs":
            tools |= {"mkfs.xfs", "xfs_admin", "xfs_repair", "xfs_db"}
        elif spec.kind == "btrfs":
            tools |= {"mkfs.btrfs", "btrfstune", "btrfs"}
        elif spec.kind.startswith("fat"):
            tools |= {"mkfs.vfat", "fsck.vfat", "mcopy", "mmd"}
        elif spec.kind == "swap":
            tools |= {"mkswap"}
        elif spec.kind == "squashfs":
            tools |= {"mksquashfs", "unsquashfs"}
    if fmt == "qcow2":
        tools.add("qemu-img")
    return sorted(tools)


def root_mounts(specs: Sequence[FsSpec]) -> dict[int, str]:
    """Partition number -> mountpoint of every origin filesystem a root tree fills."""
    return populate.tree_mounts(specs)


def check_inputs(plan: Plan, output: str, fmt: str, root_tree: str | None,
                 specs: Sequence[FsSpec], reads: Iterable[str] = ()) -> None:
    """Everything that can be refused before a byte is written; `reads`: the
    files the build reads besides the root tree (the description, key files)."""
    if fmt not in ("raw", "qcow2"):
        raise PartwrightError(f"unknown image format {fmt!r} (raw or qcow2)")
    if plan.disk_bytes > MAX_FILE_BYTES:
        raise PartwrightError(f"the disk is {plan.disk_bytes} bytes: no file can be that large"
                              f" (at most {MAX_FILE_BYTES})")
    directory = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(directory):
        raise PartwrightError(f"output directory {directory} does not exist")
    if os.path.isdir(output):
        raise PartwrightError(f"output {output} is a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PartwrightError(f"output directory {directory} is not writable")
    refuse_reading_output(output, reads, root_tree)
    for tool in needed_tools(specs, fmt):
        which(tool)
    need: dict[int, int] = {}
    if root_tree is not None:
        mounts = root_mounts(specs)
        if not os.path.isdir(root_tree):
            raise PartwrightError(f"root tree {root_tree} does not exist or is not a directory")
        if not any(mp == "/" for mp in mounts.values()):
            raise PartwrightError("--root-tree needs a root filesystem in the layout")
        tree_errors = [d for d in tree_diagnostics(plan, root_tree) if d.severity == "error"]
        if tree_errors:
            raise PlanHasErrors("the root tree does not fit the layout's filesystems, nothing"
                                f" built: {'; '.join(d.message for d in tree_errors)}")
        need = populate.check_tree(root_tree, mounts, {s.number: s.size for s in specs})
        fill.check_kernel_fill([s for s in specs if s.number in mounts])
    check_space(directory, estimate_bytes(specs, need, fmt, root_tree, directory))


def refuse_reading_output(output: str, reads: Iterable[str], root_tree: str | None) -> None:
    """Refuse an output that is one of the files the build reads."""
    real = os.path.realpath(output)
    try:
        found: os.stat_result | None = os.stat(output)
    except OSError:
        found = None
    if found is not None and not stat.S_ISREG(found.st_mode):
        raise PartwrightError(f"output {output} exists and is not a regular file: the build"
                              " writes a new file there, give another path")
    for path in reads:
        try:
            same = os.path.samestat(os.stat(path), found) if found is not None else False
        except OSError:
            same = False
        if same or os.path.realpath(path) == real:
            how = "" if os.path.abspath(path) == os.path.abspath(output) else f" ({path})"
            raise PartwrightError(f"output {output} is a file the build reads{how}: it would be"
                                  " replaced by the image; give another output path")
    if root_tree is None:
        return
    tree = os.path.realpath(root_tree)
    if real == tree or real.startswith(tree.rstrip(os.sep) + os.sep):
        raise PartwrightError(f"output {output} is inside the root tree {root_tree}: the build"
                              " would read its own image; give a path outside it")
    if found is not None and found.st_nlink > 1:
        for top, _dirs, files in os.walk(root_tree):
            for name in files:
                try:
                    if os.path.samestat(os.lstat(os.path.join(top, name)), found):
                        raise PartwrightError(
                            f"output {output} is a hard link to {os.path.join(top, name)} in the"
                            " root tree: it would be replaced by the image; give another path")
                except FileNotFoundError:
                    continue


def estimate_bytes(specs: Sequence[FsSpec], need: dict[int, int], fmt: str,
                   root_tree: str | None, directory: str) -> int:
    """At least what the build allocates in the output's filesystem: each
    filesystem's metadata and its share of the root tree, again for every
    clone; a staged copy of the tree when it is on another filesystem (a
    hard-link farm otherwise); twice the image for qcow2 (raw, then converted)."""
    total = 0
    for spec in specs:
        origin = spec.clone_of if spec.clone_of is not None else spec.number
        total += FS_OVERHEAD + need.get(origin, 0)
    if root_tree is not None and os.stat(root_tree).st_dev != os.stat(directory).st_dev:
        total += sum(need.values())
    return total * 2 if fmt == "qcow2" else total


def check_space(directory: str, needed: int) -> None:
    """Refuse when the filesystem of `directory` has less free space than `needed`."""
    try:
        vfs = os.statvfs(directory)
    except OSError:
        return
    free = vfs.f_bavail * vfs.f_frsize
    if needed > free:
        raise PartwrightError(
            f"output directory {directory} has {free // MIB} MiB free, the image needs at"
            f" least {-(-needed // MIB)} MiB")


def too_large(fd: int, directory: str, size: int) -> PartwrightError:
    """The one line for an image file of `size` bytes that the output's
    filesystem refused (EFBIG): the largest it takes, found by trying."""
    low, high = 0, size  # low fits, high does not
    while high - low > MIB:
        mid = (low + high) // 2 // MIB * MIB
        try:
            os.ftruncate(fd, mid)
            low = mid
        except OSError:
            high = mid
    os.ftruncate(fd, 0)
    return PartwrightError(
        f"the filesystem of {directory} cannot hold a file of {size} bytes (the disk image):"
        f" its largest file is about {low // MIB} MiB; build into another filesystem")
