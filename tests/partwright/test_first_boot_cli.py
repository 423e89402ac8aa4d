"""`partwright preview FILE --device-size ...` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import cli
from tests.support.paths import DATA

SEED = DATA / "oracle" / "seed.xml"


def test_device_sizes_in_json_and_on_the_terminal(tmp_path: Path) -> None:
    small = tmp_path / "small.xml"
    small.write_text(SEED.read_text().replace('<size unit="G">100</size>', '<size unit="G">5</size>'))
    r = cli("preview", str(small), "--device-size", "8G,32G,256G", "--json")
    assert r.returncode == 0, r.stderr
    boots = json.loads(r.stdout)["first_boot"]
    assert [b["device_bytes"] for b in boots] == [8 << 30, 32 << 30, 256 << 30]
    assert all(b["resized"] is None and len(b["partitions"]) == 9 for b in boots)
    assert boots[0]["diagnostics"][0]["code"] == "first-boot-no-repart"
    text = cli("preview", str(small), "--device-size", "8G").stdout
    assert "On a 8.0 GiB device" in text and "oem-resize is off" in text


def test_an_image_larger_than_the_device_exits_1() -> None:
    r = cli("preview", str(SEED), "--device-size", "8G")
    assert r.returncode == 1
    assert "device-too-small" in r.stdout and "sees no partition" in r.stdout


def test_a_bad_device_size_is_one_line_exit_2() -> None:
    for bad in ("8X", "8G,,32G"):
        r = cli("preview", str(SEED), "--device-size", bad)
        assert r.returncode == 2, (bad, r.stdout)
        assert r.stderr.count("\n") == 1 and "device size" in r.stderr and "Traceback" not in r.stderr
