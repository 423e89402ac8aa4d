"""The bad-input corpus (tests/data/bad/cases.toml), each case run as a user
runs it: the real command line in a process of its own, in an empty working
directory. Every case must exit with its status, say exactly one line on
stderr holding its words (never a traceback), and leave nothing behind.
Every FRESH-th case starts a new interpreter (start-up and imports
included); the others fork from the test worker's command line server."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import cli
from tests.support.paths import DATA
from tests.support.seed import SEED

BAD = DATA / "bad"
CASES: list[dict[str, Any]] = tomllib.loads((BAD / "cases.toml").read_text())["case"]
FRESH = 10


def fill(text: str, tmp: Path) -> str:
    return text.format(bad=BAD, data=DATA, seed=SEED, tmp=tmp)


def make(setup: list[str], tmp: Path) -> None:
    for item in setup:
        kind, name, *size = item.split(":")
        if kind == "dir":
            (tmp / name).mkdir()
        else:
            with open(tmp / name, "wb") as fh:
                fh.truncate(int(size[0]))


def listing(tmp: Path) -> list[str]:
    return sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*"))


def test_the_corpus_is_large_and_every_input_is_used() -> None:
    assert len(CASES) >= 60
    names = [c["name"] for c in CASES]
    assert len(set(names)) == len(names), "two cases share a name"
    used = {Path(fill(a, Path("/tmp"))).name for c in CASES for a in c["args"]}
    used |= {c["stdin"] for c in CASES if "stdin" in c} | {
        Path(fill(a, Path("/tmp")).split(":", 1)[-1]).name for c in CASES for a in c["args"]}
    unused = sorted(p.name for p in BAD.iterdir() if p.name != "cases.toml" and p.name not in used)
    assert not unused, f"inputs no case uses: {unused}"


@pytest.mark.parametrize(("index", "case"), enumerate(CASES), ids=[c["name"] for c in CASES])
def test_bad_input(index: int, case: dict[str, Any], tmp_path: Path) -> None:
    make(case.get("setup", []), tmp_path)
    before = listing(tmp_path)
    stdin = (BAD / case["stdin"]).read_bytes() if "stdin" in case else None
    result = cli(*[fill(a, tmp_path) for a in case["args"]], env=case.get("env"), stdin=stdin,
                 cwd=tmp_path, timeout=60, fresh=index % FRESH == 0)
    assert result.returncode == case["status"], (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("partwright: error: "), lines[0]
    for word in case["words"]:
        assert fill(word, tmp_path) in lines[0], (word, lines[0])
    if "target" in case:
        assert not Path(fill(case["target"], tmp_path)).exists()
    assert listing(tmp_path) == before  # nothing left behind, anywhere
