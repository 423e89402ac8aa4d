"""Putting a share of the root tree into a new filesystem, faithfully.

| filesystem | how | what it cannot hold |
| ext2/3/4 | mke2fs -d on the staged share, then debugfs sets every inode's times (mke2fs keeps whole seconds and dates the root now) | - |
| xfs, btrfs | the kernel: the empty filesystem loop-mounted, engine.host.tree_copy writes the share (mkfs.xfs -p cannot name files with blanks, keep hard links, xattrs or the sticky bit; mkfs.btrfs 6.2 --rootdir drops device numbers and holes and copies the host's link counts) | - |
| squashfs | mksquashfs on the staged share, as KIWI runs it | POSIX ACLs, sub-second times |
| vfat | mtools (mmd, mcopy -m) on the staged share | owners, modes, links, special files, xattrs |

Reproducible builds (an epoch: --seed or SOURCE_DATE_EPOCH): mtimes later
than the epoch become the epoch, ctimes and birth times are the epoch, and
the XFS inode generations are zero (the kernel draws them), so two seeded
builds of an xfs or ext root give the same bytes.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Mapping
from typing import Protocol

from engine.errors import PartwrightError
from engine.host.mount import loop_mount_refusals, loop_mounted
from engine.host.tools import run
from engine.host.tree_copy import copy_tree
from engine.image.populate import Share, add_files
from engine.plan.root_tree import KERNEL_FILLED

XFS_INODES_PER_CHUNK = 64


class FsSpecLike(Protocol):  # what check_kernel_fill reads of a filesystem spec
    @property
    def number(self) -> int: ...
    @property
    def key(self) -> str: ...
    @property
    def kind(self) -> str: ...


# --- ext: debugfs sets the times mke2fs -d leaves whole-second ----------------

_LS = re.compile(rb"/(\d+)/([0-7]+)/(\d+)/(\d+)/([^/]*)/(\d*)/\n")


def _ext_listing(device: str, inodes: list[int]) -> dict[int, list[tuple[int, bytes, int]]]:
    """`ls -p` of each directory inode: (inode, name, mode) of its entries."""
    commands = "".join(f"ls -p <{ino}>\n" for ino in inodes)
    proc = run(["debugfs", "-f", "-", device], input_text=commands, what="debugfs ls")
    out: dict[int, list[tuple[int, bytes, int]]] = {}
    parts = re.split(rb"(?m)^debugfs: ls -p <(\d+)>\n",
                     proc.stdout.encode("utf-8", "surrogateescape"))
    for i in range(1, len(parts) - 1, 2):
        entries = [(int(m.group(1)), m.group(5), int(m.group(2), 8))
                   for m in _LS.finditer(parts[i + 1])]
        out[int(parts[i])] = [e for e in entries if e[1] not in (b".", b"..")]
    return out


def _ext_time(field: str, ns: int) -> list[str]:
    seconds, frac = divmod(ns, 10**9)
    extra = (frac << 2) | (((seconds + 2**31) >> 32) & 3)
    return [f"{field} @{seconds}", f"{field}_extra {extra}"]


def ext_times(image: str, offset: int, staged: str, clamp: int | None, epoch: int | None,
              env: Mapping[str, str]) -> None:
    """Every inode of the ext filesystem at `offset` gets the mtime of its
    file in `staged` to the nanosecond (clamped to `clamp`), and that as
    atime; with an epoch, ctime and crtime are the epoch."""
    device = f"{image}?offset={offset}"
    top = os.fsencode(staged)
    times: dict[int, int] = {2: os.lstat(top).st_mtime_ns}
    level = [(2, top)]
    while level:
        listing = _ext_listing(device, [ino for ino, _ in level])
        nxt = []
        for ino, path in level:
            for child, name, mode in listing.get(ino, []):
                full = os.path.join(path, name)
                if not os.path.lexists(full):
                    continue  # lost+found
                times.setdefault(child, os.lstat(full).st_mtime_ns)
                if stat.S_ISDIR(mode):
                    nxt.append((child, full))
        level = nxt
    lines = []
    for ino, mtime in sorted(times.items()):
        if clamp is not None:
            mtime = min(mtime, clamp * 10**9)
        for field_value in (*_ext_time("mtime", mtime), *_ext_time("atime", mtime)):
            lines.append(f"sif <{ino}> {field_value}")
        if epoch is not None:
            for field_value in (*_ext_time("ctime", epoch * 10**9), *_ext_time("crtime", epoch * 10**9)):
                lines.append(f"sif <{ino}> {field_value}")
    run(["debugfs", "-w", "-f", "-", device], input_text="\n".join(lines) + "\n", env=env,
        what="debugfs setting inode times")


# --- xfs and btrfs: the kernel writes the tree --------------------------------

def check_kernel_fill(specs: Iterable[FsSpecLike]) -> None:
    """Refuse, before anything is written, a root tree for xfs or btrfs
    where the kernel cannot mount them (needs root and loop devices)."""
    refusals = loop_mount_refusals(KERNEL_FILLED)
    for spec in specs:
        reason = refusals.get(spec.kind)
        if reason is not None:
            raise PartwrightError(
                f"partition {spec.number} ({spec.key}): filling {spec.kind} from a root tree"
                f" needs the kernel to write it through a loop mount, as KIWI does: {reason}")


def kernel_fill(path: str, fstype: str, share: Share, workdir: str, clamp: int | None,
                epoch: int | None, what: str) -> list[int]:
    """Copy `share` into the filesystem in the file `path` through a loop
    mount. Returns the inode numbers written."""
    mountpoint = os.path.join(workdir, f"mnt{share.number}")
    with loop_mounted(path, fstype, mountpoint, what=what):
        top = os.fsencode(mountpoint)
        if share.source is not None:
            made = copy_tree(share.source, top, skip=share.skip,
                             omit=[rel for rel, _ in share.files], clamp=clamp, epoch=epoch)
        else:
            made = [os.lstat(top).st_ino]
            for rel in share.skip:
                os.makedirs(os.path.join(top, rel), 0o755, exist_ok=True)
                made.append(os.lstat(os.path.join(top, rel)).st_ino)
            if epoch is not None:
                for rel in share.skip:
                    os.utime(os.path.join(top, rel), (epoch, epoch))
                os.utime(top, (epoch, epoch))
        for written in add_files(top, share, epoch):
            made.append(os.lstat(written).st_ino)
    os.rmdir(mountpoint)
    return made


def xfs_after_kernel(path: str, inodes: list[int], epoch: int | None, bigtime: bool,
                     env: Mapping[str, str]) -> None:
    """After the kernel wrote an xfs: its log holds the records of the copy,
    whose LSNs are also stamped on the metadata. Format the log to cycle 2
    (every block: ahead of every metadata LSN, and the same in every build),
    as xfs_admin does when a clone gets its UUID, so an origin and its clones
    differ in identifiers and cycle numbers only. With an epoch, the inode
    times and generations become reproducible (xfs_fix_inodes)."""
    if epoch is not None:
        xfs_fix_inodes(path, inodes, epoch, bigtime)
    run(["xfs_db", "-x", "-c", "logformat -c 2", path], env=env, what="xfs_db formatting the log")


def xfs_fix_inodes(path: str, inodes: list[int], epoch: int, bigtime: bool) -> None:
    """ctime and crtime `epoch`, generation 0, for the inodes the kernel made
    and the rest of their inode chunks (reproducible builds)."""
    def stamp(seconds: int) -> list[str]:
        if bigtime:  # one 64-bit word: nanoseconds since -2^31 s
            return [f"write -d {{f}}.sec {(seconds + 2**31) * 10**9}"]
        return [f"write -d {{f}}.sec {seconds}", "write -d {f}.nsec 0"]

    mine = set(inodes)
    chunks = sorted({ino - ino % XFS_INODES_PER_CHUNK for ino in inodes})
    lines = []
    for chunk in chunks:
        for ino in range(chunk, chunk + XFS_INODES_PER_CHUNK):
            lines.append(f"inode {ino}")
            lines.append("write -d core.gen 0")
            if ino in mine:
                for field in ("core.ctime", "v3.crtime"):
                    lines += [s.format(f=field) for s in stamp(epoch)]
    run(["xfs_db", "-x", path], input_text="\n".join(lines) + "\n",
        what="xfs_db setting inode times")


# --- vfat: mtools -------------------------------------------------------------

def fill_vfat(image: str, offset: int, directory: str, env: Mapping[str, str]) -> None:
    """Copy the regular files and directories of `directory` into the FAT
    filesystem at `offset` with mtools (times kept: mcopy -m)."""
    target = f"{image}@@{offset}"
    # mtools converts long names from and to the locale's charset: in the C
    # locale every non-ASCII letter would become "_"
    mt_env = {**env, "MTOOLS_SKIP_CHECK": "1", "MTOOLS_NO_VFAT": "0", "LC_ALL": "C.UTF-8"}
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames.sort()
        rel = os.path.relpath(dirpath, directory)
        dos_dir = "::" if rel == "." else "::/" + rel
        for name in dirnames:
            if os.path.islink(os.path.join(dirpath, name)):
                continue
            run(["mmd", "-i", target, f"{dos_dir.rstrip('/')}/{name}"], env=mt_env,
                what=f"mmd {name}")
        files = [os.path.join(dirpath, f) for f in sorted(filenames)
                 if os.path.isfile(os.path.join(dirpath, f))
                 and not os.path.islink(os.path.join(dirpath, f))]
        if files:
            run(["mcopy", "-i", target, "-m", "-o", *files, dos_dir + ("/" if rel != "." else "")],
                env=mt_env, what="mcopy")


# --- squashfs: mksquashfs, as KIWI runs it --------------------------------------

def make_squashfs(staged: str, out: str, arch: str, clamp: int | None, epoch: int | None,
                  what: str) -> int:
    """mksquashfs of `staged` into `out` with KIWI's options (1 MiB blocks,
    xz, the BCJ filter of the architecture). SOURCE_DATE_EPOCH (`clamp`)
    makes mksquashfs clamp the file times and date the image; a seed alone
    dates the image only (-mkfs-time). Returns the image's size."""
    bcj = (["-Xbcj", "x86"] if arch in ("x86_64", "i686", "i586")
           else ["-Xbcj", "powerpc"] if arch.startswith("ppc") else [])
    env = {"SOURCE_DATE_EPOCH": str(clamp)} if clamp is not None else {}
    dated = ["-mkfs-time", str(epoch)] if clamp is None and epoch is not None else []
    if os.path.lexists(out):
        os.unlink(out)
    run(["mksquashfs", staged, out, "-noappend", "-b", "1M", "-comp", "xz", *bcj, *dated,
         "-quiet", "-no-progress"], env=env, what=what)
    size = os.path.getsize(out)
    if size <= 0:
        raise PartwrightError(f"{what}: mksquashfs wrote an empty image")
    return size
