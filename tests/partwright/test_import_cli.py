"""`partwright import` and `partwright diff` as a user runs them: the seed
image and its table dumps, descriptions written and read back, JSON, and bad
input as one line with exit status 2."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from engine.image.build import build
from engine.kiwi.read import load
from engine.layout.example import EXAMPLE_LAYOUT
from engine.plan.planner import plan
from tests.support.cli import cli
from tests.support.image import needs_tools
from tests.support.importing import rows, table_image
from tests.support.paths import DATA

SEED = DATA / "oracle" / "seed.xml"


@pytest.fixture(scope="module")
def seed_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    image = tmp_path_factory.mktemp("seed") / "seed.img"
    build(plan(EXAMPLE_LAYOUT), str(image), seed="cli")
    return image


@needs_tools
def test_import_writes_a_description_that_plans_the_same_table(seed_image: Path,
                                                               tmp_path: Path) -> None:
    out = tmp_path / "imported.kiwi"
    r = cli("import", str(seed_image), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "import-exact" in r.stdout and "p.lxrootclone1" in r.stdout
    assert rows(plan(load(out).layout)) == rows(plan(EXAMPLE_LAYOUT))
    data = json.loads(cli("import", str(seed_image), "--json").stdout)
    assert data["exact"] and data["partids"]["kiwi_RootPart"] == "9"
    assert cli("import", str(seed_image), "-o", "-").stdout.startswith("<?xml")


@needs_tools
def test_import_of_sfdisk_dumps(seed_image: Path, tmp_path: Path) -> None:
    for flag, name in (("--dump", "seed.dump"), ("--json", "seed.json")):
        text = subprocess.run(["sfdisk", flag, str(seed_image)], capture_output=True, text=True,
                              check=True).stdout
        (tmp_path / name).write_text(text)
        data = json.loads(cli("import", str(tmp_path / name), "--json").stdout)
        assert data["kind"] == "dump" and data["disk_sectors"] == 209715200
        got = [(p["number"], p["start"], p["end"], p["code"], p["name"])
               for p in data["plan"]["partitions"]]
        assert got == rows(plan(EXAMPLE_LAYOUT))
        assert "import-dump" in [d["code"] for d in data["diagnostics"]]


@needs_tools
def test_diff_of_an_image_against_a_description(seed_image: Path, tmp_path: Path) -> None:
    new = tmp_path / "new.xml"
    new.write_text(SEED.read_text().replace('clone="2"', 'clone="3"'))
    r = cli("diff", str(seed_image), str(new), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["verdict"] == "rewrite" and data["lost"] == ["home", "rootclone1", "root"]
    text = cli("diff", str(SEED), str(new)).stdout
    assert "rewrite" in text and "homeclone3" in text


def _one_line_2(*args: str) -> str:
    r = cli(*args)
    assert r.returncode == 2, (args, r.stdout, r.stderr)
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("partwright: error: ")
    assert "Traceback" not in r.stderr
    return r.stderr


def test_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("these are no partitions\n" * 50)
    assert "no partition table" in _one_line_2("import", str(text))
    noise = tmp_path / "noise.bin"
    noise.write_bytes(bytes(range(256)) * 4096)
    assert "no partition table" in _one_line_2("import", str(noise))
    assert "No such file" in _one_line_2("import", str(tmp_path / "missing.img"))
    assert "No such file" in _one_line_2("diff", str(SEED), str(tmp_path / "missing.img"))


@needs_tools
def test_truncated_tables_are_one_line_exit_2(tmp_path: Path) -> None:
    image = table_image(tmp_path / "t.img", plan(EXAMPLE_LAYOUT.with_changes(size_mb=6144)))
    whole = subprocess.run(["sfdisk", "--json", str(image)], capture_output=True, text=True,
                           check=True).stdout
    cut = tmp_path / "cut.json"
    cut.write_text(whole[: len(whole) // 2])
    assert "line" in _one_line_2("import", str(cut))
    dump = subprocess.run(["sfdisk", "--dump", str(image)], capture_output=True, text=True,
                          check=True).stdout
    short = tmp_path / "cut.dump"
    short.write_text(dump.rsplit(", size=", 1)[0] + "\n")
    assert "line" in _one_line_2("import", str(short))
    with open(image, "r+b") as fh:  # the disk cut off after 3 MiB: the table says more
        fh.truncate(3 << 20)
    message = _one_line_2("import", str(image))
    assert "truncated" in message or "no partition table" in message


@needs_tools
def test_an_image_with_no_partitions(tmp_path: Path) -> None:
    empty = tmp_path / "empty.img"
    with open(empty, "wb") as fh:
        fh.truncate(64 << 20)
    subprocess.run(["sgdisk", "-o", str(empty)], capture_output=True, check=True)
    assert "holds no partitions" in _one_line_2("import", str(empty))
    dump = tmp_path / "empty.json"
    dump.write_text('{"partitiontable": {"label": "gpt", "lastlba": 131038, "partitions": []}}')
    assert "holds no partitions" in _one_line_2("import", str(dump))


def test_import_never_writes_over_its_input(tmp_path: Path) -> None:
    image = table_image(tmp_path / "t.img", plan(EXAMPLE_LAYOUT))
    before = image.stat().st_size
    assert "refusing" in _one_line_2("import", str(image), "-o", str(image))
    assert image.stat().st_size == before
