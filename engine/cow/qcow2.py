"""qcow2 overlays through qemu-img (qemu-img cannot read UML COW files).

qcow2 records only the backing file's name and format: no size, mtime or
digest. partwright adds its backing record (sidecar) to close that gap.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from engine.errors import CowError, ToolError
from engine.host.atomic import StrPath
from engine.host.tools import run

QCOW2_MAGIC = b"QFI\xfb"


def is_qcow2(path: StrPath) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == QCOW2_MAGIC
    except OSError:
        return False


def _qemu_img(*args: str, bad_input: bool = False) -> str:
    proc = run(["qemu-img", *args], check=False)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()] or [f"exit {proc.returncode}"]
        message = f"qemu-img {args[0]} failed: {lines[0]}"
        raise CowError(message) if bad_input else ToolError(message)
    return proc.stdout


def backing_format(backing: StrPath) -> str:
    return "qcow2" if is_qcow2(backing) else "raw"


def create(backing: str, target: str) -> None:
    """An empty qcow2 overlay at target over the absolute path backing."""
    _qemu_img("create", "-q", "-f", "qcow2", "-b", backing, "-F", backing_format(backing), target)


@dataclass(frozen=True)
class QInfo:
    compat: str
    backing: str
    size: int
    allocated: int
    present: int  # guest bytes stored in the overlay itself (data and zeroed clusters)


def _map(path: str, own_only: bool) -> list[dict[str, object]]:
    """qemu-img map of the image: the overlay alone (its backing file left
    out, so it need not exist), or with its backing chain."""
    if own_only:
        spec = json.dumps({"driver": "qcow2", "file": {"driver": "file", "filename": path},
                           "backing": None})
        ranges = _qemu_img("map", "--force-share", "--output=json", f"json:{spec}",
                           bad_input=True)
    else:
        ranges = _qemu_img("map", "--force-share", "--output=json", "-f", "qcow2", path,
                           bad_input=True)
    found: list[dict[str, object]] = json.loads(ranges)
    return found


def backing_data(path: StrPath) -> int:
    """Guest bytes of the image that hold data from its backing chain (what
    a merge copies from there)."""
    return sum(int(str(r["length"])) for r in _map(os.fspath(path), own_only=False)
               if int(str(r.get("depth", 0))) >= 1 and r.get("data"))


def info(path: StrPath, with_map: bool = True, need_backing: bool = True) -> QInfo:
    """qemu-img info (and, with_map, the guest bytes the overlay itself
    holds, from qemu-img map of the overlay alone: its backing file need not
    exist); an image without a backing file is refused unless
    `need_backing` is False."""
    p = os.fspath(path)
    raw = _qemu_img("info", "--force-share", "--output=json", "-f", "qcow2", p, bad_input=True)
    doc = json.loads(raw)
    backing = str(doc.get("full-backing-filename") or doc.get("backing-filename") or "")
    if not backing and need_backing:
        raise CowError(f"{p}: qcow2 image has no backing file")
    compat = str(doc.get("format-specific", {}).get("data", {}).get("compat", "qcow2"))
    present = 0
    if with_map:
        present = sum(int(str(r["length"])) for r in _map(os.path.abspath(p), own_only=True)
                      if r.get("depth") == 0 and r.get("present"))
    return QInfo(f"qcow2 {compat}", backing, int(doc["virtual-size"]),
                 int(doc.get("actual-size", 0)), present)


def convert(path: StrPath, target: str) -> None:
    """The overlay and its backing chain as a sparse raw image at target."""
    _qemu_img("convert", "-f", "qcow2", "-O", "raw", os.fspath(path), target)


def commit(path: StrPath) -> None:
    """Write the overlay's clusters into its backing file."""
    _qemu_img("commit", "-q", "-f", "qcow2", os.fspath(path))


def check(path: StrPath) -> None:
    """qemu-img check: CowError if the image has errors."""
    _qemu_img("check", "-q", "-f", "qcow2", os.fspath(path), bad_input=True)
