"""LUKS containers in a region of an image file, the filesystem inside them,
and new UUIDs for their clones. No device-mapper and no loop device needed.

cryptsetup has no offset option, so a container is formatted in a sparse
temporary file of the region's size and copied in sparsely (the header is
the only data); a clone gets its new UUID on a temporary file that holds the
region's header (the payload is not needed), which is copied back.
luksFormat, luksUUID, luksDump and `open --test-passphrase` all work on plain
files (feasibility §3-§4).

The payload (a filesystem inside the container) cannot go through dm-crypt
on a kernel without device-mapper, so it is encrypted in user space exactly
as dm-crypt would (aes-xts-plain64, 512-byte sectors, engine/image/xts.py;
the tests check it against `cryptsetup reencrypt`): the container is
formatted with a fresh volume key handed to cryptsetup through a pipe, and
the allocated extents of a filesystem image are encrypted into it. Holes stay
holes, so the image stays sparse (an opened container shows noise there, as
for any never-written sector; the filesystems do not read it). Extents a
tool zeroed with fallocate (mkfs.xfs's log) are encrypted as zeros (FIEMAP).

    format_luks(image, offset, size, key, *, version=None, uuid=None, label=None,
                fast=False, content=None, workdir=None) -> LuksHeader
    set_luks_uuid(image, offset, size, new_uuid=None, *, workdir=None) -> str
    reuuid_payload(image, offset, size, key, new_uuid=None, *, ident=None,
                   workdir=None) -> (type, uuid) | None
    read_payload(image, offset, size, key, target, *, full=False, workdir=None) -> LuksHeader
    read_header(image, offset) -> LuksHeader          (parsed by this module)
    luks_uuid(image, offset, size) -> str              (blkid -p -O OFFSET)
    luks_dump(image, offset, size, *, workdir=None) -> str   (cryptsetup luksDump)
    check_key(image, offset, size, key, *, workdir=None) -> bool
    data_offset(version=None) -> int; payload_bytes(size, version=None) -> int

The key. A `KeySource` says where the passphrase (or key file) comes from: a
file (`KeySource.from_file`: its bytes, as cryptsetup --key-file reads them,
a trailing newline included), an environment variable
(`KeySource.from_env`: its value) or, for KIWI's `luks="..."` attribute, a
passphrase held in memory (`KeySource.from_passphrase`); `luks="file://PATH"`
names a key file instead (`KeySource.from_attribute`). `KeySource.parse`
reads the command line's `env:NAME`, `file:PATH` and `file://PATH`. The key bytes go to
cryptsetup on its standard input (`--key-file=-`) and nowhere else: never on
a command line, never in a file of ours, never in a message, a log record or
a repr (the variable holding it is also removed from cryptsetup's
environment). Messages from a failing cryptsetup are redacted before they
become a LuksError. Volume keys live in memory only (bytearrays wiped after
use, as far as Python allows).

`fast=True` (tests, CI) uses pbkdf2 with 1000 iterations instead of
cryptsetup's benchmarked default (argon2id with 1 GiB of memory for LUKS2).
Salts and volume keys are random even when the UUID is given, so two seeded
builds with LUKS differ in those bytes. Clones share their origin's volume
key (as KIWI's do); `reuuid_payload` gives the filesystem inside a new UUID.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import struct
import subprocess
import tempfile
import uuid as uuidlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from engine.errors import PartwrightError, ToolError
from engine.host.kernel import dm_control_guard
from engine.host.tools import which
from engine.image import inner, sparse
from engine.image.identity import Identity
from engine.image.xts import Xts

log = logging.getLogger(__name__)

LUKS_MAGIC = b"LUKS\xba\xbe"
VERSIONS = {None: "luks2", "": "luks2", "luks": "luks2", "luks1": "luks1", "luks2": "luks2"}
FAST_ITERATIONS = 1000
MAX_KEY_BYTES = 8 * 1024 * 1024  # cryptsetup's compiled-in maximum key file size
CIPHER = "aes-xts-plain64"  # cryptsetup's default, spelled out: the payload path depends on it
VOLUME_KEY_BYTES = 64  # AES-256-XTS
SECTOR = 512
DATA_OFFSETS = {"luks1": 2 * 1024 * 1024, "luks2": 16 * 1024 * 1024}
MIN_PAYLOAD = 1024 * 1024
CRYPT_CHUNK = 1024 * 1024
LABEL_MAX = 47  # LUKS2 label field: 48 bytes, NUL-terminated
KIWI_FILE_PREFIX = "file://"  # luks="file:///path/to/keyfile": a key file, not a passphrase


class LuksError(ToolError):
    """cryptsetup failed, or a region holds no usable LUKS header (exit status 3)."""


@dataclass(frozen=True)
class KeySource:
    """Where a LUKS passphrase or key file comes from; holds no secret in its
    repr (a passphrase given in memory is shown as <hidden>)."""

    kind: str  # "file" | "env" | "passphrase"
    where: str = ""  # the file path or the variable name; "" for a passphrase
    _secret: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def from_file(cls, path: str) -> KeySource:
        return cls("file", path)

    @classmethod
    def from_env(cls, name: str) -> KeySource:
        if not name or "=" in name:
            raise PartwrightError(f"'{name}' is not an environment variable name")
        return cls("env", name)

    @classmethod
    def from_attribute(cls, value: str) -> KeySource:
        """KIWI's `luks` attribute: `file://PATH` names a key file (its
        bytes are the key, as KIWI hands it to cryptsetup --key-file),
        anything else is the passphrase itself."""
        if value.startswith(KIWI_FILE_PREFIX):
            path = value[len(KIWI_FILE_PREFIX):]
            if not path:
                raise PartwrightError("luks=\"file://\" names no key file")
            return cls.from_file(path)
        return cls.from_passphrase(value)

    @classmethod
    def from_passphrase(cls, passphrase: str | bytes) -> KeySource:
        secret = passphrase.encode() if isinstance(passphrase, str) else bytes(passphrase)
        return cls("passphrase", "", secret)

    @classmethod
    def parse(cls, text: str) -> KeySource:
        """`env:NAME`, `file:PATH` or KIWI's `file://PATH` (a bare text is a file path)."""
        if text.startswith(KIWI_FILE_PREFIX):
            return cls.from_file(text[len(KIWI_FILE_PREFIX):])
        kind, sep, rest = text.partition(":")
        if sep and kind == "env":
            return cls.from_env(rest)
        if sep and kind == "file":
            return cls.from_file(rest)
        return cls.from_file(text)

    def describe(self) -> str:
        if self.kind == "file":
            return f"key file {self.where}"
        if self.kind == "env":
            return f"environment variable {self.where}"
        return "the passphrase given"

    def __repr__(self) -> str:
        if self.kind == "passphrase":
            return "KeySource(passphrase=<hidden>)"
        return f"KeySource({self.kind}={self.where!r})"

    __str__ = __repr__

    def read(self) -> bytes:
        """The key bytes; a PartwrightError naming the source (never its
        content) when there are none."""
        if self.kind == "file":
            try:
                with open(self.where, "rb") as fh:
                    data = fh.read(MAX_KEY_BYTES + 1)
            except OSError as exc:
                raise PartwrightError(
                    f"LUKS {self.describe()} cannot be read: {exc.strerror or 'error'}") from None
        elif self.kind == "env":
            value = os.environb.get(self.where.encode())
            if value is None:
                raise PartwrightError(f"LUKS key: {self.describe()} is not set")
            data = value
        elif self.kind == "passphrase":
            data = self._secret
        else:
            raise PartwrightError(f"unknown LUKS key source kind {self.kind!r}")
        if not data:
            raise PartwrightError(f"LUKS key: {self.describe()} is empty")
        if len(data) > MAX_KEY_BYTES:
            raise PartwrightError(f"LUKS key: {self.describe()} is larger than 8 MiB")
        return data


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


def _check_uuid(value: str) -> str:
    try:
        return str(uuidlib.UUID(value))
    except ValueError:
        raise PartwrightError(f"'{value}' is not a UUID") from None


@contextmanager
def _scratch(workdir: str | None) -> Iterator[str]:
    """A private (0700) directory for temporary region copies."""
    with tempfile.TemporaryDirectory(prefix="partwright-luks-", dir=workdir) as tmp:
        os.chmod(tmp, 0o700)
        yield tmp


def _redact(text: str, secret: bytes | None) -> str:
    if not secret:
        return text
    forms = {secret.decode("utf-8", "replace"), secret.decode("latin-1")}
    forms |= {f.strip() for f in forms}
    for form in sorted((f for f in forms if f), key=len, reverse=True):
        text = text.replace(form, "<hidden>")
    return text


def _cryptsetup(args: Sequence[str], *, key: bytes | None = None, what: str,
                check: bool = True, pass_fds: Sequence[int] = (),
                secret_output: bool = False) -> subprocess.CompletedProcess[bytes]:
    """Run cryptsetup with `key` (if any) on its standard input; a failure
    becomes a one-line LuksError with any trace of the key removed (and
    without its standard output when that holds a secret)."""
    argv = [which("cryptsetup"), "--batch-mode", *args]
    if key is not None:
        argv.append("--key-file=-")
    log.debug("cryptsetup %s (%s)", " ".join(args), what)
    env = dict(os.environ, LC_ALL="C")
    if key is not None:  # an environment variable holding the key stays with us
        env = {k: v for k, v in env.items() if os.fsencode(v) != key}
    try:
        with dm_control_guard():
            proc = subprocess.run(
                argv, input=key if key is not None else None,
                stdin=subprocess.DEVNULL if key is None else None,
                capture_output=True, env=env, check=False, pass_fds=tuple(pass_fds),
            )
    except OSError as exc:
        raise LuksError(f"cryptsetup could not run ({what}): {exc.strerror or 'error'}") from None
    if check and proc.returncode != 0:
        text = (proc.stderr or (b"" if secret_output else proc.stdout)).decode("utf-8", "replace")
        lines = [ln.strip() for ln in _redact(text, key).splitlines() if ln.strip()]
        detail = lines[-1] if lines else "no message"
        raise LuksError(f"cryptsetup failed with status {proc.returncode} ({what}): {detail}")
    return proc


def _new_file(directory: str, name: str, size: int) -> str:
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(fd, size)
    finally:
        os.close(fd)
    return path


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
        args += ["--uuid", _check_uuid(uuid)]
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
    volume_key = bytearray(os.urandom(VOLUME_KEY_BYTES)) if content is not None else None
    try:
        with _scratch(workdir) as tmpdir:
            tmp = _new_file(tmpdir, "container", size)
            if volume_key is None:
                _cryptsetup([*args, tmp], key=secret,
                            what=f"{luks_type} container at offset {offset}")
            else:  # the volume key through a pipe: in no file and no argument
                read_fd, write_fd = os.pipe()
                try:
                    os.write(write_fd, bytes(volume_key))
                    os.close(write_fd)
                    write_fd = -1
                    _cryptsetup([*args, "--volume-key-file", f"/dev/fd/{read_fd}", tmp],
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
        if volume_key is not None and content is not None:
            _check_cipher(header, image, offset)
            with open(content, "rb") as src, open(image, "r+b") as dst:
                _crypt_extents(Xts(bytes(volume_key), SECTOR), src.fileno(), 0, dst.fileno(),
                               offset + header.data_offset, payload, encrypt=True)
        return header
    finally:
        if volume_key is not None:
            volume_key[:] = bytes(len(volume_key))


def _check_cipher(header: LuksHeader, image: str, offset: int) -> None:
    if header.cipher != CIPHER or header.iv_tweak != 0:
        raise LuksError(f"{image}: the container at offset {offset} uses {header.cipher or 'no cipher'}"
                        f" (iv_tweak {header.iv_tweak}); only {CIPHER} payloads can be written"
                        " or read without device-mapper")


def _crypt_extents(xts: Xts, src_fd: int, src_off: int, dst_fd: int, dst_off: int, length: int,
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
        runs = allocated_extents(src_fd, src_off, length)
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


FS_IOC_FIEMAP = 0xC020660B
FIEMAP_FLAG_SYNC = 0x1
FIEMAP_EXTENT_LAST = 0x1
FIEMAP_BATCH = 256


def allocated_extents(fd: int, start: int, length: int) -> list[tuple[int, int]] | None:
    """The (offset, length) runs of [start, start+length) that the file
    system has allocated, written or not (FIEMAP after a sync), or None when
    FIEMAP is not supported (tmpfs, for one)."""
    end = start + length
    found: list[tuple[int, int]] = []
    pos = start
    while pos < end:
        request = bytearray(32 + 56 * FIEMAP_BATCH)
        struct.pack_into("=QQIIII", request, 0, pos, end - pos, FIEMAP_FLAG_SYNC, 0,
                         FIEMAP_BATCH, 0)
        try:
            fcntl.ioctl(fd, FS_IOC_FIEMAP, request)
        except OSError:
            return None
        mapped = struct.unpack_from("=I", request, 20)[0]
        if mapped == 0:
            break
        last = False
        for index in range(mapped):
            logical, _physical, size = struct.unpack_from("=QQQ", request, 32 + 56 * index)
            flags = struct.unpack_from("=I", request, 32 + 56 * index + 40)[0]
            run_start, run_end = max(logical, start), min(logical + size, end)
            if run_end > run_start:
                if found and found[-1][0] + found[-1][1] >= run_start:
                    prev = found[-1]
                    found[-1] = (prev[0], max(prev[0] + prev[1], run_end) - prev[0])
                else:
                    found.append((run_start, run_end - run_start))
            pos = max(pos, logical + size)
            last = last or bool(flags & FIEMAP_EXTENT_LAST)
        if last:
            break
    return found


def _volume_key(image: str, offset: int, size: int, secret: bytes, tmpdir: str) -> bytearray:
    """The container's volume key (`luksDump --dump-volume-key`, the key on
    stdin, the volume key read from cryptsetup's output and never shown)."""
    with _header_copy(image, offset, size, tmpdir, write_back=False) as tmp:
        proc = _cryptsetup(["luksDump", "--dump-volume-key", tmp], key=secret, secret_output=True,
                           what=f"volume key of the container at offset {offset}")
    found = bytearray()
    collecting = False
    for line in proc.stdout.decode("ascii", "replace").splitlines():
        if line.startswith("MK dump:"):
            collecting = True
            line = line[len("MK dump:"):]
        elif collecting and not line.startswith(("\t", " ")):
            break
        if collecting:
            try:
                found += bytes.fromhex(line.strip())
            except ValueError:
                break
    proc.stdout = b""
    if len(found) not in (32, 64):
        raise LuksError(f"cryptsetup did not give the volume key of the container at offset {offset}")
    return found


def _unlock(image: str, offset: int, size: int, key: KeySource,
            tmpdir: str) -> tuple[LuksHeader, int, bytearray]:
    """The container's header, its payload size and its volume key (the
    caller wipes the key when done)."""
    secret = key.read()
    header = read_header(image, offset)
    _check_cipher(header, image, offset)
    return header, size - header.data_offset, _volume_key(image, offset, size, secret, tmpdir)


def read_payload(image: str, offset: int, size: int, key: KeySource, target: str,
                 *, full: bool = False, workdir: str | None = None) -> LuksHeader:
    """Decrypt the payload of the container at `offset` into a new file
    `target` (mode 0600): its data extents only (holes stay holes, as
    `format_luks` wrote them), or every sector when `full` (what an opened
    dm-crypt device shows: a hole reads as noise)."""
    with _scratch(workdir) as tmpdir:
        header, payload, volume_key = _unlock(image, offset, size, key, tmpdir)
    try:
        fd = os.open(target, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.ftruncate(fd, payload)
            with open(image, "rb") as img:
                _crypt_extents(Xts(bytes(volume_key), header.sector_size), img.fileno(),
                               offset + header.data_offset, fd, 0, payload, encrypt=False,
                               full=full)
        finally:
            os.close(fd)
    finally:
        volume_key[:] = bytes(len(volume_key))
    return header


def reuuid_payload(image: str, offset: int, size: int, key: KeySource,
                   new_uuid: str | None = None, *, ident: Identity | None = None,
                   workdir: str | None = None) -> tuple[str, str] | None:
    """Give the filesystem inside the container at `offset` a new UUID
    (beyond KIWI, whose LUKS clones keep it): decrypt the payload's data
    extents, re-identify the filesystem, encrypt it back. Returns (type,
    UUID), or None when the payload holds no filesystem."""
    with _scratch(workdir) as tmpdir:
        header, payload, volume_key = _unlock(image, offset, size, key, tmpdir)
        try:
            xts = Xts(bytes(volume_key), header.sector_size)
            plain = _new_file(tmpdir, "payload", payload)
            fd = os.open(plain, os.O_RDWR)
            try:
                with open(image, "rb") as img:
                    _crypt_extents(xts, img.fileno(), offset + header.data_offset, fd, 0,
                                   payload, encrypt=False)
            finally:
                os.close(fd)
            found = inner.reuuid_filesystem(plain, 0, payload, new_uuid, ident=ident,
                                            what=f"the filesystem in the container at offset {offset}",
                                            workdir=tmpdir)
            if found is not None:
                with open(plain, "rb") as src, open(image, "r+b") as dst:
                    _crypt_extents(xts, src.fileno(), 0, dst.fileno(),
                                   offset + header.data_offset, payload, encrypt=True)
        finally:
            volume_key[:] = bytes(len(volume_key))
    return found


@contextmanager
def _header_copy(image: str, offset: int, size: int, tmpdir: str,
                 *, write_back: bool) -> Iterator[str]:
    """A temporary file of `size` bytes holding the region's LUKS header
    (the payload stays a hole); copied back over the header when asked."""
    header = read_header(image, offset)
    length = min(header.header_bytes, size)
    tmp = _new_file(tmpdir, "header", size)
    with open(image, "rb") as img, open(tmp, "r+b") as dst:
        sparse.copy_range(img.fileno(), offset, dst.fileno(), 0, length, punch=False)
    yield tmp
    if write_back:
        with open(tmp, "rb") as src, open(image, "r+b") as img:
            sparse.copy_range(src.fileno(), 0, img.fileno(), offset, length)


def set_luks_uuid(image: str, offset: int, size: int, new_uuid: str | None = None,
                  *, workdir: str | None = None) -> str:
    """Give the container at `offset` a new UUID (`cryptsetup luksUUID --uuid`),
    random when `new_uuid` is None; returns it. The volume key, the key slots
    and the payload stay as they are (a clone still opens with its origin's key)."""
    value = _check_uuid(new_uuid) if new_uuid is not None else str(uuidlib.uuid4())
    with _scratch(workdir) as tmpdir, _header_copy(image, offset, size, tmpdir,
                                                   write_back=True) as tmp:
        _cryptsetup(["luksUUID", "-q", "--uuid", value, tmp],
                    what=f"new UUID for the container at offset {offset}")
    found = read_header(image, offset).uuid
    if found != value:
        raise LuksError(f"the container at offset {offset} has UUID {found} after luksUUID, not {value}")
    return value


def luks_uuid(image: str, offset: int, size: int) -> str:
    """The container's UUID as `blkid -p -O OFFSET` reads it."""
    argv = [which("blkid"), "-p", "-o", "export", "-O", str(offset), "-S", str(size), image]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False,
                          env=dict(os.environ, LC_ALL="C"))
    found = dict(ln.split("=", 1) for ln in proc.stdout.splitlines() if "=" in ln)
    if found.get("TYPE") != "crypto_LUKS" or not found.get("UUID"):
        raise LuksError(f"{image}: blkid finds no LUKS container at offset {offset}"
                        f" ({found.get('TYPE') or 'nothing'})")
    return found["UUID"]


def luks_dump(image: str, offset: int, size: int, *, workdir: str | None = None) -> str:
    """`cryptsetup luksDump` of the container at `offset` (no key needed)."""
    with _scratch(workdir) as tmpdir, _header_copy(image, offset, size, tmpdir,
                                                   write_back=False) as tmp:
        proc = _cryptsetup(["luksDump", tmp], what=f"luksDump at offset {offset}")
    return proc.stdout.decode("utf-8", "replace").replace(tmp, f"{image}@{offset}")


def check_key(image: str, offset: int, size: int, key: KeySource,
              *, workdir: str | None = None) -> bool:
    """Whether `key` opens the container (`open --test-passphrase`, no dm needed)."""
    secret = key.read()
    with _scratch(workdir) as tmpdir, _header_copy(image, offset, size, tmpdir,
                                                   write_back=False) as tmp:
        proc = _cryptsetup(["open", "--test-passphrase", tmp], key=secret,
                           what=f"key check at offset {offset}", check=False)
    if proc.returncode in (0, 2):  # 2: no key slot matches (wrong passphrase)
        return proc.returncode == 0
    text = _redact(proc.stderr.decode("utf-8", "replace"), secret).strip().splitlines()
    raise LuksError(f"cryptsetup failed with status {proc.returncode} (key check at offset"
                    f" {offset}): {text[-1] if text else 'no message'}")
