"""Running the external tools the image engine drives (mkfs, tune2fs, blkid ...).

Every failure becomes a one-line `ToolError` (exit status 3) that names the
tool, what it was doing (the partition) and the tool's own reason: the first
line of its output that names a problem, before any usage text and past
version banners (`reason_line`). A missing tool says which package has it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence

from engine.errors import ToolError

# tool -> Debian package, for the message when it is missing
PACKAGES: dict[str, str] = {
    "mkfs.ext2": "e2fsprogs", "mkfs.ext3": "e2fsprogs", "mkfs.ext4": "e2fsprogs",
    "tune2fs": "e2fsprogs", "e2fsck": "e2fsprogs", "debugfs": "e2fsprogs",
    "mkfs.xfs": "xfsprogs", "xfs_admin": "xfsprogs", "xfs_repair": "xfsprogs",
    "xfs_db": "xfsprogs",
    "mkfs.btrfs": "btrfs-progs", "btrfstune": "btrfs-progs", "btrfs": "btrfs-progs",
    "mkfs.vfat": "dosfstools", "fsck.vfat": "dosfstools",
    "mcopy": "mtools", "mmd": "mtools",
    "mksquashfs": "squashfs-tools", "unsquashfs": "squashfs-tools",
    "mount": "mount", "umount": "mount",
    "mkswap": "util-linux", "swaplabel": "util-linux", "blkid": "util-linux",
    "sfdisk": "fdisk", "sgdisk": "gdisk", "qemu-img": "qemu-utils",
}


def which(tool: str) -> str:
    """The full path of `tool`, or a ToolError naming the package to install."""
    path = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin:/usr/bin:/bin")
    if path is None:
        package = PACKAGES.get(tool)
        hint = f" (install the Debian package {package})" if package else ""
        raise ToolError(f"{tool} is not installed{hint}")
    return path


def run(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    check: bool = True,
    what: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a tool; on failure raise a one-line ToolError (unless check=False)."""
    argv = [which(args[0]), *args[1:]]
    full_env = dict(os.environ)
    full_env["LC_ALL"] = "C"
    if env:
        full_env.update(env)
    try:
        proc = subprocess.run(
            argv, input=input_text, capture_output=True, text=True, env=full_env,
            encoding="utf-8", errors="surrogateescape",
            check=False, stdin=None if input_text is not None else subprocess.DEVNULL,
        )
    except OSError as exc:
        raise ToolError(f"{args[0]} could not run: {exc.strerror or exc}") from exc
    if check and proc.returncode != 0:
        raise ToolError(failure_message(args[0], proc, what))
    return proc


USAGE = re.compile(r"^(usage|Usage|USAGE)\b")
NOISE = re.compile(r"^(\S+ \d+(\.\d+)+[a-z]* \(\d+-\w+-\d+\)$|btrfs-progs v|See https?:|"
                   r"Warning: block count mismatch|Allowing write of corrupted data)")
PROBLEM = re.compile(r"error|must|too (small|large|big|long|many|few)|invalid|cannot|can't|"
                     r"could not|couldn't|not enough|failed|refus|no space|no such|not allowed|"
                     r"no directory slots|denied|not supported|unknown|bad |corrupt|exceeds",
                     re.IGNORECASE)


def reason_line(text: str) -> str:
    """The line of a tool's output that says what went wrong."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    before_usage = []
    for line in lines:
        if USAGE.match(line):
            break
        before_usage.append(line)
    candidates = [ln for ln in (before_usage or lines) if not NOISE.match(ln)]
    for line in candidates:
        if PROBLEM.search(line):
            return line
    if candidates:
        return candidates[0]
    return lines[-1] if lines else "no message"


def failure_message(tool: str, proc: subprocess.CompletedProcess[str], what: str | None) -> str:
    detail = reason_line((proc.stderr or "") + "\n" + (proc.stdout or ""))
    doing = f" ({what})" if what else ""
    return f"{tool} failed with status {proc.returncode}{doing}: {detail}"
