"""The engine imports no UI library (design.md): each check runs in a fresh
interpreter, so nothing a previous test imported can hide a leak."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.support.paths import ROOT

UI = ("textual", "rich", "tui")


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_core_engine_modules_import_no_ui() -> None:
    result = run(f"""
        import engine.plan.planner, engine.plan.model, engine.layout.model, engine.layout.names, engine.layout.example
        import engine.kiwi.read, engine.kiwi.write, engine.kiwi.export
        import sys
        leaked = sorted({{m.split('.')[0] for m in sys.modules}} & set({UI!r}))
        assert not leaked, leaked
        print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_no_engine_module_imports_ui() -> None:
    """Every module under engine/ (image, cow ... included), one interpreter each
    batch: a module that fails to import is a failure too."""
    result = run(f"""
        import importlib, pkgutil, sys
        import engine
        names = sorted(m.name for m in pkgutil.walk_packages(engine.__path__, "engine."))
        for name in names:
            importlib.import_module(name)
        leaked = sorted({{m.split('.')[0] for m in sys.modules}} & set({UI!r}))
        assert not leaked, leaked
        print(len(names))
    """)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) >= 10


def test_the_command_line_starts_without_textual() -> None:
    """`partwright preview` and friends do not pay for the TUI: cmd_edit imports it
    only when the designer runs."""
    result = run("""
        import sys
        from partwright.cli import build_parser
        build_parser()
        assert "textual" not in sys.modules and "tui" not in sys.modules
        print("ok")
    """)
    assert result.returncode == 0, result.stderr
