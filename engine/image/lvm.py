"""LVM in a region of an image file: a PV and volume group with its logical
volumes, where each volume's bytes are, and new identities for clones.

LVM cannot use a plain file (pvcreate: "No device found"), so the region is
attached as a loop device by offset (`losetup -f --show -o OFF --sizelimit
LEN`, no partition scan) for the length of one `attach()` block, and always
detached. The LVM tools run with a private LVM_SYSTEM_DIR whose lvm.conf
accepts only that loop device, never activates anything
(`activation=0`: this kernel may have no device-mapper), writes no backups or
archives and locks in the temporary directory: nothing of the host's LVM
setup is read or changed, and a host VG with the same name does not matter.

Volumes are never activated, so their contents are written straight into the
image at their physical extents: `LvInfo.offset` is the region offset plus
`pe_start` plus the first extent times the extent size (from `pvs -o
pe_start` and `lvs --segments -o seg_pe_ranges`), e.g. for
`mkfs.ext4 -E offset=`.

    attach(image, offset, size, *, workdir=None) -> context manager of LvmSession
    create_volume_group(image, offset, size, volumes, *, vg_name="systemVG",
                        pv_uuid=None, workdir=None) -> VgInfo
    read_volume_group(image, offset, size, *, workdir=None, read_only=False) -> VgInfo
    import_clone(image, offset, size, new_name, *, fs_uuids=None, ident=None,
                 workdir=None) -> VgInfo
    clone_vg_name(base, index) -> str         systemVG -> systemVG1, systemVG2 ...
    lvm_uuid(value) -> str                    a UUID in LVM's 32-character form

Clones: `vgimportclone -n NEWNAME` on the clone's loop gives a new PV UUID and
VG UUID and renames the VG as KIWI does (systemVG -> systemVG1); the LV UUIDs
stay (as with KIWI). Beyond KIWI, `import_clone` also gives every filesystem
inside the clone's volumes a new UUID.

Needs root and /dev/loop-control (`kernel.has_loop()`); otherwise every call
raises `KernelFeatureMissing` before touching anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
import uuid as uuidlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from engine.errors import PartwrightError, ToolError
from engine.host import kernel
from engine.host.tools import run, which
from engine.image import inner
from engine.image.identity import Identity

DEFAULT_VG = "systemVG"  # KIWI's default volume group name
LVM_CONF = """\
devices {{
    obtain_device_list_from_udev = 0
    external_device_info_source = "none"
    hints = "none"
    use_devicesfile = 0
    md_component_detection = 0
    multipath_component_detection = 0
    filter = [ "a|^{loop}$|", "r|.*|" ]
    global_filter = [ "a|^{loop}$|", "r|.*|" ]
}}
activation {{
    udev_sync = 0
    udev_rules = 0
    monitoring = 0
}}
global {{
    activation = 0
    locking_dir = "{lock}"
    use_lvmlockd = 0
    event_activation = 0
    notify_dbus = 0
}}
backup {{
    backup = 0
    archive = 0
}}
log {{
    syslog = 0
}}
"""
LVM_CHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


class KernelFeatureMissing(PartwrightError):
    """The kernel (or this process) lacks what a step needs: loop devices, dm, md."""


class LvmError(ToolError):
    """An LVM tool or losetup failed, or the metadata is not what was expected."""


@dataclass(frozen=True)
class VolumeRequest:
    """A logical volume to create: `size` in bytes (rounded up to whole
    extents), or None for what is left (`-l +100%FREE`, created last as KIWI
    creates its full-size volume)."""

    name: str
    size: int | None


@dataclass(frozen=True)
class LvInfo:
    name: str
    uuid: str
    offset: int  # bytes into the image
    size: int  # bytes
    first_extent: int
    extents: int


@dataclass(frozen=True)
class VgInfo:
    name: str
    uuid: str
    pv_uuid: str
    extent_size: int  # bytes
    pe_start: int  # bytes from the region start to extent 0
    extent_count: int
    free_extents: int
    volumes: tuple[LvInfo, ...]

    def volume(self, name: str) -> LvInfo:
        for lv in self.volumes:
            if lv.name == name:
                return lv
        raise PartwrightError(f"volume group {self.name} has no logical volume {name}")


def lvm_uuid(value: uuidlib.UUID | str) -> str:
    """A UUID in LVM's form (32 characters of [0-9a-zA-Z], grouped 6-4-4-4-4-4-6),
    derived from a standard UUID: for `pvcreate --uuid` in a seeded build."""
    number = int.from_bytes(hashlib.sha256(uuidlib.UUID(str(value)).bytes).digest(), "big")
    chars = []
    for _ in range(32):
        number, digit = divmod(number, len(LVM_CHARS))
        chars.append(LVM_CHARS[digit])
    text = "".join(chars)
    groups = (6, 4, 4, 4, 4, 4, 6)
    parts, pos = [], 0
    for width in groups:
        parts.append(text[pos:pos + width])
        pos += width
    return "-".join(parts)


def clone_vg_name(base: str, index: int) -> str:
    """The name vgimportclone gives the `index`th clone of VG `base` (KIWI: systemVG1)."""
    return f"{base}{index}"


def _require_loop() -> None:
    reason = kernel.missing("loop")
    if reason is not None:
        raise KernelFeatureMissing(f"LVM needs a loop device: {reason}")


@dataclass(frozen=True)
class LvmSession:
    """A region attached as `loop`, with the private LVM configuration."""

    image: str
    offset: int
    size: int
    loop: str
    system_dir: str

    def env(self) -> dict[str, str]:
        return {"LVM_SYSTEM_DIR": self.system_dir, "LVM_SUPPRESS_FD_WARNINGS": "1",
                "DM_DISABLE_UDEV": "1"}

    def lvm(self, *args: str, what: str) -> subprocess.CompletedProcess[str]:
        """Run `lvm ARGS` against this session's loop device only."""
        try:
            with kernel.dm_control_guard():
                return run(["lvm", *args], env=self.env(), what=what)
        except ToolError as exc:
            raise LvmError(str(exc)) from None

    def report(self, command: str, fields: str, *extra: str) -> list[dict[str, str]]:
        """Rows of `pvs`/`lvs`/`vgs` in bytes, from its JSON report."""
        proc = self.lvm(command, "--reportformat", "json", "--units", "b", "--nosuffix",
                        "-o", fields, *extra, what=f"{command} -o {fields}")
        try:
            data: dict[str, Any] = json.loads(proc.stdout)
            rows: list[dict[str, str]] = []
            for block in data["report"]:
                for value in block.values():
                    rows.extend(value)
            return rows
        except (ValueError, KeyError, TypeError, AttributeError):
            raise LvmError(f"{command} printed a report that cannot be read") from None

    def flush(self) -> None:
        run(["blockdev", "--flushbufs", self.loop], check=False)


@contextmanager
def attach(image: str, offset: int, size: int, *, workdir: str | None = None,
           read_only: bool = False) -> Iterator[LvmSession]:
    """Attach [offset, offset+size) of `image` as a loop device with a
    private LVM configuration; detach it however the block ends.
    `read_only`: a read-only loop device (`losetup -r`: for reading an image
    back, nothing can be written to it)."""
    _require_loop()
    which("losetup")
    which("lvm")
    if offset % 512 or size % 512 or size <= 0:
        raise PartwrightError(f"LVM region {offset}+{size} is not whole 512-byte sectors")
    with tempfile.TemporaryDirectory(prefix="partwright-lvm-", dir=workdir) as tmp:
        lock = os.path.join(tmp, "lock")
        os.mkdir(lock, 0o700)
        proc = run(["losetup", "-f", "--show", *(["-r"] if read_only else []), "-o", str(offset),
                    "--sizelimit", str(size), image], check=False)
        loop = proc.stdout.strip()
        if proc.returncode != 0 or not loop.startswith("/dev/loop"):
            detail = (proc.stderr.strip().splitlines() or ["no message"])[-1]
            raise LvmError(f"losetup could not attach {image} at offset {offset}: {detail}")
        completed = False
        try:
            with open(os.path.join(tmp, "lvm.conf"), "w", encoding="ascii") as conf:
                conf.write(LVM_CONF.format(loop=loop, lock=lock))
            session = LvmSession(image, offset, size, loop, tmp)
            yield session
            session.flush()
            completed = True
        finally:
            detach = run(["losetup", "-d", loop], check=False)
            if detach.returncode != 0 and completed:  # else: do not hide the first error
                raise LvmError(f"losetup could not detach {loop}: {detach.stderr.strip()}")


def _read(session: LvmSession) -> VgInfo:
    pvs = session.report("pvs", "pv_name,pv_uuid,pe_start,vg_name,vg_uuid,vg_extent_size,"
                                "pv_pe_count,pv_pe_alloc_count")
    pvs = [row for row in pvs if row.get("pv_name") == session.loop]
    if len(pvs) != 1 or not pvs[0].get("vg_name"):
        raise LvmError(f"{session.image} at offset {session.offset}: no LVM volume group found")
    pv = pvs[0]
    extent_size = int(pv["vg_extent_size"])
    pe_start = int(pv["pe_start"])
    segments = session.report("lvs", "lv_name,lv_uuid,seg_pe_ranges,seg_start_pe,seg_size_pe",
                              "--segments", pv["vg_name"])
    volumes: dict[str, LvInfo] = {}
    for seg in segments:
        name = seg["lv_name"]
        ranges = seg["seg_pe_ranges"].split()
        if len(ranges) != 1 or name in volumes:
            raise LvmError(f"logical volume {name} is not one contiguous run of extents")
        _device, _, span = ranges[0].rpartition(":")
        first, _, last = span.partition("-")
        first_pe, last_pe = int(first), int(last)
        count = last_pe - first_pe + 1
        volumes[name] = LvInfo(
            name=name, uuid=seg["lv_uuid"],
            offset=session.offset + pe_start + first_pe * extent_size,
            size=count * extent_size, first_extent=first_pe, extents=count)
    ordered = tuple(sorted(volumes.values(), key=lambda lv: lv.first_extent))
    total = int(pv["pv_pe_count"])
    return VgInfo(name=pv["vg_name"], uuid=pv["vg_uuid"], pv_uuid=pv["pv_uuid"],
                  extent_size=extent_size, pe_start=pe_start, extent_count=total,
                  free_extents=total - int(pv["pv_pe_alloc_count"]), volumes=ordered)


def create_volume_group(
    image: str,
    offset: int,
    size: int,
    volumes: Sequence[VolumeRequest],
    *,
    vg_name: str = DEFAULT_VG,
    pv_uuid: str | None = None,
    workdir: str | None = None,
) -> VgInfo:
    """pvcreate + vgcreate on the region and `lvcreate -an -Zn` for each
    volume (sized ones in order, then the one without a size). `pv_uuid`: an
    LVM-form UUID for the PV (see lvm_uuid); VG and LV UUIDs are LVM's own."""
    rest = [v for v in volumes if v.size is None]
    if len(rest) > 1:
        raise PartwrightError(f"only one logical volume can take the rest of {vg_name}:"
                              f" {', '.join(v.name for v in rest)}")
    names = [v.name for v in volumes]
    if len(set(names)) != len(names):
        raise PartwrightError(f"volume group {vg_name} has two logical volumes of the same name")
    with attach(image, offset, size, workdir=workdir) as session:
        pvcreate = ["pvcreate", "-q", "-y"]
        if pv_uuid is not None:
            pvcreate += ["--norestorefile", "--uuid", pv_uuid]
        session.lvm(*pvcreate, session.loop, what="pvcreate")
        session.lvm("vgcreate", "-q", vg_name, session.loop, what=f"vgcreate {vg_name}")
        for volume in [*(v for v in volumes if v.size is not None), *rest]:
            amount = ["-l", "+100%FREE"] if volume.size is None else ["-L", f"{volume.size}b"]
            session.lvm("lvcreate", "-q", "-an", "-Zn", *amount, "-n", volume.name, vg_name,
                        what=f"lvcreate {vg_name}/{volume.name}")
        return _read(session)


def read_volume_group(image: str, offset: int, size: int, *, workdir: str | None = None,
                      read_only: bool = False) -> VgInfo:
    """The VG, PV and volumes in the region, as `pvs`/`lvs` report them
    (`read_only`: on a read-only loop device)."""
    with attach(image, offset, size, workdir=workdir, read_only=read_only) as session:
        return _read(session)


def import_clone(
    image: str,
    offset: int,
    size: int,
    new_name: str,
    *,
    fs_uuids: Mapping[str, str] | None = None,
    ident: Identity | None = None,
    workdir: str | None = None,
) -> VgInfo:
    """Make the block copy of a VG at `offset` its own: `vgimportclone -n
    new_name` (new PV and VG UUIDs, the VG renamed), then a new UUID for the
    filesystem in each logical volume (`fs_uuids`: LV name -> UUID; random
    for the others; volumes without a filesystem are left alone)."""
    with attach(image, offset, size, workdir=workdir) as session:
        before = _read(session)
        session.lvm("vgimportclone", "-q", "-n", new_name, session.loop,
                    what=f"vgimportclone -n {new_name}")
        after = _read(session)
    if after.uuid == before.uuid or after.pv_uuid == before.pv_uuid or after.name != new_name:
        raise LvmError(f"vgimportclone left the clone at offset {offset} with its origin's identity")
    for lv in after.volumes:
        inner.reuuid_filesystem(image, lv.offset, lv.size, (fs_uuids or {}).get(lv.name),
                                what=f"{new_name}/{lv.name}", ident=ident, workdir=workdir)
    return after
