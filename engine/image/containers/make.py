"""Making the containers of a build and cloning them, on the primitives of
luks, lvm and mdraid.

Clones are block copies of their origin, then: a new LUKS UUID and a new
UUID for the filesystem inside; vgimportclone (new PV/VG UUIDs, the VG renamed
systemVG1, systemVG2 ...) and new UUIDs for the filesystems in every LV; new
md array and device UUIDs and a new UUID for the filesystem inside. With
--seed every one of these derives from the seed, except what the tools draw
themselves (LUKS salts and volume keys, LVM VG/LV UUIDs).
"""

from __future__ import annotations

import os
from dataclasses import replace

from engine.errors import PartwrightError
from engine.host import sparse
from engine.host.tools import run
from engine.image import luks, lvm, mdraid
from engine.image.containers.plan import Container, LvSpec, container_key, fast_kdf
from engine.image.filesystems import FsSpec, make_filesystem
from engine.image.identity import Identity
from engine.image.populate import Share


def make_containers(image: str, boxes: tuple[Container, ...], ident: Identity, workdir: str,
                    contents: dict[int, Share]) -> None:
    """The origin containers and the filesystems inside them."""
    for box in boxes:
        if box.clone_of is not None:
            continue
        if box.kind == "luks":
            _make_luks(image, box, ident, workdir, contents.get(box.number))
        elif box.kind == "raid":
            sb = mdraid.write_member(
                image, box.offset, box.size, level=box.raid_level or "mirroring",
                set_uuid=ident.uuid(f"md-set-uuid/{box.number}"),
                device_uuid=ident.uuid(f"md-device-uuid/{box.number}"), epoch=ident.epoch)
            if box.inner is not None:
                assert box.inner.offset == box.offset + sb.data_offset
                make_filesystem(image, box.inner, ident, workdir, contents.get(box.number))
        else:
            _make_lvm(image, box, ident, workdir)


def _make_luks(image: str, box: Container, ident: Identity, workdir: str,
               content: Share | None) -> None:
    assert box.inner is not None
    payload = luks.payload_bytes(box.size, box.luks_version)
    plain = os.path.join(workdir, f"p{box.number}.luks-payload")
    with open(plain, "wb") as fh:
        fh.truncate(payload)
    try:
        spec = replace(box.inner, offset=0, size=payload)
        make_filesystem(plain, spec, ident, workdir, content)
        if spec.kind == "xfs":
            _zero_xfs_log(plain)
        luks.format_luks(image, box.offset, box.size, container_key(box), version=box.luks_version,
                         uuid=ident.uuid_str(f"luks-uuid/{box.number}"), fast=fast_kdf(),
                         content=plain, workdir=workdir)
    finally:
        if os.path.exists(plain):
            os.unlink(plain)


def _zero_xfs_log(path: str) -> None:
    """The xfs log must read as zeros past its first record, and the copy
    into the payload file left those zeros as holes: write them out, so that
    they are encrypted (a hole in a container reads as noise)."""
    out = run(["xfs_db", "-r", "-c", "sb 0", "-c", "p logstart logblocks blocksize", path]).stdout
    fields = {k.strip(): v.strip() for k, _, v in (ln.partition("=") for ln in out.splitlines())}
    start = run(["xfs_db", "-r", "-c", f"convert fsb {fields['logstart']} byte", path]).stdout
    offset = int(start.split()[0], 16)
    length = int(fields["logblocks"]) * int(fields["blocksize"])
    with open(path, "r+b") as fh:
        for start_at, size in sparse.holes(fh.fileno(), offset, length):
            sparse.write_zeros(fh.fileno(), start_at, size)


def _lv_fs_spec(box: Container, lv: lvm.LvInfo, spec: LvSpec, ident: Identity) -> FsSpec:
    return FsSpec(number=box.number, key=f"{box.vg_name}/{lv.name}", role="custom",
                  kind=spec.kind, label=spec.label,
                  uuid=ident.uuid_str(f"lv-fs-uuid/{box.number}/{lv.name}"),
                  offset=lv.offset, size=lv.size, mountpoint=spec.mountpoint)


def _make_lvm(image: str, box: Container, ident: Identity, workdir: str) -> None:
    vg = lvm.create_volume_group(
        image, box.offset, box.size,
        [lvm.VolumeRequest(v.name, v.size) for v in box.volumes], vg_name=box.vg_name,
        pv_uuid=lvm.lvm_uuid(ident.uuid(f"lvm-pv-uuid/{box.number}")), workdir=workdir)
    for spec in box.volumes:
        make_filesystem(image, _lv_fs_spec(box, vg.volume(spec.name), spec, ident), ident, workdir)


def clone_containers(image: str, boxes: tuple[Container, ...], ident: Identity,
                     workdir: str) -> dict[int, int]:
    """Block-copy every clone container from its origin and give it its own
    identifiers. Returns the bytes copied per clone partition."""
    origins = {b.number: b for b in boxes if b.clone_of is None}
    copied: dict[int, int] = {}
    for box in boxes:
        if box.clone_of is None:
            continue
        origin = origins[box.clone_of]
        if origin.size != box.size:
            raise PartwrightError(f"partition {box.number} is {box.size} bytes, its origin"
                                  f" {origin.size}")
        with open(image, "r+b") as img:
            copied[box.number] = sparse.copy_range(img.fileno(), origin.offset, img.fileno(),
                                                   box.offset, box.size)
        if box.kind == "luks":
            assert box.inner is not None
            luks.set_luks_uuid(image, box.offset, box.size,
                               ident.uuid_str(f"luks-uuid/{box.number}"), workdir=workdir)
            luks.reuuid_payload(image, box.offset, box.size, container_key(box), box.inner.uuid,
                                ident=ident, workdir=workdir)
        elif box.kind == "raid":
            mdraid.clone_member(image, box.offset, box.size,
                                set_uuid=ident.uuid(f"md-set-uuid/{box.number}"),
                                device_uuid=ident.uuid(f"md-device-uuid/{box.number}"),
                                fs_uuid=box.inner.uuid if box.inner is not None else None,
                                ident=ident, workdir=workdir)
        else:
            lvm.import_clone(
                image, box.offset, box.size, lvm.clone_vg_name(origin.vg_name, box.clone_index),
                fs_uuids={v.name: ident.uuid_str(f"lv-fs-uuid/{box.number}/{v.name}")
                          for v in box.volumes},
                ident=ident, workdir=workdir)
    return copied
