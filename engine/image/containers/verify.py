"""Reading a build's containers back before the image is named: their
identifiers as planned, the filesystems inside as planned and clean, and no
identifier twice."""

from __future__ import annotations

import os
from collections.abc import Callable

from engine.errors import ToolError
from engine.image import luks, lvm, mdraid
from engine.image.clone import Region, probe
from engine.image.containers.plan import Container, container_key
from engine.image.filesystems import FsSpec
from engine.image.verify import FsCheck, check_filesystem


def verify_containers(image: str, boxes: tuple[Container, ...], plain: tuple[FsSpec, ...],
                      workdir: str) -> tuple[FsCheck, ...]:
    """Read every container back: its identifiers as planned, the
    filesystems inside as planned and clean, and no identifier twice (among
    the containers, the filesystems inside them and the plain filesystems)."""
    def fail(message: str) -> ToolError:
        return ToolError(f"verify: {message}")

    seen: dict[str, str] = {s.uuid.lower(): f"partition {s.number}" for s in plain}

    def unique(value: str, where: str) -> None:
        if value.lower() in seen:
            raise fail(f"{where} and {seen[value.lower()]} share the identifier {value}")
        seen[value.lower()] = where

    checks: list[FsCheck] = []
    for box in boxes:
        where = f"partition {box.number} ({box.key})"
        if box.kind == "luks":
            assert box.inner is not None
            header = luks.read_header(image, box.offset)
            if luks.luks_uuid(image, box.offset, box.size) != header.uuid:
                raise fail(f"{where}: blkid and the LUKS header disagree on the UUID")
            unique(header.uuid, f"{where} (LUKS)")
            key = container_key(box)
            if not luks.check_key(image, box.offset, box.size, key, workdir=workdir):
                raise fail(f"{where}: the passphrase does not open the LUKS container")
            plain_file = os.path.join(workdir, f"check{box.number}.payload")
            try:
                luks.read_payload(image, box.offset, box.size, key, plain_file, workdir=workdir)
                payload = box.size - header.data_offset
                checks.append(_check_inner(plain_file, 0, payload, box.inner, where, workdir,
                                           unique))
            finally:
                if os.path.exists(plain_file):
                    os.unlink(plain_file)
        elif box.kind == "raid":
            sb = mdraid.read_member(image, box.offset)
            if not sb.checksum_ok:
                raise fail(f"{where}: the md superblock checksum is wrong")
            unique(sb.set_uuid, f"{where} (md array)")
            unique(sb.device_uuid, f"{where} (md device)")
            if box.inner is not None:
                checks.append(_check_inner(image, box.inner.offset, box.inner.size, box.inner,
                                           where, workdir, unique))
        else:
            vg = lvm.read_volume_group(image, box.offset, box.size, workdir=workdir)
            unique(vg.uuid, f"{where} (VG {vg.name})")
            unique(vg.pv_uuid, f"{where} (PV)")
            unique(f"vg-name:{vg.name}", f"{where} (VG name)")
            for spec in box.volumes:
                lv = vg.volume(spec.name)
                fs = FsSpec(number=box.number, key=f"{vg.name}/{lv.name}", role="custom",
                            kind=spec.kind, label=spec.label, uuid="", offset=lv.offset,
                            size=lv.size, mountpoint=spec.mountpoint)
                checks.append(_check_inner(image, lv.offset, lv.size, fs,
                                           f"{where} LV {vg.name}/{lv.name}", workdir, unique))
    return tuple(checks)


def _check_inner(path: str, offset: int, size: int, spec: FsSpec, where: str, workdir: str,
                 unique: Callable[[str, str], None]) -> FsCheck:
    found = probe(Region(path, offset, size))
    if found.get("TYPE") != spec.blkid_type:
        raise ToolError(f"verify: {where} holds {found.get('TYPE') or 'nothing'} inside,"
                        f" planned {spec.blkid_type}")
    if spec.uuid and found.get("UUID", "").lower() != spec.uuid.lower():
        raise ToolError(f"verify: {where} has UUID {found.get('UUID')} inside, expected {spec.uuid}")
    if (found.get("LABEL") or None) != spec.label:
        raise ToolError(f"verify: {where} has label {found.get('LABEL')!r} inside,"
                        f" expected {spec.label!r}")
    unique(found["UUID"], f"{where} (filesystem inside)")
    check = check_filesystem(path, spec.number, offset, size, spec.blkid_type, workdir)
    if not check.ok:
        raise ToolError(f"verify: {check.tool} finds problems in {where}: {check.detail}")
    return check
