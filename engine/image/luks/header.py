"""The binary LUKS1/LUKS2 header, read by this module (no tool), and the
geometry of the containers partwright makes.

    read_header(image, offset) -> LuksHeader
    normalize_version(luks_version) -> "luks1" | "luks2"
    data_offset(version=None) -> bytes before the payload
    payload_bytes(size, version=None) -> bytes a filesystem inside may have
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass

from engine.errors import PartwrightError, ToolError

LUKS_MAGIC = b"LUKS\xba\xbe"
VERSIONS = {None: "luks2", "": "luks2", "luks": "luks2", "luks1": "luks1", "luks2": "luks2"}
SECTOR = 512
DATA_OFFSETS = {"luks1": 2 * 1024 * 1024, "luks2": 16 * 1024 * 1024}
MIN_PAYLOAD = 1024 * 1024


class LuksError(ToolError):
    """cryptsetup failed, or a region holds no usable LUKS header (exit status 3)."""


@dataclass(frozen=True)
class LuksHeader:
    """What the binary LUKS header of a region says."""

    version: int  # 1 or 2
    uuid: str
    label: str | None  # LUKS2 only
    data_offset: int  # bytes from the region start to the encrypted payload
    header_bytes: int  # bytes of the region that are header (metadata + key slots)
    cipher: str = ""  # e.g. aes-xts-plain64
    sector_size: int = 512  # encryption sector of the payload
    iv_tweak: int = 0  # LUKS2 segment iv_tweak (sector number of the payload's first sector)


def normalize_version(version: str | None) -> str:
    """KIWI's luks_version (None, luks, luks1, luks2) as a cryptsetup --type.
    "luks" and no value mean cryptsetup's default format, LUKS2."""
    try:
        return VERSIONS[version]
    except KeyError:
        raise PartwrightError(
            f"unknown LUKS version {version!r} (luks, luks1 or luks2)") from None


def read_header(image: str, offset: int) -> LuksHeader:
    """Parse the LUKS1/LUKS2 binary header (and the LUKS2 JSON area) at `offset`."""
    with open(image, "rb") as fh:
        fd = fh.fileno()
        head = os.pread(fd, 4096, offset)
        if len(head) < 592 or head[:6] != LUKS_MAGIC:
            raise LuksError(f"{image}: no LUKS header at offset {offset}")
        version = struct.unpack_from(">H", head, 6)[0]
        found_uuid = head[168:208].split(b"\0", 1)[0].decode("ascii", "replace")
        if version == 1:
            payload = struct.unpack_from(">I", head, 104)[0] * 512
            name = head[8:40].split(b"\0", 1)[0].decode("ascii", "replace")
            mode = head[40:72].split(b"\0", 1)[0].decode("ascii", "replace")
            return LuksHeader(1, found_uuid, None, payload, payload, f"{name}-{mode}")
        if version != 2:
            raise LuksError(f"{image}: LUKS version {version} at offset {offset} is not supported")
        hdr_size = struct.unpack_from(">Q", head, 8)[0]
        label = head[24:72].split(b"\0", 1)[0].decode("utf-8", "replace") or None
        if not 4096 < hdr_size <= 4 * 1024 * 1024:
            raise LuksError(f"{image}: LUKS2 header at offset {offset} has a bad size {hdr_size}")
        raw = os.pread(fd, hdr_size - 4096, offset + 4096).split(b"\0", 1)[0]
    try:
        meta = json.loads(raw)
        keyslots_size = int(meta["config"]["keyslots_size"])
        segments = sorted(meta["segments"].values(), key=lambda seg: int(seg["offset"]))
        first = segments[0] if segments else {}
        cipher = str(first.get("encryption", ""))
        sector_size = int(first.get("sector_size", 512))
        iv_tweak = int(first.get("iv_tweak", 0))
        offsets = [int(seg["offset"]) for seg in segments]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise LuksError(f"{image}: the LUKS2 metadata at offset {offset} cannot be read") from None
    header_bytes = 2 * hdr_size + keyslots_size
    data_offset = min(offsets) if offsets else header_bytes
    return LuksHeader(2, found_uuid, label, data_offset, max(header_bytes, data_offset),
                      cipher, sector_size, iv_tweak)


def data_offset(version: str | None = None) -> int:
    """Where the payload starts in a container this module makes: 16 MiB for
    LUKS2 (cryptsetup's default), 2 MiB for LUKS1 (4096 sectors)."""
    return DATA_OFFSETS[normalize_version(version)]


def payload_bytes(size: int, version: str | None = None) -> int:
    """How many bytes a filesystem inside a container of `size` bytes may have."""
    room = size - data_offset(version)
    if room < MIN_PAYLOAD:
        raise PartwrightError(
            f"a region of {size} bytes is too small for a {normalize_version(version)}"
            f" container: its header alone takes {data_offset(version)} bytes")
    return room - room % SECTOR
