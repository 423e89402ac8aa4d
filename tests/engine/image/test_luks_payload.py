"""What a LUKS container holds (engine/image/luks/payload.py): a payload
cryptsetup itself encrypted reads back byte for byte, a filesystem put in
is sparse, clean and clonable with a new UUID inside, and what is refused."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from engine.errors import PartwrightError
from engine.host import kernel, sparse
from engine.image import luks
from tests.support.luks import (
    MIB,
    ORIGIN,
    PASS,
    SIZE,
    blkid,
    copy_region,
    dumped_uuid,
    fsck,
    make_fs,
)

pytestmark = pytest.mark.skipif(shutil.which("cryptsetup") is None,
                                reason="cryptsetup is not installed (Debian cryptsetup-bin)")
IMAGE_MIB = 128  # the `image` fixture's size


def test_payload_decrypts_like_cryptsetup(tmp_path: Path) -> None:
    """cryptsetup encrypts a filesystem itself (offline `reencrypt --encrypt`,
    no dm needed for LUKS2); read_payload's user-space aes-xts-plain64 gives
    back the very bytes."""
    plain = tmp_path / "plain.img"
    make_fs(plain, 16 * MIB, "ext4")
    device = tmp_path / "device.img"
    with open(device, "wb") as fh:
        fh.truncate(48 * MIB)
    with open(plain, "rb") as src, open(device, "r+b") as dst:
        sparse.copy_range(src.fileno(), 0, dst.fileno(), 0, 16 * MIB)
    with kernel.dm_control_guard():
        proc = subprocess.run(
            ["cryptsetup", "reencrypt", "--encrypt", "--batch-mode", "--type", "luks2",
             "--reduce-device-size", "32M", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations",
             "1000", "--key-file=-", str(device)],
            input=PASS.encode(), capture_output=True, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    header = luks.read_header(str(device), 0)
    assert header.data_offset == 16 * MIB and header.cipher == "aes-xts-plain64"
    out = tmp_path / "out.img"
    luks.read_payload(str(device), 0, 48 * MIB, luks.KeySource.from_passphrase(PASS), str(out))
    with open(out, "rb") as got, open(plain, "rb") as want:
        assert got.read(16 * MIB) == want.read()
    assert os.stat(out).st_mode & 0o777 == 0o600


@pytest.mark.parametrize("version,fstype,full", [("luks1", "ext4", True), ("luks2", "ext4", True),
                                                 ("luks2", "xfs", False), ("luks1", "btrfs", False)])
def test_filesystem_inside(tmp_path: Path, version: str, fstype: str, full: bool) -> None:
    size = {"xfs": 340, "btrfs": 112, "ext4": 48}[fstype] * MIB
    image = tmp_path / "disk.img"
    with open(image, "wb") as fh:
        fh.truncate(2 * size + 2 * MIB)
    key = luks.KeySource.from_passphrase(PASS)
    plain = tmp_path / "plain.img"
    payload = luks.payload_bytes(size, version)
    assert payload == size - luks.data_offset(version)
    fs_uuid = make_fs(plain, payload, fstype)
    header = luks.format_luks(str(image), ORIGIN, size, key, version=version, fast=True,
                              content=str(plain), workdir=str(tmp_path))
    assert header.cipher == "aes-xts-plain64" and header.sector_size == 512
    assert blkid(image, ORIGIN)["TYPE"] == "crypto_LUKS"
    # encrypted: nothing of the filesystem is visible in the image
    assert blkid(image, ORIGIN + header.data_offset).get("TYPE") is None
    # (the filesystem's 16 UUID bytes: the 4 of its label turn up in 340 MiB of
    # ciphertext by chance one time in twelve)
    marker = uuid.UUID(fs_uuid).bytes
    with open(plain, "rb") as fh:
        assert marker in fh.read(4 * MIB)
    with open(image, "rb") as fh:
        assert marker not in fh.read(ORIGIN + size)[ORIGIN + header.data_offset:]
    # sparse: the header and the filesystem's allocated blocks, no more
    with open(plain, "rb") as fh:
        allocated = sparse.allocated_extents(fh.fileno(), 0, payload)
    assert allocated is not None
    assert sparse.allocated_bytes(str(image)) <= header.header_bytes + sum(n for _, n in allocated) + MIB
    # read back (with `full`, holes decrypt to noise, as on an opened device): same filesystem, clean
    out = tmp_path / "out.img"
    luks.read_payload(str(image), ORIGIN, size, key, str(out), full=full)
    check = fsck(out, fstype)
    assert check.returncode == 0, check.stdout + check.stderr
    assert subprocess.run(["blkid", "-s", "UUID", "-o", "value", str(out)], capture_output=True,
                          text=True).stdout.strip() == fs_uuid
    if fstype == "xfs":  # the log mkfs.xfs zeroed with fallocate is encrypted zeros, not a hole
        def xfs_db(*commands: str) -> str:
            args = [a for c in commands for a in ("-c", c)]
            return subprocess.run(["xfs_db", "-r", *args, str(plain)], capture_output=True,
                                  text=True, check=True).stdout

        fields = {k.strip(): int(v) for k, _, v in (
            ln.partition("=") for ln in xfs_db("sb 0", "p logstart logblocks blocksize").splitlines())}
        byte = xfs_db(f"convert fsb {fields['logstart']} byte").split()[0]  # "0x... (N)"
        log_start = ORIGIN + header.data_offset + int(byte, 16)
        log_bytes = fields["logblocks"] * fields["blocksize"]
        with open(image, "rb") as fh:
            assert sparse.data_bytes(fh.fileno(), log_start, log_bytes) == log_bytes
    # a clone: new container UUID and, beyond KIWI, a new filesystem UUID inside
    clone = ORIGIN + size + MIB
    copy_region(image, ORIGIN, clone, size)
    new = luks.set_luks_uuid(str(image), clone, size)
    found = luks.reuuid_payload(str(image), clone, size, key, workdir=str(tmp_path))
    assert found is not None and found[0] == fstype and found[1] != fs_uuid
    assert dumped_uuid(luks.luks_dump(str(image), clone, size)) == new != header.uuid
    clone_out = tmp_path / "clone.img"
    luks.read_payload(str(image), clone, size, key, str(clone_out))
    check = fsck(clone_out, fstype)
    assert check.returncode == 0, check.stdout + check.stderr
    assert subprocess.run(["blkid", "-s", "UUID", "-o", "value", str(clone_out)],
                          capture_output=True, text=True).stdout.strip() == found[1]
    luks.read_payload(str(image), ORIGIN, size, key, str(out))
    assert subprocess.run(["blkid", "-s", "UUID", "-o", "value", str(out)], capture_output=True,
                          text=True).stdout.strip() == fs_uuid
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clone.img", "disk.img", "out.img",
                                                          "plain.img"]


def test_payload_refusals(image: Path, tmp_path: Path) -> None:
    key = luks.KeySource.from_passphrase(PASS)
    big = tmp_path / "big.img"
    with open(big, "wb") as fh:
        fh.truncate(SIZE)
    with pytest.raises(PartwrightError, match="holds"):
        luks.format_luks(str(image), ORIGIN, SIZE, key, content=str(big), fast=True)
    with pytest.raises(PartwrightError, match="too small"):
        luks.payload_bytes(16 * MIB, "luks2")
    luks.format_luks(str(image), ORIGIN, SIZE, key, fast=True)
    assert luks.reuuid_payload(str(image), ORIGIN, SIZE, key) is None  # nothing inside
    with pytest.raises(luks.LuksError, match="cryptsetup failed"):
        luks.read_payload(str(image), ORIGIN, SIZE, luks.KeySource.from_passphrase("wrong"),
                          str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
