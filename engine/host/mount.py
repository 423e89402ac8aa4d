"""Loop mounts of a filesystem in a file, for the kernel to write a tree into it.

`loop_mounted(path, fstype, mountpoint)` mounts the file through a loop
device (`mount -o loop,noatime`) and always unmounts it again, also when the
block fails or is interrupted; `unmount_stale(mountpoint)` removes a mount
left by a process that was killed (SIGKILL cannot be caught). Needs root and
loop devices (`engine.host.kernel.missing("loop")`) and the filesystem in the
kernel (`kernel_has`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from engine.errors import ToolError
from engine.host.tools import run


def kernel_has(fstype: str, proc: str = "/proc") -> bool:
    """The running kernel can mount `fstype` (it is in /proc/filesystems)."""
    try:
        with open(os.path.join(proc, "filesystems"), encoding="ascii", errors="replace") as fh:
            return any(line.split()[-1:] == [fstype] for line in fh if line.strip())
    except OSError:
        return False


@contextmanager
def loop_mounted(path: str, fstype: str, mountpoint: str, *, read_only: bool = False,
                 what: str | None = None) -> Iterator[str]:
    """`path` mounted on `mountpoint` (made if missing) for the block."""
    os.makedirs(mountpoint, exist_ok=True)
    options = "loop,noatime" + (",ro" if read_only else "")
    run(["mount", "-t", fstype, "-o", options, path, mountpoint], what=what or f"mounting {path}")
    try:
        yield mountpoint
    finally:
        proc = run(["umount", mountpoint], check=False)
        if proc.returncode != 0:
            lazy = run(["umount", "-l", mountpoint], check=False)
            if lazy.returncode != 0:
                raise ToolError(f"umount {mountpoint} failed: {proc.stderr.strip()}")


def unmount_stale(mountpoint: str) -> None:
    """Unmount `mountpoint` when something is mounted there (a killed build's)."""
    if os.path.ismount(mountpoint):
        run(["umount", "-l", mountpoint], check=False)
