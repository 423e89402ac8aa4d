"""Filling filesystems from `--root-tree DIR`, without mounting anything.

Each path of the tree goes to the partition with the longest mountpoint that
contains it (a path under /home goes to the home partition, /boot/efi to the
ESP, the rest to root). A partition's share is staged as a hard-link farm
(copies when the tree is on another filesystem), with the mountpoints of
nested partitions left as empty directories; then mke2fs `-d`, mkfs.btrfs
`--rootdir`, an XFS protofile, or mtools (vfat) read it.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Mapping

from engine.errors import PartwrightError
from engine.host.tools import run

BLOCK = 4096


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


def stage(tree: str, mountpoints: Mapping[int, str], workdir: str,
          epoch: int | None = None) -> dict[int, str]:
    """One staging directory per partition holding its share of the tree.
    Mountpoints the tree lacks are made as empty directories, dated `epoch`
    when the build has one."""
    staged: dict[int, str] = {}
    for number, mp in mountpoints.items():
        dest = os.path.join(workdir, f"stage{number}")
        src = os.path.join(tree, _rel(mp)) if _rel(mp) else tree
        os.mkdir(dest)
        if os.path.isdir(src):
            _copy_attrs(src, dest)
        staged[number] = dest
    pending_dirs: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in os.walk(tree):
        rel_dir = os.path.relpath(dirpath, tree)
        rel_dir = "" if rel_dir == "." else rel_dir
        for name in sorted(dirnames + filenames):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            src = os.path.join(dirpath, name)
            number = owner_of(rel, mountpoints)
            mp = _rel(mountpoints[number])
            inner = rel[len(mp):].lstrip("/") if mp else rel
            if inner == "":  # the mountpoint itself: staged above
                continue
            dest = os.path.join(staged[number], inner)
            _stage_one(src, dest)
            if os.path.isdir(dest) and not os.path.islink(dest):
                pending_dirs.append((src, dest))
        # nested mountpoints stay as empty directories in their parent partition
    for number, mp in mountpoints.items():
        if not _rel(mp):
            continue
        parent = owner_of(os.path.dirname(_rel(mp)) or "", {n: m for n, m in mountpoints.items() if n != number})
        pmp = _rel(mountpoints[parent])
        inner = _rel(mp)[len(pmp):].lstrip("/") if pmp else _rel(mp)
        made = os.path.join(staged[parent], inner)
        os.makedirs(made, exist_ok=True)
        if os.path.isdir(os.path.join(tree, _rel(mp))):
            pending_dirs.append((os.path.join(tree, _rel(mp)), made))
        elif epoch is not None:
            os.utime(made, (epoch, epoch))
    for src, dest in reversed(pending_dirs):  # times after the contents are in
        _copy_attrs(src, dest)
    for number, mp in mountpoints.items():
        src = os.path.join(tree, _rel(mp)) if _rel(mp) else tree
        if os.path.isdir(src):
            _copy_attrs(src, staged[number])
        elif epoch is not None:
            os.utime(staged[number], (epoch, epoch))
    return staged


def _copy_attrs(src: str, dest: str) -> None:
    st = os.lstat(src)
    if os.geteuid() == 0:
        os.lchown(dest, st.st_uid, st.st_gid)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(dest, stat.S_IMODE(st.st_mode))
    os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def _stage_one(src: str, dest: str) -> None:
    st = os.lstat(src)
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        os.mkdir(dest)
    elif stat.S_ISLNK(mode):
        os.symlink(os.readlink(src), dest)
        _copy_attrs(src, dest)
    elif stat.S_ISREG(mode):
        try:
            os.link(src, dest)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                raise
            shutil.copy2(src, dest)
            _copy_attrs(src, dest)
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
        try:
            os.mknod(dest, mode, st.st_rdev)
        except PermissionError:
            raise PartwrightError(f"root tree: {src} is a device node; copying it needs root") from None
        _copy_attrs(src, dest)
    # sockets are not copied (KIWI's rsync does not either)


def write_file(path: str, text: str, epoch: int | None) -> None:
    """A new file in a staged tree (never through a hard link into the tree)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.lexists(path):
        os.unlink(path)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o644)
    if epoch is not None:
        os.utime(path, (epoch, epoch))


def protofile(directory: str, path: str) -> str:
    """Write an XFS protofile (mkfs.xfs -p) describing `directory`; returns `path`."""
    lines = ["/dev/null", "0 0", _proto_mode(os.lstat(directory))]
    _proto_dir(directory, lines, 1)
    lines.append("$")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def _proto_mode(st: os.stat_result) -> str:
    mode = st.st_mode
    kind = ("d" if stat.S_ISDIR(mode) else "l" if stat.S_ISLNK(mode) else "b" if stat.S_ISBLK(mode)
            else "c" if stat.S_ISCHR(mode) else "p" if stat.S_ISFIFO(mode) else "-")
    suid = "u" if mode & stat.S_ISUID else "-"
    sgid = "g" if mode & stat.S_ISGID else "-"
    return f"{kind}{suid}{sgid}{stat.S_IMODE(mode) & 0o777:03o} {st.st_uid} {st.st_gid}"


def _proto_dir(directory: str, lines: list[str], depth: int) -> None:
    indent = " " * depth
    for name in sorted(os.listdir(directory)):
        full = os.path.join(directory, name)
        if any(c.isspace() for c in name) or name == "$":
            raise PartwrightError(f"root tree: {full}: an XFS protofile cannot hold this name")
        st = os.lstat(full)
        head = f"{indent}{name} {_proto_mode(st)}"
        if stat.S_ISDIR(st.st_mode):
            lines.append(head)
            _proto_dir(full, lines, depth + 1)
            lines.append(f"{indent}$")
        elif stat.S_ISLNK(st.st_mode):
            lines.append(f"{head} {os.readlink(full)}")
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            lines.append(f"{head} {os.major(st.st_rdev)} {os.minor(st.st_rdev)}")
        elif stat.S_ISREG(st.st_mode):
            lines.append(f"{head} {full}")
        elif stat.S_ISFIFO(st.st_mode):
            lines.append(head)


def fill_vfat(image: str, offset: int, directory: str, env: Mapping[str, str]) -> None:
    """Copy `directory` into the FAT filesystem at `offset` with mtools."""
    target = f"{image}@@{offset}"
    mt_env = {**env, "MTOOLS_SKIP_CHECK": "1", "MTOOLS_NO_VFAT": "0"}
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames.sort()
        rel = os.path.relpath(dirpath, directory)
        dos_dir = "::" if rel == "." else "::/" + rel
        for name in dirnames:
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                continue
            run(["mmd", "-i", target, f"{dos_dir.rstrip('/')}/{name}"], env=mt_env,
                what=f"mmd {name}")
        files = [os.path.join(dirpath, f) for f in sorted(filenames)
                 if os.path.isfile(os.path.join(dirpath, f))]
        if files:
            run(["mcopy", "-i", target, "-m", "-o", *files, dos_dir + ("/" if rel != "." else "")],
                env=mt_env, what="mcopy")


def _walk_inodes(directory: str) -> list[tuple[str, os.stat_result]]:
    """('/' + relative path, lstat) of a staged tree, the top directory first."""
    found = [("/", os.lstat(directory))]
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames.sort()
        rel = os.path.relpath(dirpath, directory)
        base = "" if rel == "." else "/" + rel
        for name in sorted(dirnames + filenames):
            found.append((f"{base}/{name}", os.lstat(os.path.join(dirpath, name))))
    return found


def fix_ext_times(image: str, offset: int, directory: str, epoch: int,
                  env: Mapping[str, str]) -> None:
    """mke2fs -d copies each file's ctime and atime from the tree: the ctime
    of a staged hard link is the time of the build, and reading the tree may
    move atimes. In a reproducible build set ctime to the build's epoch and
    atime to the file's mtime (debugfs)."""
    lines = []
    for path, st in _walk_inodes(directory):
        quoted = '"' + path.replace('"', '\\"') + '"'
        lines.append(f"sif {quoted} atime @{int(st.st_mtime)}")
        lines.append(f"sif {quoted} ctime @{epoch}")
        lines.append(f"sif {quoted} atime_extra 0")
        lines.append(f"sif {quoted} ctime_extra 0")
    run(["debugfs", "-w", "-f", "-", f"{image}?offset={offset}"], input_text="\n".join(lines) + "\n",
        env=env, what="debugfs setting inode times")


def fix_xfs_tree_times(path: str, directory: str, epoch: int | None, bigtime: bool) -> None:
    """mkfs.xfs -p stamps every inode with the time of the build: give each
    the atime and mtime of its file in the tree, and ctime/crtime `epoch`
    when the build has one (xfs_db, commands on stdin)."""
    def value(seconds: int) -> int:
        return (seconds + 2**31) * 10**9 if bigtime else seconds

    lines = []
    for rel, st in _walk_inodes(directory):
        lines.append(f"path {rel}")
        times = {"core.atime": int(st.st_mtime), "core.mtime": int(st.st_mtime)}
        if epoch is not None:
            times.update({"core.ctime": epoch, "v3.crtime": epoch})
        for field, seconds in times.items():
            lines.append(f"write -d {field}.sec {value(seconds)}")
            if not bigtime:
                lines.append(f"write -d {field}.nsec 0")
    run(["xfs_db", "-x", path], input_text="\n".join(lines) + "\n",
        what="xfs_db setting inode times")
