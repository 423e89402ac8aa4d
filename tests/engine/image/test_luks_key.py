"""`partwright build --luks-key env:NAME|file:PATH` and KIWI's
`luks="file://PATH"`: the key comes from where it is said to, the
layout's passphrase is overridden, the secret appears in no output, log
record or exception of the command line run, and a bad source is refused
with one line that names the source, not its content, before anything is
written."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from engine.image import luks
from engine.image.inspect import inspect
from partwright.cli import main
from tests.support.cli import one_line
from tests.support.image import cli, holds_bytes, needs_tools

pytestmark = needs_tools

DECOY = "Decoy-Layout-Passphrase-0001"
SECRET = "Tangerine-Kestrel-9402-never-printed"


def description(path: Path, luks_value: str | None) -> Path:
    attr = "" if luks_value is None else f' luks="{luks_value}" luks_version="luks2"'
    path.write_text(
        f'<type image="oem" firmware="efi" filesystem="ext4" root_clone="1"{attr}>\n'
        "  <oemconfig><oem-systemsize>256</oem-systemsize><oem-resize>false</oem-resize></oemconfig>\n"
        '  <size unit="M">2048</size>\n</type>\n')
    return path


@pytest.fixture(autouse=True)
def fast_luks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTWRIGHT_LUKS_FAST", "1")


def roots(image: Path) -> list[tuple[int, int]]:
    """(offset, size) of every LUKS partition of the image."""
    report = inspect(str(image))
    found = [(p.start * 512, p.sectors * 512) for p in report.partitions
             if p.filesystem == "crypto_LUKS"]
    assert len(found) == 2 and report.duplicates == ()
    return found


def opens_with(image: Path, key: luks.KeySource) -> bool:
    return all(luks.check_key(str(image), off, size, key) for off, size in roots(image))


def test_env_key_overrides_the_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capfd: pytest.CaptureFixture[str],
                                      caplog: pytest.LogCaptureFixture) -> None:
    """In process, so that log records at DEBUG and the children's output
    are captured too: the secret is in none of them."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("PW_TEST_BUILD_KEY", SECRET)
    desc = description(tmp_path / "config.xml", DECOY)
    out = tmp_path / "env.img"
    for extra in ([], ["--json"]):
        if out.exists():
            out.unlink()
        assert main(["build", str(desc), "-o", str(out), "--luks-key", "env:PW_TEST_BUILD_KEY",
                     *extra]) == 0
    # a failing run with the key given: the error names no secret either
    assert main(["build", str(desc), "-o", str(tmp_path / "no-such-dir" / "x.img"),
                 "--luks-key", "env:PW_TEST_BUILD_KEY"]) == 2
    assert main(["inspect", str(out)]) == 0
    stdout, stderr = capfd.readouterr()
    assert "crypto_LUKS" in stdout and "partwright: error:" in stderr
    assert SECRET not in stdout and SECRET not in stderr
    assert DECOY not in stdout and DECOY not in stderr
    assert caplog.records and all(SECRET not in r.getMessage() for r in caplog.records)
    assert SECRET not in caplog.text
    assert holds_bytes(out, b"LUKS\xba\xbe")  # the search finds what is there: a LUKS header
    for path in (out, Path(f"{out}.partids")):  # only in the key slots, encrypted
        assert not holds_bytes(path, SECRET.encode())
    assert opens_with(out, luks.KeySource.from_env("PW_TEST_BUILD_KEY"))
    assert not opens_with(out, luks.KeySource.from_passphrase(DECOY))


def test_file_key_and_kiwi_file_url(tmp_path: Path) -> None:
    keyfile = tmp_path / "root.key"
    keyfile.write_bytes(SECRET.encode() + b"\n")  # a key file's bytes, newline included
    keyfile.chmod(0o600)
    # --luks-key file:PATH overrides the layout's passphrase
    out = tmp_path / "file.img"
    proc = cli("build", str(description(tmp_path / "a.xml", DECOY)), "-o", str(out),
               "--luks-key", f"file:{keyfile}")
    assert proc.returncode == 0, proc.stderr
    assert SECRET not in proc.stdout + proc.stderr and DECOY not in proc.stdout + proc.stderr
    assert opens_with(out, luks.KeySource.from_file(str(keyfile)))
    assert not opens_with(out, luks.KeySource.from_passphrase(SECRET))  # the newline counts
    # KIWI's luks="file://PATH" in the description itself
    out2 = tmp_path / "url.img"
    proc = cli("build", str(description(tmp_path / "b.xml", f"file://{keyfile}")), "-o",
               str(out2), "--json")
    assert proc.returncode == 0, proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["output"] == str(out2)
    assert opens_with(out2, luks.KeySource.from_file(str(keyfile)))
    assert not opens_with(out2, luks.KeySource.from_passphrase(f"file://{keyfile}"))
    assert luks.KeySource.parse(f"file://{keyfile}") == luks.KeySource.from_file(str(keyfile))


def test_bad_key_sources(tmp_path: Path) -> None:
    desc = description(tmp_path / "config.xml", DECOY)
    plain = description(tmp_path / "plain.xml", None)
    missing = tmp_path / "missing.key"
    unreadable = tmp_path / "keydir"
    unreadable.mkdir()  # a directory: cannot be read as a key file, even by root
    out = tmp_path / "x.img"
    env = {"PW_EMPTY_KEY": ""}
    cases = [
        (desc, "env:PW_NOT_SET_ANYWHERE", "environment variable PW_NOT_SET_ANYWHERE is not set"),
        (desc, "env:PW_EMPTY_KEY", "environment variable PW_EMPTY_KEY is empty"),
        (desc, f"file:{missing}", f"key file {missing} cannot be read"),
        (desc, f"file:{unreadable}", f"key file {unreadable} cannot be read"),
        (desc, SECRET, "--luks-key takes env:NAME or file:PATH"),
        (plain, f"file:{missing}", f"key file {missing} cannot be read"),
    ]
    for layout, source, message in cases:
        proc = cli("build", str(layout), "-o", str(out), "--luks-key", source, env=env)
        assert proc.returncode == 2, (source, proc.stdout, proc.stderr)
        line = one_line(proc.stderr)
        assert line.startswith("partwright: error:") and message in line, line
        assert SECRET not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
        assert not out.exists() and not list(tmp_path.glob("*.partial*"))
    # a key for a layout that encrypts nothing
    keyfile = tmp_path / "ok.key"
    keyfile.write_text(SECRET)
    proc = cli("build", str(plain), "-o", str(out), "--luks-key", f"file:{keyfile}")
    assert proc.returncode == 2
    assert "encrypts nothing" in one_line(proc.stderr) and SECRET not in proc.stderr
    # luks="file://..." naming a file that is not there
    proc = cli("build", str(description(tmp_path / "url.xml", f"file://{missing}")), "-o", str(out))
    assert proc.returncode == 2
    assert f"key file {missing} cannot be read" in one_line(proc.stderr)
    assert not out.exists()
    assert os.environ.get("PW_NOT_SET_ANYWHERE") is None
