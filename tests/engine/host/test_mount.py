"""Loop mounts for the kernel-filled filesystems are always undone."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from engine.host import kernel
from engine.host.mount import kernel_has, loop_mounted, unmount_below

pytestmark = pytest.mark.skipif(kernel.missing("loop") is not None or not kernel_has("ext4"),
                                reason=str(kernel.missing("loop") or "no ext4 in the kernel"))


def _fs(tmp: Path) -> Path:
    image = tmp / "fs.img"
    with open(image, "wb") as fh:
        fh.truncate(8 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
    return image


def test_unmounted_after_an_exception(tmp_path: Path) -> None:
    image, where = _fs(tmp_path), tmp_path / "mnt"
    with pytest.raises(RuntimeError), loop_mounted(str(image), "ext4", str(where)):
        assert os.path.ismount(where)
        (where / "file").write_text("x")
        raise RuntimeError("interrupted")
    assert not os.path.ismount(where)


def test_what_a_killed_build_left_mounted_is_unmounted(tmp_path: Path) -> None:
    image, scratch = _fs(tmp_path), tmp_path / "out.img.partial.d"
    where = scratch / "mnt 3"
    where.mkdir(parents=True)
    subprocess.run(["mount", "-o", "loop", str(image), str(where)], check=True)
    try:
        assert unmount_below(str(scratch)) == [str(where)]
        assert not os.path.ismount(where)
    finally:
        if os.path.ismount(where):
            subprocess.run(["umount", str(where)], check=False)
