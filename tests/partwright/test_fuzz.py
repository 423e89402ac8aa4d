"""Hostile input hunted by hypothesis: random bytes, and random mutations of
the corpus's valid descriptions, given to `preview`, `export` and `build`
(small disks) as a user would, the real command line in a fresh process.
Whatever comes in: exit 0, 1 or 2 only, at most three lines on stderr, never
a traceback, and nothing left at the target unless the run succeeded.
`PARTWRIGHT_FUZZ=20 pytest tests/partwright/test_fuzz.py` hunts longer."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.cli import cli
from tests.support.paths import DATA
from tests.support.seed import SEED

# the valid descriptions of the corpus (KIWI reads each; some plan with errors)
VALID = sorted([SEED, *(p for p in (DATA / "descriptions").iterdir()
                        if p.suffix in (".kiwi", ".xml"))])
ATTRIBUTE = re.compile(rb'(\w+)="([^"]*)"')
ELEMENT_TEXT = re.compile(rb">([^<>]+)</")
# numbers a user might type: small, boundary, large (counts up to 10**5 and
# sizes up to 10**7 MiB: the planner answers those at once)
NUMBERS = st.one_of(st.integers(-3, 130), st.sampled_from([0, 2047, 2048, 4096, 2**31, 2**32]),
                    st.integers(0, 10**5), st.integers(10**5, 10**7))
WORDS = st.one_of(st.text(max_size=12), st.sampled_from(
    ["", "true", "false", "-1", "1G", "10T", "512M", "msdos", "gpt", "dasd", "root", "&amp;",
     "/", "a b", "é", "0x10"]))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid description with one to four edits: a value, an element's text,
    bytes changed, inserted or cut."""
    data = bytearray(draw(st.sampled_from(VALID)).read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["attribute", "text", "bytes", "cut"]))
        spans = list((ATTRIBUTE if kind == "attribute" else ELEMENT_TEXT).finditer(data))
        if kind in ("attribute", "text") and spans:
            span = draw(st.sampled_from(spans))
            value = draw(st.one_of(NUMBERS.map(str), WORDS)).encode("utf-8", "surrogatepass")
            start, end = span.span(2 if kind == "attribute" else 1)
            data[start:end] = value.replace(b'"', b"&quot;").replace(b"<", b"&lt;")
        elif kind == "bytes" and data:
            at = draw(st.integers(0, len(data) - 1))
            data[at:at + draw(st.integers(0, 3))] = draw(st.binary(max_size=4))
        elif data:
            at = draw(st.integers(0, len(data) - 1))
            del data[at:at + draw(st.integers(1, 200))]
    return bytes(data)


INPUTS = st.one_of(st.binary(max_size=600), mutated())


def check(command: list[str], data: bytes, target: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="partwright-fuzz-") as tmp:
        work = Path(tmp)
        source = work / "input.kiwi"
        source.write_bytes(data)
        args = [a.format(src=source, out=work / "out") for a in command]
        result = cli(*args, cwd=work, timeout=60)
        assert result.returncode in (0, 1, 2), (result.returncode, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        assert len(result.stderr.splitlines()) <= 3, result.stderr
        assert "internal error" not in result.stderr, result.stderr
        left = sorted(p.name for p in work.iterdir() if p.name != "input.kiwi")
        if result.returncode != 0 or target is None:
            assert left == [], (result.returncode, left, result.stderr)


# PARTWRIGHT_FUZZ=N runs N times the examples (a longer hunt than the suite's)
SCALE = max(1, int(os.environ.get("PARTWRIGHT_FUZZ", "1") or 1))


def fuzz(examples: int) -> settings:
    return settings(max_examples=examples * SCALE, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


@fuzz(25)
@given(INPUTS)
def test_preview_takes_anything(data: bytes) -> None:
    check(["preview", "{src}"], data, None)


@fuzz(25)
@given(INPUTS)
def test_export_takes_anything(data: bytes) -> None:
    check(["export", "{src}", "-o", "{out}"], data, "out")


@fuzz(10)
@given(INPUTS)
def test_build_takes_anything(data: bytes) -> None:
    # a small disk, so a build that goes through is quick
    check(["build", "{src}", "-o", "{out}", "--seed", "fuzz"], _small(data), "out")


def _small(data: bytes) -> bytes:
    return re.sub(rb'<size unit="G">\d+</size>', b'<size unit="M">3072</size>', data)
