"""Copying a directory tree into another one, keeping everything a file has.

`copy_tree(src, dst)` makes, below `dst`, what `src` holds: regular files
with their holes (only the data extents are copied, found with SEEK_DATA),
hard links as hard links (link counts as in the part copied), symlinks,
directories, device nodes, fifos and sockets; owners and groups by number,
every mode bit, every extended attribute (security.capability,
security.selinux, user.*, POSIX ACLs), and mtimes to the nanosecond (atime
set to the mtime). Names are bytes: any name the filesystem takes is copied.

Order matters: owner first (chown clears security.capability and the
setuid bit), then extended attributes, then the mode, then the times, and a
directory's times after everything inside it.

`skip`: paths (relative, bytes) left out, each replaced by an empty
directory with the attributes of the one in `src` when there is one (the
mountpoints of other partitions). `clamp`: the build's SOURCE_DATE_EPOCH:
later mtimes become it (reproducible-builds.org's clamping); `epoch`: the
time of what the copy makes that the tree lacks. Returns the inode numbers
it made below `dst`, `dst` itself first.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Collection

CHUNK = 1 << 20
# XFS shows root its own storage of POSIX ACLs as trusted.SGI_ACL_*: the ACL
# itself is copied as system.posix_acl_*, and writing both would clash
SKIP_XATTRS = (b"trusted.SGI_ACL_FILE", b"trusted.SGI_ACL_DEFAULT")


def _copy_data(src: bytes, dst: bytes) -> None:
    fin = os.open(src, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        fout = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            size = os.fstat(fin).st_size
            pos = end = 0
            while pos < size:
                try:
                    start = os.lseek(fin, pos, os.SEEK_DATA)
                except OSError as exc:
                    if exc.errno == errno.ENXIO:  # only a hole is left
                        break
                    raise
                end = os.lseek(fin, start, os.SEEK_HOLE)
                os.lseek(fout, start, os.SEEK_SET)
                while start < end:  # in the kernel, across filesystems too
                    sent = os.sendfile(fout, fin, start, min(CHUNK * 64, end - start))
                    if sent <= 0:
                        break
                    start += sent
                pos = end
            if end < size:  # ends in a hole (ftruncate is slow on xfs: only then)
                os.ftruncate(fout, size)
        finally:
            os.close(fout)
    finally:
        os.close(fin)


def _xattrs(path: bytes) -> list[tuple[str, bytes]]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.ENODATA):
            return []
        raise
    found = []
    for name in names:
        if os.fsencode(name) in SKIP_XATTRS:
            continue
        try:
            found.append((name, os.getxattr(path, name, follow_symlinks=False)))
        except OSError as exc:
            if exc.errno != errno.ENODATA:
                raise
    return found


def copy_attrs(src: bytes, dst: bytes, st: os.stat_result, clamp: int | None) -> None:
    """Owner, extended attributes, mode and times of `src` onto `dst`."""
    os.lchown(dst, st.st_uid, st.st_gid)
    for name, value in _xattrs(src):
        os.setxattr(dst, name, value, follow_symlinks=False)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(dst, stat.S_IMODE(st.st_mode))
    mtime = st.st_mtime_ns
    if clamp is not None:
        mtime = min(mtime, clamp * 10**9)
    os.utime(dst, ns=(mtime, mtime), follow_symlinks=False)


def copy_tree(src: str | bytes, dst: str | bytes, *, skip: Collection[bytes] = (),
              omit: Collection[bytes] = (), clamp: int | None = None,
              epoch: int | None = None) -> list[int]:
    """See the module docstring; `omit`: paths not copied at all (files the
    caller writes itself: removing them later would leave the filesystem
    freeing their blocks in the background, at a time no build controls)."""
    top_src, top_dst = os.fsencode(src), os.fsencode(dst)
    skipped = {s.strip(b"/") for s in skip}
    omitted = {s.strip(b"/") for s in omit}
    links: dict[tuple[int, int], bytes] = {}
    made = [os.lstat(top_dst).st_ino]
    # mountpoints the tree lacks: empty directories, made first so that making
    # them does not move the times of the directories around them
    for rel in sorted(skipped):
        if not os.path.lexists(os.path.join(top_src, rel)):
            made += _makedirs(top_dst, rel, epoch)
    pending: list[tuple[bytes, bytes, os.stat_result]] = []  # directories, parents first
    stack: list[bytes] = [b""]
    while stack:
        rel = stack.pop()
        sdir = os.path.join(top_src, rel) if rel else top_src
        ddir = os.path.join(top_dst, rel) if rel else top_dst
        for name in sorted(os.listdir(sdir)):
            child = os.path.join(rel, name) if rel else name
            if child in omitted:
                continue
            spath, dpath = os.path.join(sdir, name), os.path.join(ddir, name)
            st = os.lstat(spath)
            mode = st.st_mode
            if child in skipped:
                _mkdir(dpath, 0o755)
                if stat.S_ISDIR(mode):
                    pending.append((spath, dpath, st))
                made.append(os.lstat(dpath).st_ino)
                continue
            if stat.S_ISDIR(mode):
                _mkdir(dpath, 0o700)
                pending.append((spath, dpath, st))
                made.append(os.lstat(dpath).st_ino)
                stack.append(child)
                continue
            if st.st_nlink > 1:
                first = links.get((st.st_dev, st.st_ino))
                if first is not None:
                    os.link(first, dpath, follow_symlinks=False)
                    continue
                links[(st.st_dev, st.st_ino)] = dpath
            if stat.S_ISREG(mode):
                _copy_data(spath, dpath)
            elif stat.S_ISLNK(mode):
                os.symlink(os.readlink(spath), dpath)
            else:  # character and block devices, fifos, sockets
                os.mknod(dpath, stat.S_IFMT(mode) | 0o600, st.st_rdev)
            copy_attrs(spath, dpath, st, clamp)
            made.append(os.lstat(dpath).st_ino)
    for spath, dpath, st in reversed(pending):  # children before their directory
        copy_attrs(spath, dpath, st, clamp)
    copy_attrs(top_src, top_dst, os.lstat(top_src), clamp)
    return made


def _mkdir(path: bytes, mode: int) -> None:
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        if not os.path.isdir(path) or os.path.islink(path):
            raise


def _makedirs(top: bytes, rel: bytes, epoch: int | None) -> list[int]:
    """`rel` and its missing parents below `top`, dated `epoch` when given."""
    made = []
    path = top
    for part in rel.split(b"/"):
        path = os.path.join(path, part)
        if not os.path.lexists(path):
            os.mkdir(path, 0o755)
            made.append(path)
    for path in reversed(made):
        if epoch is not None:
            os.utime(path, (epoch, epoch))
    return [os.lstat(p).st_ino for p in made]
