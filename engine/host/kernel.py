"""What the running kernel offers the image engine, read from /proc and /dev.

    has_dm()   device-mapper: `device-mapper` listed in /proc/misc
    has_md()   md RAID: /proc/mdstat exists
    has_loop() loop devices usable by this process: /dev/loop-control can be
               opened for writing (root, or a user allowed to)

Never decided from "am I root": a root process on a kernel without
device-mapper (the CI machines) still cannot open a LUKS container.
`missing(...)` words the reason for a skip or an error message.

`dm_control_guard()`: libdevmapper creates /dev/mapper/control on first use
even when the kernel has no device-mapper (cryptsetup luksFormat of LUKS2, and
LVM tools do this). The node then points at nothing; the guard removes it
again when it was not there before and the kernel has no device-mapper.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager

PROC = "/proc"
DM_CONTROL = "/dev/mapper/control"
LOOP_CONTROL = "/dev/loop-control"


def has_dm(proc: str = PROC) -> bool:
    """The kernel has device-mapper (dm-crypt, LVM activation, kpartx)."""
    try:
        with open(os.path.join(proc, "misc"), encoding="ascii", errors="replace") as fh:
            return any(line.split()[1:2] == ["device-mapper"] for line in fh)
    except OSError:
        return False


def has_md(proc: str = PROC) -> bool:
    """The kernel has md RAID (mdadm --create/--assemble)."""
    return os.path.exists(os.path.join(proc, "mdstat"))


def has_loop(control: str = LOOP_CONTROL) -> bool:
    """Loop devices can be attached by this process."""
    try:
        mode = os.stat(control).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) and os.access(control, os.R_OK | os.W_OK)


def missing(*features: str) -> str | None:
    """Why the kernel cannot do `features` ("dm", "md", "loop"), or None."""
    reasons = {
        "dm": (has_dm, "the kernel has no device-mapper (no 'device-mapper' in /proc/misc)"),
        "md": (has_md, "the kernel has no md RAID (no /proc/mdstat)"),
        "loop": (has_loop, f"loop devices are not available ({LOOP_CONTROL} is missing"
                           " or not writable: needs root)"),
    }
    found = [reasons[f][1] for f in features if not reasons[f][0]()]
    return "; ".join(found) or None


@contextmanager
def dm_control_guard() -> Iterator[None]:
    """Remove a /dev/mapper/control that libdevmapper created during the block
    on a kernel without device-mapper (and /dev/mapper if it made that too)."""
    mapper = os.path.dirname(DM_CONTROL)
    had_dir = os.path.lexists(mapper)
    had_node = os.path.lexists(DM_CONTROL)
    try:
        yield
    finally:
        if not had_node and not has_dm():
            try:
                if stat.S_ISCHR(os.lstat(DM_CONTROL).st_mode):
                    os.unlink(DM_CONTROL)
            except OSError:
                pass
            if not had_dir:
                try:
                    os.rmdir(mapper)
                except OSError:
                    pass
