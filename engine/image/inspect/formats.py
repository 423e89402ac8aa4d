"""What kind of disk file a path holds, and a raw copy of one that is not raw.

Shared by inspect and the importer: both read raw images and block devices
directly, and convert every other format to a sparse raw scratch file first
(a UML COW file merged with its backing file, the record checked but not
refreshed; qcow2 and the rest by qemu-img, the backing chain included).
"""

from __future__ import annotations

import json
import os
import shutil

from engine.cow import merge_to_new
from engine.cow.format import is_uml_cow
from engine.cow.qcow2 import QCOW2_MAGIC
from engine.cow.qcow2 import info as qcow2_info
from engine.errors import PartwrightError
from engine.host.tools import run


def image_format(path: str, head: bytes) -> str:
    """raw, uml-cow, qcow2 or whatever else qemu-img calls the file; `head`
    is at least its first 8 bytes."""
    if is_uml_cow(head):
        return "uml-cow"
    if head.startswith(QCOW2_MAGIC):
        return "qcow2"
    if shutil.which("qemu-img") is None:
        return "raw"
    proc = run(["qemu-img", "info", "--output=json", path], check=False)
    if proc.returncode != 0:
        return "raw"
    return str(json.loads(proc.stdout).get("format", "raw"))


def write_raw(path: str, fmt: str, raw: str) -> None:
    """The disk of `path` (format `fmt`, not raw) as a sparse raw file `raw`."""
    if fmt == "uml-cow":
        merge_to_new(path, raw, refresh=False)
        return
    if fmt == "qcow2":
        backing = qcow2_info(path, with_map=False, need_backing=False).backing
        if backing and not os.path.exists(backing):
            raise PartwrightError(f"{path} is a qcow2 overlay over {backing}, which does not"
                                  " exist: its disk cannot be read without it")
    run(["qemu-img", "convert", "-O", "raw", path, raw], what=f"reading {fmt}")
