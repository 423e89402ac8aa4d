"""LUKS containers in a region of an image file, and new UUIDs for their clones.

cryptsetup has no offset option, so a container is formatted in a sparse
temporary file of the region's size and copied in sparsely (only the header
is data); a clone gets its new UUID on a temporary file that holds the
region's header (the payload is not needed), which is copied back. No loop
device and no device-mapper are needed: luksFormat, luksUUID, luksDump and
`open --test-passphrase` all work on plain files (feasibility §3-§4).

    format_luks(image, offset, size, key, *, version=None, uuid=None, label=None,
                fast=False, workdir=None) -> LuksHeader
    set_luks_uuid(image, offset, size, new_uuid=None, *, workdir=None) -> str
    read_header(image, offset) -> LuksHeader          (parsed by this module)
    luks_uuid(image, offset, size) -> str              (blkid -p -O OFFSET)
    luks_dump(image, offset, size, *, workdir=None) -> str   (cryptsetup luksDump)
    check_key(image, offset, size, key, *, workdir=None) -> bool

The key. A `KeySource` says where the passphrase (or key file) comes from: a
file (`KeySource.from_file`: its bytes, as cryptsetup --key-file reads them,
a trailing newline included), an environment variable
(`KeySource.from_env`: its value) or, for KIWI's `luks="..."` attribute, a
passphrase held in memory (`KeySource.from_passphrase`). The key bytes go to
cryptsetup on its standard input (`--key-file -`) and nowhere else: never on
a command line, never in a file of ours, never in a message, a log record or
a repr. Messages from a failing cryptsetup are redacted before they become a
ToolError.

`fast=True` (tests, CI) uses pbkdf2 with 1000 iterations instead of
cryptsetup's benchmarked default (argon2id with 1 GiB of memory for LUKS2).
A container's salts and volume key are random even when its UUID is given,
so two seeded builds with LUKS differ in those bytes.
"""

from __future__ import annotations

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
from engine.image import sparse
from engine.image.kernel import dm_control_guard
from engine.image.tools import which

log = logging.getLogger(__name__)

LUKS_MAGIC = b"LUKS\xba\xbe"
VERSIONS = {None: "luks2", "": "luks2", "luks": "luks2", "luks1": "luks1", "luks2": "luks2"}
FAST_ITERATIONS = 1000
MAX_KEY_BYTES = 8 * 1024 * 1024  # cryptsetup's compiled-in maximum key file size
LABEL_MAX = 47  # LUKS2 label field: 48 bytes, NUL-terminated


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
    def from_passphrase(cls, passphrase: str | bytes) -> KeySource:
        secret = passphrase.encode() if isinstance(passphrase, str) else bytes(passphrase)
        return cls("passphrase", "", secret)

    @classmethod
    def parse(cls, text: str) -> KeySource:
        """`env:NAME` or `file:PATH` (a bare text is a file path)."""
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
            return LuksHeader(1, found_uuid, None, payload, payload)
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
        offsets = [int(seg["offset"]) for seg in meta["segments"].values()]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise LuksError(f"{image}: the LUKS2 metadata at offset {offset} cannot be read") from None
    header_bytes = 2 * hdr_size + keyslots_size
    data_offset = min(offsets) if offsets else header_bytes
    return LuksHeader(2, found_uuid, label, data_offset, max(header_bytes, data_offset))


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
                check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run cryptsetup with `key` (if any) on its standard input; a failure
    becomes a one-line LuksError with any trace of the key removed."""
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
                capture_output=True, env=env, check=False,
            )
    except OSError as exc:
        raise LuksError(f"cryptsetup could not run ({what}): {exc.strerror or 'error'}") from None
    if check and proc.returncode != 0:
        text = (proc.stderr or proc.stdout).decode("utf-8", "replace")
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
    workdir: str | None = None,
) -> LuksHeader:
    """Make a LUKS container of `size` bytes at `offset` of `image` (the
    whole region is replaced: the payload reads as zeros, unencrypted).
    `version`: KIWI's luks_version; `uuid`: the container UUID (random when
    None); `label`: a LUKS2 label; `fast`: pbkdf2 with 1000 iterations."""
    luks_type = normalize_version(version)
    secret = key.read()
    args = ["luksFormat", "--type", luks_type]
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
    with _scratch(workdir) as tmpdir:
        tmp = _new_file(tmpdir, "container", size)
        _cryptsetup([*args, tmp], key=secret, what=f"{luks_type} container at offset {offset}")
        # cryptsetup formats a region too small for its header (it only warns
        # that no data fits) and grows the file to hold it: refuse both
        made = read_header(tmp, 0)
        if os.path.getsize(tmp) != size or made.data_offset >= size:
            raise PartwrightError(
                f"a region of {size} bytes at offset {offset} is too small for a {luks_type}"
                f" container: its header alone takes {made.header_bytes} bytes")
        with open(tmp, "rb") as src, open(image, "r+b") as dst:
            sparse.copy_range(src.fileno(), 0, dst.fileno(), offset, size)
    return read_header(image, offset)


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
