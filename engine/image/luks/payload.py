"""The payload of a LUKS container (the filesystem inside), written and read
in user space, and containers formatted around it.

The payload cannot go through dm-crypt on a kernel without device-mapper,
so it is encrypted exactly as dm-crypt would (aes-xts-plain64, 512-byte
sectors, engine/image/xts.py; the tests check it against `cryptsetup
reencrypt`): the container is formatted with a fresh volume key handed to
cryptsetup through a pipe, and the allocated extents of a filesystem image
are encrypted into it. Holes stay holes, so the image stays sparse (an
opened container shows noise there, as for any never-written sector; the
filesystems do not read it). Extents a tool zeroed with fallocate
(mkfs.xfs's log) are encrypted as zeros (FIEMAP). Volume keys live in
memory only (bytearrays wiped after use, as far as Python allows).

    format_luks(image, offset, size, key, *, version=None, uuid=None, label=None,
                fast=False, content=None, workdir=None) -> LuksHeader
    read_payload(image, offset, size, key, target, *, full=False, workdir=None) -> LuksHeader

`fast=True` (tests, CI) uses pbkdf2 with 1000 iterations instead of
cryptsetup's benchmarked default (argon2id with 1 GiB of memory for LUKS2).
Salts and volume keys are random even when the UUID is given, so two seeded
builds with LUKS differ in those bytes.
"""

from __future__ import annotations

import os

from engine.errors import PartwrightError
from engine.host import sparse
from engine.image.luks.cryptsetup import check_uuid, cryptsetup, new_file, scratch, volume_key
from engine.image.luks.header import (
    SECTOR,
    LuksError,
    LuksHeader,
    data_offset,
    normalize_version,
    payload_bytes,
    read_header,
)
from engine.image.luks.keys import KeySource
from engine.image.xts import Xts

FAST_ITERATIONS = 1000
CIPHER = "aes-xts-plain64"  # cryptsetup's default, spelled out: the payload path depends on it
VOLUME_KEY_BYTES = 64  # AES-256-XTS
CRYPT_CHUNK = 1024 * 1024
LABEL_MAX = 47  # LUKS2 label field: 48 bytes, NUL-terminated


def format_luks(
    image: str,
    offset: int,
    size: int,
    key: KeySource,
    *,
    version: str | None = None,
    uuid: str | None = None,
    label: str | None = None,
    fast: bool = False,
    content: str | None = None,
    workdir: str | None = None,
) -> LuksHeader:
    """Make a LUKS container of `size` bytes at `offset` of `image` (the
    whole region is replaced). `version`: KIWI's luks_version; `uuid`: the
    container UUID (random when None); `label`: a LUKS2 label; `fast`: pbkdf2
    with 1000 iterations. The payload starts at `data_offset(version)`.

    `content`: a file of at most `payload_bytes(size, version)` bytes (a
    filesystem image) that becomes the payload: its data extents are
    encrypted in user space with a fresh volume key (aes-xts-plain64, 512-bit
    key, 512-byte sectors, as dm-crypt would), its holes stay holes. Without
    it the payload is left unwritten (holes)."""
    luks_type = normalize_version(version)
    secret = key.read()
    payload = payload_bytes(size, luks_type)
    args = ["luksFormat", "--type", luks_type, "--offset", str(data_offset(luks_type) // SECTOR),
            "--cipher", CIPHER, "--key-size", str(VOLUME_KEY_BYTES * 8)]
    if luks_type == "luks2":
        args += ["--sector-size", str(SECTOR)]
    if fast:
        args += ["--pbkdf", "pbkdf2", "--pbkdf-force-iterations", str(FAST_ITERATIONS)]
    if uuid is not None:
        args += ["--uuid", check_uuid(uuid)]
    if label is not None:
        if luks_type != "luks2":
            raise PartwrightError("a LUKS label needs LUKS2")
        if len(label.encode()) > LABEL_MAX:
            raise PartwrightError(f"LUKS label '{label}' is longer than {LABEL_MAX} bytes")
        args += ["--label", label]
    if content is not None:
        content_size = os.path.getsize(content)
        if content_size > payload:
            raise PartwrightError(
                f"{content} has {content_size} bytes, a {luks_type} container of {size} bytes"
                f" holds {payload}")
    fresh_key = bytearray(os.urandom(VOLUME_KEY_BYTES)) if content is not None else None
    try:
        with scratch(workdir) as tmpdir:
            tmp = new_file(tmpdir, "container", size)
            if fresh_key is None:
                cryptsetup([*args, tmp], key=secret,
                           what=f"{luks_type} container at offset {offset}")
            else:  # the volume key through a pipe: in no file and no argument
                read_fd, write_fd = os.pipe()
                try:
                    os.write(write_fd, bytes(fresh_key))
                    os.close(write_fd)
                    write_fd = -1
                    cryptsetup([*args, "--volume-key-file", f"/dev/fd/{read_fd}", tmp],
                               key=secret, pass_fds=(read_fd,),
                               what=f"{luks_type} container at offset {offset}")
                finally:
                    os.close(read_fd)
                    if write_fd >= 0:
                        os.close(write_fd)
            made = read_header(tmp, 0)
            if os.path.getsize(tmp) != size or made.data_offset != data_offset(luks_type):
                raise LuksError(
                    f"cryptsetup made a {luks_type} container of {os.path.getsize(tmp)} bytes"
                    f" with its payload at {made.data_offset}, not {size} bytes and"
                    f" {data_offset(luks_type)}")
            with open(tmp, "rb") as src, open(image, "r+b") as dst:
                sparse.copy_range(src.fileno(), 0, dst.fileno(), offset, size)
        header = read_header(image, offset)
        if fresh_key is not None and content is not None:
            check_cipher(header, image, offset)
            with open(content, "rb") as src, open(image, "r+b") as dst:
                crypt_extents(Xts(bytes(fresh_key), SECTOR), src.fileno(), 0, dst.fileno(),
                              offset + header.data_offset, payload, encrypt=True)
        return header
    finally:
        if fresh_key is not None:
            fresh_key[:] = bytes(len(fresh_key))


def check_cipher(header: LuksHeader, image: str, offset: int) -> None:
    if header.cipher != CIPHER or header.iv_tweak != 0:
        raise LuksError(f"{image}: the container at offset {offset} uses {header.cipher or 'no cipher'}"
                        f" (iv_tweak {header.iv_tweak}); only {CIPHER} payloads can be written"
                        " or read without device-mapper")


def crypt_extents(xts: Xts, src_fd: int, src_off: int, dst_fd: int, dst_off: int, length: int,
                  *, encrypt: bool, full: bool = False) -> int:
    """En- or decrypt [src_off, src_off+length) of src into dst at dst_off:
    the data extents only (whole sectors), or every sector when `full`.
    Sector numbers count from src_off (encrypt) or dst_off (decrypt): the
    payload start. Returns the bytes written."""
    size = xts.sector_size
    runs: list[tuple[int, int]] | None = [(src_off, length)] if full else None
    if runs is None and encrypt:
        # what a tool wrote, and what it zeroed with fallocate (an unwritten
        # extent: mkfs.xfs's log, mke2fs's zeroed tables), which SEEK_DATA
        # calls a hole: inside the container that must read as zeros, not as
        # the decryption of a hole. Without FIEMAP: every sector.
        runs = sparse.allocated_extents(src_fd, src_off, length)
        if runs is None:
            runs = [(src_off, length)]
    if runs is None:
        runs = sparse.extents(src_fd, src_off, length)
    written = 0
    for start, run in runs:
        first = (start - src_off) // size * size
        end = min(length, -(-(start - src_off + run) // size) * size)
        pos = first
        while pos < end:
            step = min(CRYPT_CHUNK, end - pos)
            data = os.pread(src_fd, step, src_off + pos)
            data += bytes(step - len(data))  # a file shorter than its last sector
            out = xts.encrypt(data, pos // size) if encrypt else xts.decrypt(data, pos // size)
            os.pwrite(dst_fd, out, dst_off + pos)
            written += step
            pos += step
    return written


def unlock(image: str, offset: int, size: int, key: KeySource,
           tmpdir: str) -> tuple[LuksHeader, int, bytearray]:
    """The container's header, its payload size and its volume key (the
    caller wipes the key when done)."""
    secret = key.read()
    header = read_header(image, offset)
    check_cipher(header, image, offset)
    return header, size - header.data_offset, volume_key(image, offset, size, secret, tmpdir)


def read_payload(image: str, offset: int, size: int, key: KeySource, target: str,
                 *, full: bool = False, workdir: str | None = None) -> LuksHeader:
    """Decrypt the payload of the container at `offset` into a new file
    `target` (mode 0600): its data extents only (holes stay holes, as
    `format_luks` wrote them), or every sector when `full` (what an opened
    dm-crypt device shows: a hole reads as noise)."""
    with scratch(workdir) as tmpdir:
        header, payload, vkey = unlock(image, offset, size, key, tmpdir)
    try:
        fd = os.open(target, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.ftruncate(fd, payload)
            with open(image, "rb") as img:
                crypt_extents(Xts(bytes(vkey), header.sector_size), img.fileno(),
                              offset + header.data_offset, fd, 0, payload, encrypt=False,
                              full=full)
        finally:
            os.close(fd)
    finally:
        vkey[:] = bytes(len(vkey))
    return header
