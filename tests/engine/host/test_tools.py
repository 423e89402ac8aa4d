"""A tool's failure is reported with the tool's own reason line."""

from __future__ import annotations

import pytest

from engine.host.tools import reason_line

# what the tools print (measured on Debian 12), and the line that names the problem
CASES = [
    ("mkfs.xfs below 300 MiB",
     "Filesystem must be larger than 300MB.\nUsage: mkfs.xfs\n/* blocksize */\t\t[-b size=num]\n"
     "/* metadata */\t\t[-m crc=0|1,finobt=0|1]\n<value> is xxx (512 byte blocks).\n",
     "Filesystem must be larger than 300MB."),
    ("mkfs.xfs label too long",
     "Invalid value ABCDEFGHIJKLM for -L option\nUsage: mkfs.xfs\n<value> is xxx (512 byte blocks).",
     "Invalid value ABCDEFGHIJKLM for -L option"),
    ("mkfs.btrfs below its minimum",
     "btrfs-progs v6.2\nSee http://btrfs.wiki.kernel.org for more information.\n\n"
     "ERROR: 'p.btrfs' is too small to make a usable filesystem\n"
     "ERROR: minimum size for each btrfs device is 114294784\n",
     "ERROR: 'p.btrfs' is too small to make a usable filesystem"),
    ("mke2fs in 100 KiB",
     "mke2fs 1.47.0 (5-Feb-2023)\next2fs_mkdir: Could not allocate inode in ext2 filesystem"
     " while creating /lost+found\n",
     "ext2fs_mkdir: Could not allocate inode in ext2 filesystem while creating /lost+found"),
    ("mkfs.vfat too small",
     "mkfs.fat 4.2 (2021-01-31)\nWarning: block count mismatch: found 2048 but assuming 1024.\n"
     "mkfs.vfat: Attempting to create a too small or a too large filesystem\n",
     "mkfs.vfat: Attempting to create a too small or a too large filesystem"),
    ("mcopy", "No directory slots\n", "No directory slots"),
    ("nothing", "", "no message"),
]


@pytest.mark.parametrize("name,output,reason", CASES, ids=[c[0] for c in CASES])
def test_reason_line(name: str, output: str, reason: str) -> None:
    assert reason_line(output) == reason
