"""The compiled dataclass methods kept between runs (engine._dataclass_code):
a class made from the cache is the class dataclasses makes without it, a
damaged or foreign cache is compiled afresh, nothing is written where
bytecode would not be, and a whole `partwright preview` prints the same
with the cache it wrote as without any."""

from __future__ import annotations

import dataclasses
import marshal
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from engine import _dataclass_code
from engine._dataclass_code import STAMP, CodeCache
from tests.support.paths import DATA, ROOT

SOURCE = '''
from __future__ import annotations
from dataclasses import dataclass, field

@dataclass(frozen=True)
class Part:
    name: str
    size_mb: int | None = None
    tags: tuple[str, ...] = ()
    secret: str | None = field(default=None, repr=False)

@dataclass(order=True)
class Counter:
    kept: list[int] = field(default_factory=list)
    total: int = 0
'''
METHODS = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__", "__lt__")


def make_classes(monkeypatch: pytest.MonkeyPatch, cache: CodeCache | None) -> types.ModuleType:
    """SOURCE run as a module of the package `cachetest`, its dataclasses
    compiled through `cache` (None: as dataclasses does by itself)."""
    module = types.ModuleType("cachetest.records")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    if cache is None:
        monkeypatch.delattr(dataclasses, "exec", raising=False)
    else:
        monkeypatch.setattr(dataclasses, "exec", cache.exec, raising=False)
    exec(compile(SOURCE, "records.py", "exec", dont_inherit=True), module.__dict__)
    return module


def shape(module: types.ModuleType) -> list[Any]:
    """Everything of the generated methods that makes them what they are."""
    got: list[Any] = []
    for cls in (module.Part, module.Counter):
        for name in METHODS:
            fn = cls.__dict__.get(name)
            code = getattr(fn, "__code__", None)
            got.append((cls.__name__, name, fn is None, getattr(fn, "__qualname__", None),
                        getattr(fn, "__annotations__", None), getattr(fn, "__defaults__", None),
                        code and (code.co_code, code.co_consts, code.co_names, code.co_varnames,
                                  code.co_flags, code.co_filename)))
    return got


def behaviour(module: types.ModuleType) -> list[Any]:
    part = module.Part("home", 10, ("a",), secret="pw")
    with pytest.raises(dataclasses.FrozenInstanceError):
        part.name = "x"
    counter = module.Counter()
    counter.total += 1
    return [repr(part), part == module.Part("home", 10, ("a",), "pw"), hash(part) == hash(
        module.Part("home", 10, ("a",), "pw")), dataclasses.replace(part, size_mb=2).size_mb,
        repr(counter), module.Counter([1]) < module.Counter([2]), module.Counter().kept]


def test_a_class_is_the_same_with_the_cache_without_it_and_from_a_written_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "pycache" / "code.marshal")
    plain = make_classes(monkeypatch, None)
    first = CodeCache(path, write=True, packages=("cachetest",))
    compiled = make_classes(monkeypatch, first)
    assert first.compiled > 8  # every method of both classes was compiled ...
    first.save()  # ... and written (at exit, in a real run)
    second = CodeCache(path, write=True, packages=("cachetest",))
    cached = make_classes(monkeypatch, second)
    assert second.compiled == 0 and len(second.used) == first.compiled  # all found
    assert shape(plain) == shape(compiled) == shape(cached)
    assert behaviour(plain) == behaviour(compiled) == behaviour(cached)
    assert behaviour(cached)[0] == "Part(name='home', size_mb=10, tags=('a',))"


@pytest.mark.parametrize("content", [b"", b"not marshal at all", marshal.dumps(("another", {})),
                                     marshal.dumps((STAMP, ["not", "a", "table"]))],
                         ids=["empty", "garbage", "other-interpreter", "not-a-table"])
def test_a_damaged_or_foreign_cache_is_compiled_afresh_and_replaced(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes) -> None:
    path = tmp_path / "code.marshal"
    path.write_bytes(content)
    cache = CodeCache(str(path), write=True, packages=("cachetest",))
    module = make_classes(monkeypatch, cache)
    assert cache.compiled > 8
    assert behaviour(module) == behaviour(make_classes(monkeypatch, None))
    cache.save()
    stamp, table = marshal.loads(path.read_bytes())
    assert stamp == STAMP and set(table) == cache.used


def test_nothing_is_written_where_bytecode_is_not(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    cache = CodeCache(str(tmp_path / "code.marshal"), write=False, packages=("cachetest",))
    make_classes(monkeypatch, cache)
    cache.save()
    assert cache.compiled > 8 and os.listdir(tmp_path) == []


def test_classes_of_other_packages_are_compiled_as_ever(monkeypatch: pytest.MonkeyPatch) -> None:
    import engine  # noqa: F401  (installs the engine's cache)

    assert dataclasses.exec == _dataclass_code.CACHE.exec  # type: ignore[attr-defined]
    cache = CodeCache(None, write=False, packages=("engine",))
    make_classes(monkeypatch, cache)  # package cachetest: not one of the cache's
    assert cache.compiled == 0 and cache.used == set()


def test_preview_prints_the_same_with_the_cache_it_wrote(tmp_path: Path) -> None:
    """Two whole runs with bytecode (and so the cache) written under a prefix
    of their own: the second finds every method the first compiled."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path)
    code = ("import sys, engine._dataclass_code as c; from partwright.cli import main; s = main(sys.argv[1:]);"
            " sys.stderr.write(f'compiled {c.CACHE.compiled}\\n'); raise SystemExit(s)")
    argv = [sys.executable, "-c", code, "preview", str(DATA / "oracle" / "seed.xml"), "--json"]
    runs = [subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                           check=True) for _ in range(2)]
    assert runs[0].stdout == runs[1].stdout and runs[0].stdout.startswith("{")
    assert "compiled 0" not in runs[0].stderr and "compiled 0" in runs[1].stderr
    assert list(tmp_path.rglob("dataclass-code.*.marshal"))


MARKER = "the test module's own"


def test_exec_without_globals_runs_in_the_callers_namespace_as_the_builtin() -> None:
    found: dict[str, object] = {}
    CodeCache(None, write=False).exec("seen = MARKER", None, found)
    assert found["seen"] == MARKER
    ns: dict[str, object] = {"__name__": "engine.example"}
    CodeCache(None, write=False).exec("x = 6 * 7", ns)
    assert ns["x"] == 42
