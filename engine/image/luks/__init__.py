"""LUKS containers in a region of an image file, the filesystem inside them,
and new UUIDs for their clones. No device-mapper and no loop device needed.

- `keys`: where the key comes from (`KeySource`), read without showing it
- `header`: the binary LUKS1/LUKS2 header, and the containers' geometry
- `cryptsetup`: cryptsetup on a temporary copy of the region's header
  (format, UUID, dump, key check, volume key)
- `payload`: the filesystem inside, encrypted and decrypted in user space
  (aes-xts-plain64, as dm-crypt), and `format_luks` around it
- `reidentify`: new identifiers for a clone

A container is formatted in a sparse temporary file of the region's size and
copied in sparsely (the header is the only data); a clone gets its new UUID
on a temporary file that holds the region's header (the payload is not
needed), which is copied back.
"""

from engine.image.luks.cryptsetup import check_key, luks_dump, luks_uuid
from engine.image.luks.header import (
    LuksError,
    LuksHeader,
    data_offset,
    normalize_version,
    payload_bytes,
    read_header,
)
from engine.image.luks.keys import KeySource
from engine.image.luks.payload import format_luks, read_payload
from engine.image.luks.reidentify import reuuid_payload, set_luks_uuid

__all__ = [
    "KeySource",
    "LuksError",
    "LuksHeader",
    "check_key",
    "data_offset",
    "format_luks",
    "luks_dump",
    "luks_uuid",
    "normalize_version",
    "payload_bytes",
    "read_header",
    "read_payload",
    "reuuid_payload",
    "set_luks_uuid",
]
