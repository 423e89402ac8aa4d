"""Root trees for the fidelity tests, and manifests to compare them by.

`make_fidelity_tree(top)` writes one tree holding every kind of thing a
root tree can hold (regular, sparse and empty files, hard links, symlinks,
directories, device nodes, a fifo, a socket; names with spaces, newlines,
UTF-8 and non-UTF-8 bytes, 255-byte names, a deep path; setuid, setgid and
sticky modes; owners by number; old, new and sub-second timestamps;
security.capability, security.selinux, user.* and POSIX ACL xattrs). It
needs root (owners, device nodes).

`manifest(top)` reads any directory back with nothing but the kernel's view
of it (lstat, readlink, listxattr, file bytes, SEEK_HOLE): one Item per
path. `differences(a, b)` lists what differs, field by field.
"""

from __future__ import annotations

import hashlib
import os
import socket
import stat
import struct
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

MIB = 1 << 20
UID, GID = 1234, 5678

# POSIX ACL xattr values (linux/posix_acl_xattr.h): version 2, then
# (tag u16, perm u16, id u32) entries in tag order
ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_GROUP, ACL_MASK, ACL_OTHER = 1, 2, 4, 8, 0x10, 0x20
NO_ID = 0xFFFFFFFF


def acl(*entries: tuple[int, int, int]) -> bytes:
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", t, p, i) for t, p, i in entries)


ACCESS_ACL = acl((ACL_USER_OBJ, 6, NO_ID), (ACL_USER, 6, 4321), (ACL_GROUP_OBJ, 4, NO_ID),
                 (ACL_MASK, 6, NO_ID), (ACL_OTHER, 4, NO_ID))
DEFAULT_ACL = acl((ACL_USER_OBJ, 7, NO_ID), (ACL_GROUP_OBJ, 5, NO_ID), (ACL_GROUP, 5, 999),
                  (ACL_MASK, 5, NO_ID), (ACL_OTHER, 5, NO_ID))
# vfs_cap_data revision 2: cap_net_raw (13) and cap_net_bind_service (10), effective
CAPABILITY = struct.pack("<IIIII", 0x02000001, (1 << 13) | (1 << 10), 0, 0, 0)
SELINUX = b"system_u:object_r:bin_t:s0\0"


@dataclass(frozen=True)
class Item:
    """One path of a tree as the kernel shows it."""

    path: bytes
    kind: str  # file dir symlink chr blk fifo sock
    mode: int  # permission bits with setuid, setgid, sticky
    uid: int
    gid: int
    size: int
    sha256: str | None  # regular files
    target: bytes | None  # symlinks
    rdev: tuple[int, int] | None  # device nodes
    nlink: int  # directories: None-like 0 (their link count is filesystem-specific)
    mtime_ns: int
    xattrs: tuple[tuple[bytes, bytes], ...] = ()
    holes: bool | None = None  # regular files: whether SEEK_HOLE finds a hole before the end
    links: tuple[bytes, ...] = field(default=())  # the other names of a hard-linked file


KINDS = {stat.S_IFREG: "file", stat.S_IFDIR: "dir", stat.S_IFLNK: "symlink",
         stat.S_IFCHR: "chr", stat.S_IFBLK: "blk", stat.S_IFIFO: "fifo", stat.S_IFSOCK: "sock"}


def _sha256(path: bytes) -> tuple[str, bool]:
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        size = os.fstat(fd).st_size
        hole = size > 0 and os.lseek(fd, 0, os.SEEK_HOLE) < size
        os.lseek(fd, 0, os.SEEK_SET)
        while chunk := os.read(fd, MIB):
            digest.update(chunk)
    finally:
        os.close(fd)
    return digest.hexdigest(), hole


# XFS shows root its own storage of the POSIX ACLs (the ACLs themselves are
# the system.posix_acl_* attributes): not part of what a tree holds
XFS_ACL_STORAGE = ("trusted.SGI_ACL_FILE", "trusted.SGI_ACL_DEFAULT")


def _xattrs(path: bytes) -> tuple[tuple[bytes, bytes], ...]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return ()
    out = []
    for name in sorted(n for n in names if n not in XFS_ACL_STORAGE):
        try:
            out.append((name.encode("utf-8", "surrogateescape"),
                        os.getxattr(path, name, follow_symlinks=False)))
        except OSError:
            continue
    return tuple(out)


def manifest(top: str | bytes | Path, skip: tuple[bytes, ...] = ()) -> dict[bytes, Item]:
    """Every path below `top` (b"" is `top` itself) as the kernel shows it;
    top-level names in `skip` (and what is below them) are left out."""
    base = os.fsencode(top)
    items: dict[bytes, Item] = {}
    inodes: dict[int, list[bytes]] = {}
    stack = [b""]
    while stack:
        rel = stack.pop()
        full = os.path.join(base, rel) if rel else base
        st = os.lstat(full)
        kind = KINDS[stat.S_IFMT(st.st_mode)]
        digest, hole = _sha256(full) if kind == "file" else (None, None)
        items[rel] = Item(
            path=rel, kind=kind, mode=stat.S_IMODE(st.st_mode), uid=st.st_uid, gid=st.st_gid,
            size=st.st_size if kind in ("file", "symlink") else 0, sha256=digest,
            target=os.readlink(full) if kind == "symlink" else None,
            rdev=(os.major(st.st_rdev), os.minor(st.st_rdev)) if kind in ("chr", "blk") else None,
            nlink=0 if kind == "dir" else st.st_nlink, mtime_ns=st.st_mtime_ns,
            xattrs=_xattrs(full), holes=hole)
        if kind != "dir":
            inodes.setdefault(st.st_ino, []).append(rel)
        else:
            for name in os.listdir(full):
                child = os.path.join(rel, name) if rel else name
                if not rel and name in skip:
                    continue
                stack.append(child)
    for names in inodes.values():
        if len(names) > 1:
            for name in names:
                items[name] = replace(items[name], links=tuple(sorted(n for n in names if n != name)))
    return items


def differences(source: dict[bytes, Item], copy: dict[bytes, Item],
                ignore: tuple[str, ...] = ()) -> list[str]:
    """Each difference as "path: field source -> copy"; fields in `ignore`
    (Item field names) are not compared."""
    out = []
    for path in sorted(set(source) | set(copy)):
        name = path.decode("utf-8", "backslashreplace") or "/"
        if path not in copy:
            out.append(f"{name}: missing")
            continue
        if path not in source:
            out.append(f"{name}: extra")
            continue
        a, b = source[path], copy[path]
        for fname in Item.__dataclass_fields__:
            if fname in ignore or fname == "path":
                continue
            va, vb = getattr(a, fname), getattr(b, fname)
            if va != vb:
                if fname == "mode":
                    va, vb = oct(va), oct(vb)
                out.append(f"{name}: {fname} {va!r} -> {vb!r}")
    return out


@contextmanager
def mounted(image: str | Path, offset: int, size: int, fstype: str,
            where: str | Path) -> Iterator[Path]:
    """A partition of `image` mounted read-only by the kernel (a loop device
    at the offset), unmounted afterwards."""
    os.makedirs(where, exist_ok=True)
    subprocess.run(["mount", "-t", fstype, "-o", f"loop,ro,offset={offset},sizelimit={size}",
                    str(image), str(where)], check=True, capture_output=True)
    try:
        yield Path(where)
    finally:
        subprocess.run(["umount", str(where)], check=True)


def vfat_copy(image: str | Path, offset: int, dest: str | Path) -> Path:
    """Everything in the FAT filesystem at `offset`, copied out by mtools."""
    os.makedirs(dest, exist_ok=True)
    env = {**os.environ, "MTOOLS_SKIP_CHECK": "1", "LC_ALL": "C.UTF-8"}
    subprocess.run(["mcopy", "-s", "-m", "-n", "-i", f"{image}@@{offset}", "::/", str(dest)],
                   check=True, capture_output=True, env=env)
    return Path(dest)


# --- the fidelity tree -------------------------------------------------------

LONG_NAME = b"L" * 251 + b".txt"  # 255 bytes
DEEP = b"/".join([b"deep"] + [b"d%02d" % i for i in range(60)])
TIMES_NS = {  # mtimes the tree holds: old, sub-second, after 2038
    b"etc/old": 631152000 * 10**9,  # 1990-01-01
    b"etc/subsecond": 1700000000 * 10**9 + 123456789,
    b"etc/future": 2208988800 * 10**9,  # 2040-01-01
}


def _write(top: bytes, rel: bytes, data: bytes, mode: int = 0o644) -> bytes:
    path = os.path.join(top, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
    os.chmod(path, mode)
    return path


def make_fidelity_tree(top: str | Path) -> Path:
    """The tree described in the module docstring (needs root)."""
    t = os.fsencode(str(top))
    os.makedirs(t, exist_ok=True)
    for d in (b"etc", b"usr/bin", b"usr/lib", b"dev", b"var/tmp", b"home/user", b"empty",
              b"srv/data"):
        os.makedirs(os.path.join(t, d), exist_ok=True)
    _write(t, b"etc/hostname", b"fidelity\n")
    _write(t, b"etc/passwd", b"root:x:0:0::/root:/bin/sh\n")
    _write(t, b"etc/a b", b"space\n")
    _write(t, b"etc/a\xc3\xbc", b"u umlaut\n")  # etc/aü
    _write(t, b"etc/\xc3\xa9a", b"e acute\n")  # etc/éa
    _write(t, "etc/日本語 ✓".encode(), b"cjk\n")
    _write(t, b"etc/new\nline", b"newline\n")
    _write(t, b"etc/tab\there", b"tab\n")
    _write(t, b"etc/latin1-\xe9\xff", b"not utf-8\n")
    _write(t, b"etc/$", b"dollar\n")
    _write(t, b"etc/" + LONG_NAME, b"long name\n")
    _write(t, b"etc/empty", b"")
    _write(t, DEEP + b"/leaf", b"deep\n")
    _write(t, b"usr/bin/tool", b"\x7fELF" + bytes(range(256)) * 64, 0o755)
    _write(t, b"usr/bin/suid", b"#!/bin/sh\n", 0o4755)
    _write(t, b"usr/bin/sgid", b"#!/bin/sh\n", 0o2711)
    _write(t, b"usr/bin/ping", b"#!/bin/sh\nping\n", 0o755)
    os.setxattr(os.path.join(t, b"usr/bin/ping"), b"security.capability", CAPABILITY)
    os.setxattr(os.path.join(t, b"usr/bin/tool"), b"security.selinux", SELINUX)
    _write(t, b"usr/lib/big", os.urandom(3 * MIB + 17))
    # hard links: three names in two directories, and a pair
    _write(t, b"usr/lib/libhard.so.1", b"hard link data\n" * 100)
    os.link(os.path.join(t, b"usr/lib/libhard.so.1"), os.path.join(t, b"usr/lib/libhard.so"))
    os.link(os.path.join(t, b"usr/lib/libhard.so.1"), os.path.join(t, b"usr/bin/hardlink"))
    _write(t, b"etc/pair-a", b"pair\n")
    os.link(os.path.join(t, b"etc/pair-a"), os.path.join(t, b"etc/pair b"))
    # sparse files: data, hole, data; and a file that is one hole
    sparse = os.path.join(t, b"var/sparse")
    with open(sparse, "wb") as fh:
        fh.write(b"head" * 1024)
        fh.seek(8 * MIB)
        fh.write(b"tail" * 1024)
    with open(os.path.join(t, b"var/hole"), "wb") as fh:
        fh.truncate(16 * MIB)
    # symlinks: relative, absolute, dangling, to a directory, long target
    os.symlink(b"tool", os.path.join(t, b"usr/bin/tool-link"))
    os.symlink(b"/etc/hostname", os.path.join(t, b"etc/abs-link"))
    os.symlink(b"../nowhere", os.path.join(t, b"etc/dangling"))
    os.symlink(b"usr/lib", os.path.join(t, b"lib"))
    os.symlink(b"x/" * 500 + b"end", os.path.join(t, b"etc/long-link"))
    # special files
    os.mknod(os.path.join(t, b"dev/null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.mknod(os.path.join(t, b"dev/sda"), 0o660 | stat.S_IFBLK, os.makedev(8, 0))
    os.mkfifo(os.path.join(t, b"var/fifo"), 0o600)
    here = os.getcwd()
    os.chdir(os.path.join(t, b"var"))
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind("socket")
        sock.close()
    finally:
        os.chdir(here)
    # modes and owners
    os.chmod(os.path.join(t, b"var/tmp"), 0o1777)
    os.chmod(os.path.join(t, b"srv/data"), 0o2770)
    _write(t, b"home/user/private", b"secret\n", 0o600)
    _write(t, b"home/user/readonly", b"ro\n", 0o444)
    _write(t, b"home/user/none", b"none\n", 0o000)
    for rel in (b"home/user", b"home/user/private", b"home/user/readonly", b"home/user/none"):
        os.chown(os.path.join(t, rel), UID, GID)
    os.lchown(os.path.join(t, b"etc/dangling"), UID, GID)
    os.chown(os.path.join(t, b"srv/data"), 0, 65534)
    os.chown(os.path.join(t, b"dev/sda"), 0, 6)
    # xattrs: user.* text and binary; POSIX ACLs (access on a file, default on a directory)
    os.setxattr(os.path.join(t, b"etc/hostname"), b"user.comment", b"set by the test")
    os.setxattr(os.path.join(t, b"etc/hostname"), b"user.binary", bytes(range(1, 40)))
    os.setxattr(os.path.join(t, b"srv/data"), b"user.dir", b"on a directory")
    _write(t, b"srv/data/shared", b"acl\n", 0o664)
    os.setxattr(os.path.join(t, b"srv/data/shared"), b"system.posix_acl_access", ACCESS_ACL)
    os.setxattr(os.path.join(t, b"srv/data"), b"system.posix_acl_default", DEFAULT_ACL)
    # timestamps last, deepest first, so that making children does not move them
    for rel, ns in TIMES_NS.items():
        _write(t, rel, rel + b"\n")
        os.utime(os.path.join(t, rel), ns=(ns, ns))
    when = 1600000000 * 10**9
    for dirpath, dirnames, filenames in os.walk(t, topdown=False):
        for name in filenames + dirnames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, t)
            if rel in TIMES_NS:
                continue
            when += 1_000_000_007  # a second and 7 ns apart: every mtime differs
            os.utime(full, ns=(when, when), follow_symlinks=False)
    os.utime(t, ns=(when, when))
    return Path(os.fsdecode(t))


def make_vfat_tree(top: str | Path) -> Path:
    """What a FAT filesystem can hold: directories and regular files with
    long, blank-holding and non-ASCII names, a deep path, an empty, a big and
    a sparse file; mtimes on even seconds (FAT keeps two-second steps)."""
    t = os.fsencode(str(top))
    os.makedirs(t, exist_ok=True)
    _write(t, b"EFI/BOOT/BOOTX64.EFI", b"MZ" + os.urandom(70000))
    _write(t, b"a b c.txt", b"spaces\n")
    _write(t, "grüße é.txt".encode(), b"utf-8\n")
    _write(t, "日本語.txt".encode(), b"cjk\n")
    _write(t, b"L" * 240 + b".conf", b"long\n")
    _write(t, b"empty", b"")
    _write(t, b"big.bin", os.urandom(2 * MIB + 3))
    _write(t, b"/".join([b"deep"] + [b"level%02d" % i for i in range(30)]) + b"/leaf", b"deep\n")
    with open(os.path.join(t, b"sparse"), "wb") as fh:
        fh.write(b"x" * 100)
        fh.truncate(4 * MIB)
    os.makedirs(os.path.join(t, b"emptydir"))
    when = 1600000000
    for dirpath, dirnames, filenames in os.walk(t, topdown=False):
        for name in filenames + dirnames:
            when += 2
            os.utime(os.path.join(dirpath, name), (when, when))
    return Path(os.fsdecode(t))
