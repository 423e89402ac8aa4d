"""A description is read with a size bound: a disk image given by mistake is
refused in one line, without reading it into memory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import DescriptionError
from engine.kiwi._xml import MAX_DESCRIPTION_BYTES, read_bounded
from engine.kiwi.read import list_types, load


@pytest.fixture
def huge(tmp_path: Path) -> Path:
    path = tmp_path / "disk.kiwi"
    with open(path, "wb") as fh:
        fh.truncate(100 * 1024**3)  # sparse: 100 GiB apparent, nothing allocated
    return path


def test_load_refuses_a_file_over_the_bound(huge: Path) -> None:
    with pytest.raises(DescriptionError, match=r"disk\.kiwi: is 100\.0 GiB; a KIWI description is at most 64\.0 MiB"):
        load(huge)
    with pytest.raises(DescriptionError, match="at most"):
        list_types(huge)


def test_a_file_at_the_bound_is_read_one_byte_more_is_not(tmp_path: Path) -> None:
    path = tmp_path / "padded.kiwi"
    with open(path, "wb") as fh:
        fh.truncate(MAX_DESCRIPTION_BYTES)
    assert len(read_bounded(path)) == MAX_DESCRIPTION_BYTES
    with open(path, "ab") as fh:
        fh.write(b" ")
    with pytest.raises(DescriptionError, match="at most"):
        read_bounded(path)


def test_the_cli_says_one_line_and_exits_2(huge: Path) -> None:
    for command in (["preview"], ["partids"], ["export", "-o", str(huge.parent / "out.kiwi")]):
        r = subprocess.run([sys.executable, "-m", "partwright", *command, str(huge)],
                           capture_output=True, text=True, timeout=60, check=False)
        assert r.returncode == 2, (command, r.stderr)
        assert r.stderr.count("\n") == 1 and "100.0 GiB" in r.stderr and str(huge) in r.stderr
        assert "Traceback" not in r.stderr
    assert not (huge.parent / "out.kiwi").exists()
