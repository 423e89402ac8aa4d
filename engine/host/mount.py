"""Loop mounts of a filesystem in a file, for the kernel to write a tree into it.

`loop_mounted(path, fstype, mountpoint)` mounts the file through a loop
device (`mount -o loop,noatime`) and always unmounts it again, also when the
block fails or is interrupted. Needs root and
loop devices (`engine.host.kernel.missing("loop")`) and the filesystem in the
kernel (`kernel_has`). `unmount_below(directory)` unmounts what a killed
process left mounted inside its scratch directory (SIGKILL cannot be caught).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from engine.errors import ToolError
from engine.host import kernel
from engine.host.tools import run


def kernel_has(fstype: str, proc: str = "/proc") -> bool:
    """The running kernel can mount `fstype` (it is in /proc/filesystems)."""
    try:
        with open(os.path.join(proc, "filesystems"), encoding="ascii", errors="replace") as fh:
            return any(line.split()[-1:] == [fstype] for line in fh if line.strip())
    except OSError:
        return False


def loop_mount_refusals(fstypes: Iterable[str]) -> dict[str, str]:
    """fstype -> why a filesystem of that type in a file cannot be loop
    mounted here (no root or no loop devices, or not in the kernel)."""
    found: dict[str, str] = {}
    for fstype in fstypes:
        reason = kernel.missing("loop")
        if reason is None and not kernel_has(fstype):
            reason = f"the kernel has no {fstype} (not in /proc/filesystems)"
        if reason is not None:
            found[fstype] = reason
    return found


@contextmanager
def loop_mounted(path: str, fstype: str, mountpoint: str, *, read_only: bool = False,
                 what: str | None = None) -> Iterator[str]:
    """`path` mounted on `mountpoint` (made if missing) for the block."""
    os.makedirs(mountpoint, exist_ok=True)
    options = "loop,noatime" + (",ro" if read_only else "")
    try:  # a stop signal may come after the kernel mounted, before mount(8) returned
        run(["mount", "-t", fstype, "-o", options, path, mountpoint],
            what=what or f"mounting {path}")
        yield mountpoint
    finally:
        if os.path.ismount(mountpoint):
            _unmount(mountpoint)


def _unmount(mountpoint: str) -> None:
    proc = run(["umount", mountpoint], check=False)
    if proc.returncode != 0:
        lazy = run(["umount", "-l", mountpoint], check=False)
        if lazy.returncode != 0:
            raise ToolError(f"umount {mountpoint} failed: {proc.stderr.strip()}")


def unmount_below(directory: str, mounts: str = "/proc/self/mounts") -> list[str]:
    """Unmount (lazily) whatever is mounted inside `directory`: the loop
    mounts of a build killed with SIGKILL, before its scratch is removed.
    Returns the mountpoints."""
    top = os.path.realpath(directory).rstrip("/") + "/"
    found = []
    try:
        with open(mounts, encoding="utf-8", errors="surrogateescape") as fh:
            for line in fh:
                fields = line.split()
                if len(fields) > 1:
                    point = fields[1].replace("\\040", " ").replace("\\011", "\t")
                    if point.startswith(top):
                        found.append(point)
    except OSError:
        return []
    for point in sorted(found, key=len, reverse=True):
        run(["umount", "-l", point], check=False)
    return found
