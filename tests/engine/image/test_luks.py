"""LUKS containers in a region of an image file (engine/image/luks/):
luksFormat on plain files, clones with new UUIDs, key sources, and a
passphrase that never leaves the container (test_luks_payload.py: what is
inside)."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.errors import PartwrightError
from engine.host import kernel, sparse
from engine.image import luks
from engine.image.identity import make_identity
from engine.image.luks import payload as luks_payload
from engine.image.luks.cryptsetup import redact
from tests.support.luks import (
    CLONE,
    MIB,
    ORIGIN,
    PASS,
    SIZE,
    blkid,
    copy_region,
    dump,
    dumped_uuid,
    extract,
    make_fs,
)

pytestmark = pytest.mark.skipif(shutil.which("cryptsetup") is None,
                                reason="cryptsetup is not installed (Debian cryptsetup-bin)")
IMAGE_MIB = 128  # the `image` fixture's size


@pytest.mark.parametrize("version,expected", [("luks1", 1), ("luks2", 2), ("luks", 2), (None, 2)])
def test_format_at_an_offset(image: Path, tmp_path: Path, version: str | None,
                             expected: int) -> None:
    key = luks.KeySource.from_passphrase(PASS)
    wanted = make_identity("seed-1").uuid_str("luks/3")
    header = luks.format_luks(str(image), ORIGIN, SIZE, key, version=version, uuid=wanted,
                              fast=True)
    assert header.version == expected and header.uuid == wanted
    text = dump(image, ORIGIN, tmp_path)
    assert f"Version:       \t{expected}" in text
    assert dumped_uuid(text) == wanted
    assert "Iterations" in text and ("pbkdf2" in text or expected == 1)
    found = blkid(image, ORIGIN)
    assert found["TYPE"] == "crypto_LUKS" and found["UUID"] == wanted
    assert luks.luks_uuid(str(image), ORIGIN, SIZE) == wanted
    assert header.data_offset == (16 * MIB if expected == 2 else 2 * MIB)
    # only the header is data, the payload is a hole; nothing before the region
    with open(image, "rb") as fh:
        runs = sparse.extents(fh.fileno(), 0, 128 * MIB)
    assert runs and runs[0][0] >= ORIGIN and runs[-1][0] + runs[-1][1] <= ORIGIN + header.header_bytes
    assert sparse.allocated_bytes(str(image)) <= header.header_bytes + MIB
    assert luks.check_key(str(image), ORIGIN, SIZE, key)
    assert not luks.check_key(str(image), ORIGIN, SIZE, luks.KeySource.from_passphrase("wrong"))


def test_label_and_seeded_uuid_repeat(image: Path) -> None:
    key = luks.KeySource.from_passphrase(PASS)
    ident = make_identity("same seed")
    first = luks.format_luks(str(image), ORIGIN, SIZE, key, uuid=ident.uuid_str("luks/5"),
                             label="cryptroot", fast=True)
    second = luks.format_luks(str(image), CLONE, SIZE, key,
                              uuid=make_identity("same seed").uuid_str("luks/5"), fast=True)
    assert first.uuid == second.uuid and first.label == "cryptroot"
    with pytest.raises(PartwrightError, match="needs LUKS2"):
        luks.format_luks(str(image), ORIGIN, SIZE, key, version="luks1", label="x", fast=True)
    with pytest.raises(PartwrightError, match="not a UUID"):
        luks.format_luks(str(image), ORIGIN, SIZE, key, uuid="nope", fast=True)
    with pytest.raises(PartwrightError, match="unknown LUKS version"):
        luks.format_luks(str(image), ORIGIN, SIZE, key, version="luks3", fast=True)


@pytest.mark.parametrize("version", ["luks1", "luks2"])
def test_clone_gets_its_own_uuid(image: Path, tmp_path: Path, version: str) -> None:
    key = luks.KeySource.from_passphrase(PASS)
    origin = luks.format_luks(str(image), ORIGIN, SIZE, key, version=version, fast=True)
    copy_region(image, ORIGIN, CLONE, SIZE)
    assert dumped_uuid(dump(image, CLONE, tmp_path)) == origin.uuid  # a plain copy: same UUID
    new = luks.set_luks_uuid(str(image), CLONE, SIZE, workdir=str(tmp_path))
    origin_dump, clone_dump = dump(image, ORIGIN, tmp_path), dump(image, CLONE, tmp_path)
    assert dumped_uuid(origin_dump) == origin.uuid
    assert dumped_uuid(clone_dump) == new != origin.uuid
    assert blkid(image, CLONE)["UUID"] == new and blkid(image, ORIGIN)["UUID"] == origin.uuid
    # the clone still opens with the key (it shares the volume key, as KIWI's clones do)
    assert luks.check_key(str(image), CLONE, SIZE, key)
    # a chosen UUID
    chosen = "0b7f0c55-1111-4222-8333-944445555666"
    assert luks.set_luks_uuid(str(image), CLONE, SIZE, chosen) == chosen
    assert luks.read_header(str(image), CLONE).uuid == chosen
    assert chosen in luks.luks_dump(str(image), CLONE, SIZE)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("partwright-")]


def test_key_sources(image: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keyfile = tmp_path / "key"
    keyfile.write_bytes(b"\x00binary\xffkey\n")
    keyfile.chmod(0o600)
    monkeypatch.setenv("PW_TEST_LUKS_KEY", PASS)
    file_key = luks.KeySource.parse(f"file:{keyfile}")
    env_key = luks.KeySource.parse("env:PW_TEST_LUKS_KEY")
    assert luks.KeySource.parse(str(keyfile)) == file_key
    luks.format_luks(str(image), ORIGIN, SIZE, file_key, fast=True)
    luks.format_luks(str(image), CLONE, SIZE, env_key, fast=True)
    assert luks.check_key(str(image), ORIGIN, SIZE, file_key)
    assert not luks.check_key(str(image), ORIGIN, SIZE, env_key)
    assert luks.check_key(str(image), CLONE, SIZE, env_key)
    assert luks.check_key(str(image), CLONE, SIZE, luks.KeySource.from_passphrase(PASS))
    # the key file's bytes are the key, as with cryptsetup --key-file
    region = extract(image, ORIGIN, SIZE, tmp_path / "r.img")
    with kernel.dm_control_guard():  # libdevmapper's mknod on a kernel without dm
        assert subprocess.run(["cryptsetup", "open", "--test-passphrase", "--key-file",
                               str(keyfile), str(region)], capture_output=True,
                              check=False).returncode == 0
    region.unlink()
    # refusals name the source, never a key
    monkeypatch.delenv("PW_TEST_LUKS_KEY")
    with pytest.raises(PartwrightError, match="environment variable PW_TEST_LUKS_KEY is not set"):
        luks.format_luks(str(image), ORIGIN, SIZE, env_key, fast=True)
    with pytest.raises(PartwrightError, match="cannot be read"):
        luks.KeySource.from_file(str(tmp_path / "missing")).read()
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(PartwrightError, match="is empty"):
        luks.KeySource.from_file(str(tmp_path / "empty")).read()
    with pytest.raises(PartwrightError, match="not an environment variable name"):
        luks.KeySource.from_env("A=B")
    secret = luks.KeySource.from_passphrase(PASS)
    assert PASS not in repr(secret) and PASS not in str(secret) and "<hidden>" in repr(secret)
    assert secret != luks.KeySource.from_file("x")


def test_not_a_container(image: Path) -> None:
    with pytest.raises(luks.LuksError, match="no LUKS header"):
        luks.read_header(str(image), ORIGIN)
    with pytest.raises(luks.LuksError, match="no LUKS container"):
        luks.luks_uuid(str(image), ORIGIN, SIZE)
    with pytest.raises(luks.LuksError, match="no LUKS header"):
        luks.set_luks_uuid(str(image), ORIGIN, SIZE)


def test_redaction() -> None:
    secret = PASS.encode()
    assert redact(f"bad key '{PASS}'\nnext {PASS}\n", secret) == "bad key '<hidden>'\nnext <hidden>\n"
    assert redact("nothing here", secret) == "nothing here"


def test_passphrase_never_leaves(image: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str],
                                 caplog: pytest.LogCaptureFixture,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A whole LUKS flow with a distinctive passphrase: it is in no command
    line, no child's environment, no output, no log record, no exception
    text and no file (the image holds only the encrypted key slots)."""
    caplog.set_level(logging.DEBUG)
    had_dm_node = os.path.lexists(kernel.DM_CONTROL)
    secret = "Octarine-Wombat-5150-do-not-leak"
    monkeypatch.setenv("PW_TEST_SECRET", secret)
    key_dir = tmp_path.parent / f"{tmp_path.name}-key"
    key_dir.mkdir(mode=0o700)
    keyfile = key_dir / "keyfile"
    keyfile.write_text(secret)
    work = tmp_path / "work"
    work.mkdir()
    calls: list[tuple[list[str], dict[str, str]]] = []
    real_popen = subprocess.Popen

    def spy(args: list[str], *a: object, **kw: object) -> object:  # every tool starts here
        env = kw.get("env")
        calls.append(([str(x) for x in args], dict(env) if isinstance(env, dict) else dict(os.environ)))
        return real_popen(args, *a, **kw)  # type: ignore[call-overload]

    monkeypatch.setattr(subprocess, "Popen", spy)
    errors: list[str] = []
    for source in (luks.KeySource.from_env("PW_TEST_SECRET"), luks.KeySource.from_file(str(keyfile)),
                   luks.KeySource.from_passphrase(secret)):
        for version in ("luks1", "luks2"):
            luks.format_luks(str(image), ORIGIN, SIZE, source, version=version, fast=True,
                             workdir=str(work))
            assert luks.check_key(str(image), ORIGIN, SIZE, source, workdir=str(work))
            copy_region(image, ORIGIN, CLONE, SIZE)
            luks.set_luks_uuid(str(image), CLONE, SIZE, workdir=str(work))
            assert luks.check_key(str(image), CLONE, SIZE, source, workdir=str(work))
            print(luks.luks_dump(str(image), CLONE, SIZE, workdir=str(work)))
            print(repr(source), source)
        if source.kind == "env":  # the payload path: volume key dump, decrypt, encrypt
            plain = work.parent / "plain.img"
            make_fs(plain, luks.payload_bytes(SIZE, "luks2"), "ext4")
            luks.format_luks(str(image), ORIGIN, SIZE, source, fast=True, content=str(plain),
                             workdir=str(work))
            copy_region(image, ORIGIN, CLONE, SIZE)
            assert luks.reuuid_payload(str(image), CLONE, SIZE, source, workdir=str(work))
            luks.read_payload(str(image), CLONE, SIZE, source, str(work.parent / "out.img"),
                              workdir=str(work))
        # refusals and failures: a region too small for the header, a pbkdf
        # cryptsetup refuses, no header to check the key against
        def attempt(call: Callable[..., object], *args: object, **kwargs: object) -> None:
            try:
                call(*args, **kwargs)
            except PartwrightError as exc:
                errors.extend([str(exc), repr(exc), str(exc.__cause__), str(exc.__context__)])
            else:
                raise AssertionError("expected a refusal")

        attempt(luks.format_luks, str(image), ORIGIN, MIB, source, fast=True, workdir=str(work))
        attempt(luks.check_key, str(image), 0, SIZE, source, workdir=str(work))
        with monkeypatch.context() as patch:
            patch.setattr(luks_payload, "FAST_ITERATIONS", 1)
            attempt(luks.format_luks, str(image), ORIGIN, SIZE, source, fast=True,
                    workdir=str(work))
    assert any("too small" in e for e in errors) and any("no LUKS header" in e for e in errors)
    assert any("cryptsetup failed" in e and "pbkdf" in e for e in errors), errors
    logging.getLogger("engine").debug("flow done")
    out, err = capfd.readouterr()
    assert "LUKS header information" in out
    assert secret not in out and secret not in err
    assert secret not in caplog.text
    assert all(secret not in r.getMessage() and secret not in str(r.args) for r in caplog.records)
    assert any(r.name == "engine.image.luks" for r in caplog.records)
    assert all(secret not in e for e in errors)
    for argv, env in calls:
        assert all(secret not in arg for arg in argv), argv
        if "--key-file=-" in argv:  # the key goes on stdin, not also in the environment
            assert secret not in env.values(), "the key variable reached cryptsetup's environment"
    assert any(a[0].endswith("cryptsetup") and "--key-file=-" in a for a, _ in calls)
    for root, _dirs, files in os.walk(tmp_path):
        for name in files:
            with open(os.path.join(root, name), "rb") as fh:
                assert secret.encode() not in fh.read(), os.path.join(root, name)
    assert os.listdir(work) == []
    if not kernel.has_dm():  # cryptsetup's stray /dev/mapper/control was removed again
        assert os.path.lexists(kernel.DM_CONTROL) == had_dm_node


@pytest.mark.skipif(not kernel.has_dm() or not kernel.has_loop(),
                    reason=kernel.missing("dm", "loop") or "")
def test_open_with_device_mapper(image: Path, tmp_path: Path) -> None:  # pragma: no cover - needs dm
    """Where the kernel has device-mapper: the container opens with the key."""
    key = luks.KeySource.from_passphrase(PASS)
    luks.format_luks(str(image), ORIGIN, SIZE, key, fast=True)
    loop = subprocess.run(["losetup", "-f", "--show", "-o", str(ORIGIN), "--sizelimit", str(SIZE),
                           str(image)], capture_output=True, text=True, check=True).stdout.strip()
    name = f"pwtest{os.getpid()}"
    try:
        subprocess.run(["cryptsetup", "open", "--key-file=-", loop, name], input=PASS.encode(),
                       check=True, capture_output=True)
        assert os.path.exists(f"/dev/mapper/{name}")
        subprocess.run(["cryptsetup", "close", name], check=True)
    finally:
        subprocess.run(["losetup", "-d", loop], check=False)
