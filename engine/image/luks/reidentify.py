"""New identifiers for a LUKS clone: the container's UUID (cryptsetup
luksUUID) and, beyond KIWI, whose LUKS clones keep it, a new UUID for the
filesystem inside. Clones share their origin's volume key (as KIWI's do),
so the clone still opens with the origin's key.

    set_luks_uuid(image, offset, size, new_uuid=None, *, workdir=None) -> str
    reuuid_payload(image, offset, size, key, new_uuid=None, *, ident=None,
                   workdir=None) -> (type, uuid) | None
"""

from __future__ import annotations

import os
import uuid as uuidlib

from engine.image import inner
from engine.image.identity import Identity
from engine.image.luks.cryptsetup import check_uuid, cryptsetup, header_copy, new_file, scratch
from engine.image.luks.header import LuksError, read_header
from engine.image.luks.keys import KeySource
from engine.image.luks.payload import crypt_extents, unlock
from engine.image.xts import Xts


def set_luks_uuid(image: str, offset: int, size: int, new_uuid: str | None = None,
                  *, workdir: str | None = None) -> str:
    """Give the container at `offset` a new UUID (`cryptsetup luksUUID --uuid`),
    random when `new_uuid` is None; returns it. The volume key, the key slots
    and the payload stay as they are (a clone still opens with its origin's key)."""
    value = check_uuid(new_uuid) if new_uuid is not None else str(uuidlib.uuid4())
    with scratch(workdir) as tmpdir, header_copy(image, offset, size, tmpdir,
                                                 write_back=True) as tmp:
        cryptsetup(["luksUUID", "-q", "--uuid", value, tmp],
                   what=f"new UUID for the container at offset {offset}")
    found = read_header(image, offset).uuid
    if found != value:
        raise LuksError(f"the container at offset {offset} has UUID {found} after luksUUID, not {value}")
    return value


def reuuid_payload(image: str, offset: int, size: int, key: KeySource,
                   new_uuid: str | None = None, *, ident: Identity | None = None,
                   workdir: str | None = None) -> tuple[str, str] | None:
    """Give the filesystem inside the container at `offset` a new UUID
    (beyond KIWI, whose LUKS clones keep it): decrypt the payload's data
    extents, re-identify the filesystem, encrypt it back. Returns (type,
    UUID), or None when the payload holds no filesystem."""
    with scratch(workdir) as tmpdir:
        header, payload, vkey = unlock(image, offset, size, key, tmpdir)
        try:
            xts = Xts(bytes(vkey), header.sector_size)
            plain = new_file(tmpdir, "payload", payload)
            fd = os.open(plain, os.O_RDWR)
            try:
                with open(image, "rb") as img:
                    crypt_extents(xts, img.fileno(), offset + header.data_offset, fd, 0,
                                  payload, encrypt=False)
            finally:
                os.close(fd)
            found = inner.reuuid_filesystem(plain, 0, payload, new_uuid, ident=ident,
                                            what=f"the filesystem in the container at offset {offset}",
                                            workdir=tmpdir)
            if found is not None:
                with open(plain, "rb") as src, open(image, "r+b") as dst:
                    crypt_extents(xts, src.fileno(), 0, dst.fileno(),
                                  offset + header.data_offset, payload, encrypt=True)
        finally:
            vkey[:] = bytes(len(vkey))
    return found
