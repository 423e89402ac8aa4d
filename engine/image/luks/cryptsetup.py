"""cryptsetup on LUKS containers inside an image file, without device-mapper
or a loop device.

cryptsetup has no offset option, so it works on a temporary file of the
region's size that holds the region's header (the payload stays a hole):
luksFormat, luksUUID, luksDump and `open --test-passphrase` all work on
plain files. The key bytes go to cryptsetup on its standard input
(`--key-file=-`) and nowhere else: never on a command line, never in a file
of ours, never in a message, a log record or a repr (the variable holding
it is also removed from cryptsetup's environment). Messages from a failing
cryptsetup are redacted before they become a LuksError.

    cryptsetup(args, key=None, what=...) -> CompletedProcess (bytes)
    luks_uuid(image, offset, size) -> str             (blkid -p -O OFFSET)
    luks_dump(image, offset, size, *, workdir=None) -> str
    check_key(image, offset, size, key, *, workdir=None) -> bool
    volume_key(image, offset, size, secret, tmpdir) -> bytearray (wipe it after use)
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import uuid as uuidlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from engine.errors import PartwrightError
from engine.host import sparse
from engine.host.kernel import dm_control_guard
from engine.host.tools import execute, run, which
from engine.image.luks.header import LuksError, read_header
from engine.image.luks.keys import KeySource

log = logging.getLogger("engine.image.luks")


def check_uuid(value: str) -> str:
    try:
        return str(uuidlib.UUID(value))
    except ValueError:
        raise PartwrightError(f"'{value}' is not a UUID") from None


@contextmanager
def scratch(workdir: str | None) -> Iterator[str]:
    """A private (0700) directory for temporary region copies."""
    with tempfile.TemporaryDirectory(prefix="partwright-luks-", dir=workdir) as tmp:
        os.chmod(tmp, 0o700)
        yield tmp


def redact(text: str, secret: bytes | None) -> str:
    if not secret:
        return text
    forms = {secret.decode("utf-8", "replace"), secret.decode("latin-1")}
    forms |= {f.strip() for f in forms}
    for form in sorted((f for f in forms if f), key=len, reverse=True):
        text = text.replace(form, "<hidden>")
    return text


def cryptsetup(args: Sequence[str], *, key: bytes | None = None, what: str,
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
            proc = execute(argv, input=key, env=env, pass_fds=pass_fds)
    except OSError as exc:
        raise LuksError(f"cryptsetup could not run ({what}): {exc.strerror or 'error'}") from None
    if check and proc.returncode != 0:
        text = (proc.stderr or (b"" if secret_output else proc.stdout)).decode("utf-8", "replace")
        lines = [ln.strip() for ln in redact(text, key).splitlines() if ln.strip()]
        detail = lines[-1] if lines else "no message"
        raise LuksError(f"cryptsetup failed with status {proc.returncode} ({what}): {detail}")
    return proc


def new_file(directory: str, name: str, size: int) -> str:
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(fd, size)
    finally:
        os.close(fd)
    return path


def volume_key(image: str, offset: int, size: int, secret: bytes, tmpdir: str) -> bytearray:
    """The container's volume key (`luksDump --dump-volume-key`, the key on
    stdin, the volume key read from cryptsetup's output and never shown)."""
    with header_copy(image, offset, size, tmpdir, write_back=False) as tmp:
        proc = cryptsetup(["luksDump", "--dump-volume-key", tmp], key=secret, secret_output=True,
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


@contextmanager
def header_copy(image: str, offset: int, size: int, tmpdir: str,
                *, write_back: bool) -> Iterator[str]:
    """A temporary file of `size` bytes holding the region's LUKS header
    (the payload stays a hole); copied back over the header when asked."""
    header = read_header(image, offset)
    length = min(header.header_bytes, size)
    tmp = new_file(tmpdir, "header", size)
    with open(image, "rb") as img, open(tmp, "r+b") as dst:
        sparse.copy_range(img.fileno(), offset, dst.fileno(), 0, length, punch=False)
    yield tmp
    if write_back:
        with open(tmp, "rb") as src, open(image, "r+b") as img:
            sparse.copy_range(src.fileno(), 0, img.fileno(), offset, length)


def luks_uuid(image: str, offset: int, size: int) -> str:
    """The container's UUID as `blkid -p -O OFFSET` reads it."""
    proc = run(["blkid", "-p", "-o", "export", "-O", str(offset), "-S", str(size), image],
               check=False)
    found = dict(ln.split("=", 1) for ln in proc.stdout.splitlines() if "=" in ln)
    if found.get("TYPE") != "crypto_LUKS" or not found.get("UUID"):
        raise LuksError(f"{image}: blkid finds no LUKS container at offset {offset}"
                        f" ({found.get('TYPE') or 'nothing'})")
    return found["UUID"]


def luks_dump(image: str, offset: int, size: int, *, workdir: str | None = None) -> str:
    """`cryptsetup luksDump` of the container at `offset` (no key needed)."""
    with scratch(workdir) as tmpdir, header_copy(image, offset, size, tmpdir,
                                                 write_back=False) as tmp:
        proc = cryptsetup(["luksDump", tmp], what=f"luksDump at offset {offset}")
    return proc.stdout.decode("utf-8", "replace").replace(tmp, f"{image}@{offset}")


def check_key(image: str, offset: int, size: int, key: KeySource,
              *, workdir: str | None = None) -> bool:
    """Whether `key` opens the container (`open --test-passphrase`, no dm needed)."""
    secret = key.read()
    with scratch(workdir) as tmpdir, header_copy(image, offset, size, tmpdir,
                                                 write_back=False) as tmp:
        proc = cryptsetup(["open", "--test-passphrase", tmp], key=secret,
                          what=f"key check at offset {offset}", check=False)
    if proc.returncode in (0, 2):  # 2: no key slot matches (wrong passphrase)
        return proc.returncode == 0
    text = redact(proc.stderr.decode("utf-8", "replace"), secret).strip().splitlines()
    raise LuksError(f"cryptsetup failed with status {proc.returncode} (key check at offset"
                    f" {offset}): {text[-1] if text else 'no message'}")
