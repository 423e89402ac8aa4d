"""Which part of `--root-tree DIR` each filesystem holds, and staging it.

Each path of the tree goes to the partition with the longest mountpoint that
contains it (a path under /home goes to the home partition, /boot/efi to the
ESP, the rest to root); the mountpoints of nested partitions stay as empty
directories in their parent. A partition's part is a `Share`: the tree's
directory at its mountpoint, the nested mountpoints to leave out, and the
files the build adds (etc/fstab and /config.partids in the root).

Tools that read a directory (mke2fs -d, mksquashfs, mtools) get a staged
copy of the share (`stage`): new directories with the tree's attributes,
regular and special files as hard links into the tree (copies when the tree
is on another filesystem), so nothing of the tree is written. The kernel
copies (xfs, btrfs: engine.image.fill) read the share directly.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from engine.errors import PartwrightError
from engine.host.tree_copy import copy_attrs

BLOCK = 4096


@dataclass(frozen=True)
class Share:
    """The part of the root tree one filesystem holds."""

    number: int
    mountpoint: str
    source: bytes | None  # the tree's directory at the mountpoint; None: the tree has none
    skip: tuple[bytes, ...] = ()  # nested mountpoints, relative to the mountpoint
    files: tuple[tuple[bytes, bytes], ...] = ()  # (relative path, bytes) the build adds


class _HasMount(Protocol):  # what tree_mounts reads of a filesystem spec
    @property
    def number(self) -> int: ...
    @property
    def role(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def mountpoint(self) -> str | None: ...
    @property
    def clone_of(self) -> int | None: ...


def tree_mounts(specs: Iterable[_HasMount]) -> dict[int, str]:
    """Partition number -> mountpoint of every filesystem that holds part of
    the root tree (origins only, no swap). With an overlay root the tree
    goes to the read-only (squashfs) partition, as KIWI squashes it."""
    origins = [s for s in specs if s.clone_of is None and s.kind != "swap"]
    mounts = {s.number: s.mountpoint for s in origins if s.mountpoint}
    readonly = next((s for s in origins if s.role == "readonly"), None)
    if readonly is not None:
        mounts = {n: mp for n, mp in mounts.items() if mp != "/"}
        mounts[readonly.number] = "/"
    return mounts


def _rel(mountpoint: str) -> str:
    return mountpoint.strip("/")


def _inside(path: str, mountpoint: str) -> bool:
    mp = _rel(mountpoint)
    return mp == "" or path == mp or path.startswith(mp + "/")


def owner_of(rel: str, mountpoints: Mapping[int, str]) -> int:
    """The partition number whose mountpoint holds `rel` (a tree-relative path)."""
    best, best_len = -1, -1
    for number, mp in mountpoints.items():
        if _inside(rel, mp) and len(_rel(mp)) > best_len:
            best, best_len = number, len(_rel(mp))
    if best < 0:
        raise PartwrightError(f"no partition is mounted above /{rel} (the plan has no root mountpoint)")
    return best


def shares(tree: str, mountpoints: Mapping[int, str],
           files: Mapping[int, Mapping[str, bytes]] | None = None) -> dict[int, Share]:
    """The share of every partition in `mountpoints` (number -> mountpoint)."""
    top = os.fsencode(tree)
    out: dict[int, Share] = {}
    for number, mp in mountpoints.items():
        rel = _rel(mp)
        source = os.path.join(top, os.fsencode(rel)) if rel else top
        nested = sorted(
            os.fsencode(_rel(other)[len(rel):].lstrip("/") if rel else _rel(other))
            for n, other in mountpoints.items()
            if n != number and _rel(other) != rel and _inside(_rel(other), mp)
            and owner_of(os.path.dirname(_rel(other)),
                         {k: v for k, v in mountpoints.items() if k != n}) == number)
        added = tuple(sorted((os.fsencode(p.strip("/")), data)
                             for p, data in (files or {}).get(number, {}).items()))
        out[number] = Share(number, mp, source if os.path.isdir(source) else None,
                            tuple(nested), added)
    return out


def usage(tree: str, mountpoints: Mapping[int, str]) -> dict[int, int]:
    """Bytes each partition needs for its share of the tree (file data
    rounded to 4 KiB, plus one block per inode)."""
    need = {number: 0 for number in mountpoints}
    for dirpath, dirnames, filenames in os.walk(tree):
        rel_dir = os.path.relpath(dirpath, tree)
        rel_dir = "" if rel_dir == "." else rel_dir
        for name in dirnames + filenames:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            st = os.lstat(os.path.join(dirpath, name))
            size = -(-st.st_size // BLOCK) * BLOCK if stat.S_ISREG(st.st_mode) else 0
            need[owner_of(rel, mountpoints)] += size + BLOCK
    return need


def check_tree(tree: str, mountpoints: Mapping[int, str], sizes: Mapping[int, int]) -> dict[int, int]:
    """Refuse a missing tree, or one whose share does not fit a partition."""
    if not os.path.isdir(tree):
        raise PartwrightError(f"root tree {tree} is not a directory")
    need = usage(tree, mountpoints)
    for number, used in need.items():
        if used > sizes[number]:
            raise PartwrightError(
                f"root tree: {mountpoints[number]} holds {used // 1024} KiB, more than partition"
                f" {number} ({sizes[number] // 1024} KiB)"
            )
    return need


def stage(share: Share, dest: str, clamp: int | None = None, epoch: int | None = None,
          copy: bool = False) -> str:
    """`dest` (new) holding the share: directories made, everything else
    linked into the tree (copied with `copy`, so that their times can be
    clamped), the nested mountpoints empty, the added files written. Times
    are the tree's (clamped to `clamp`); what the tree lacks is dated `epoch`."""
    top = os.fsencode(dest)
    os.mkdir(top)
    skipped = set(share.skip)
    pending: list[tuple[bytes, bytes]] = []
    if share.source is not None:
        stack = [b""]
        while stack:
            rel = stack.pop()
            src_dir = os.path.join(share.source, rel) if rel else share.source
            for name in sorted(os.listdir(src_dir)):
                child = os.path.join(rel, name) if rel else name
                src, dst = os.path.join(src_dir, name), os.path.join(top, child)
                st = os.lstat(src)
                if stat.S_ISDIR(st.st_mode):
                    os.mkdir(dst, 0o700)
                    pending.append((src, dst))
                    if child not in skipped:
                        stack.append(child)
                elif child in skipped:
                    os.mkdir(dst, 0o755)
                elif copy:
                    _copy(src, dst, st, clamp)
                else:
                    _link_or_copy(src, dst, st)
    for rel in share.skip:  # mountpoints the tree lacks
        path = os.path.join(top, rel)
        if not os.path.lexists(path):
            os.makedirs(path, 0o755)
            if epoch is not None:
                os.utime(path, (epoch, epoch))
    for src, dst in reversed(pending):
        copy_attrs(src, dst, os.lstat(src), clamp)
    if share.source is not None:
        copy_attrs(share.source, top, os.lstat(share.source), clamp)
    elif epoch is not None:
        os.utime(top, (epoch, epoch))
    add_files(top, share, epoch)
    return dest


def _link_or_copy(src: bytes, dst: bytes, st: os.stat_result) -> None:
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            raise
        _copy(src, dst, st, None)


def _copy(src: bytes, dst: bytes, st: os.stat_result, clamp: int | None) -> None:
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(src), dst)
    elif stat.S_ISREG(st.st_mode):
        shutil.copyfile(src, dst, follow_symlinks=False)
    else:
        try:
            os.mknod(dst, st.st_mode, st.st_rdev)
        except PermissionError:
            raise PartwrightError(f"root tree: {os.fsdecode(src)} is a special file; copying"
                                  " it needs root") from None
    copy_attrs(src, dst, st, clamp)


def add_files(top: bytes, share: Share, epoch: int | None) -> list[bytes]:
    """Write the share's added files below `top` (replacing the tree's), and
    give each directory they went into its times back. Returns their paths."""
    written = []
    for rel, data in share.files:
        path = os.path.join(top, rel)
        parent = os.path.dirname(path)
        before = os.lstat(parent) if os.path.isdir(parent) else None
        os.makedirs(parent, 0o755, exist_ok=True)
        if os.path.lexists(path):
            os.unlink(path)  # never write through a link into the tree
        with open(path, "wb") as fh:
            fh.write(data)
        os.chmod(path, 0o644)
        if epoch is not None:
            os.utime(path, (epoch, epoch))
        if before is not None:
            os.utime(parent, ns=(before.st_atime_ns, before.st_mtime_ns))
        elif epoch is not None:
            os.utime(parent, (epoch, epoch))
        written.append(path)
    return written
