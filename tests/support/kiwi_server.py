"""One KIWI oracle process for many layouts (test-only).

`OracleServer().run(xml, arch, root_mbytes)` answers like
`kiwi_oracle.run_oracle`, but one interpreter imports KIWI once and forks a
child per layout (`python -m tests.support.kiwi_server`, `serve()` below),
which saves the import and start-up cost of every run; each child still
starts from a clean KIWI.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.support.paths import ROOT


class OracleServer:
    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.support.kiwi_server"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, text=True, bufsize=1, cwd=ROOT)
            atexit.register(self.close)  # the server ends with its worker, and is waited for
        return self.proc

    def run(self, xml_text: str, arch: str = "x86_64", root_mbytes: int = 1024,
            profile: str | None = None) -> dict[str, Any]:
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps({"xml": xml_text, "arch": arch, "root_mbytes": root_mbytes,
                                     "profile": profile}) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        result = json.loads(line) if line.strip() else None
        if result is None:
            raise RuntimeError("the KIWI oracle server gave no answer")
        return result  # type: ignore[no-any-return]

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout=30)
            self.proc = None


def serve() -> int:
    """Answer one JSON request a line on stdin, one JSON result a line on stdout.

    KIWI is imported once, here; each request runs in a forked child, so the
    global state KIWI changes (platform, temp dir, runtime config, loggers)
    dies with it, and no request pays for the imports again.
    """
    import kiwi.builder.disk  # noqa: F401
    import kiwi.runtime_checker  # noqa: F401
    import kiwi.xml_description  # noqa: F401
    import kiwi.xml_state  # noqa: F401

    from tests.support.kiwi_oracle_run import oracle

    _compile_schema_once()
    environ = dict(os.environ)
    for line in sys.stdin:
        request = json.loads(line)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: one oracle run, its JSON into the pipe
            os.close(read_fd)
            quiet = os.open(os.devnull, os.O_WRONLY)  # KIWI's log handlers write to stdout
            os.dup2(quiet, 1)
            os.dup2(quiet, 2)
            status = 0
            try:
                with tempfile.TemporaryDirectory(prefix="kiwi-oracle-in-") as tmp:
                    xml_path = Path(tmp) / "config.xml"
                    xml_path.write_text(request["xml"], encoding="utf-8")
                    args = argparse.Namespace(
                        description=str(xml_path), arch=request["arch"],
                        root_mbytes=request["root_mbytes"], root_tree=request.get("root_tree"),
                        profile=request.get("profile"), verbose=False, keep=None)
                    data = json.dumps(oracle(args)).encode()
                with os.fdopen(write_fd, "wb") as out:
                    out.write(data)
            except BaseException:  # noqa: BLE001 - the parent reports a child without JSON
                status = 1
            os._exit(status)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as answer:
            data = answer.read()
        os.waitpid(pid, 0)
        os.environ.clear()
        os.environ.update(environ)
        sys.stdout.write((data.decode() or "null") + "\n")
        sys.stdout.flush()
    return 0


def _compile_schema_once() -> None:
    """XMLDescription.load compiles KIWI's RelaxNG schema and schematron rules
    for every description (0.2 s); the server compiles them once and hands
    every child the same validators (the same schema file, the same rules)."""
    import types

    import kiwi.xml_description as xml_description
    from kiwi.defaults import Defaults
    from lxml import etree, isoschematron

    schema_doc = etree.parse(Defaults.get_schema_file())
    relaxng = etree.RelaxNG(schema_doc)
    schematron = isoschematron.Schematron(schema_doc, store_report=True)

    class _Etree(types.ModuleType):
        def __getattr__(self, name: str) -> Any:
            return getattr(etree, name)

    cached = _Etree("lxml.etree")
    cached.RelaxNG = lambda *_a, **_k: relaxng  # type: ignore[attr-defined]
    xml_description.etree = cached  # type: ignore[attr-defined]
    module = types.ModuleType("kiwi_oracle_schematron")
    module.Schematron = lambda *_a, **_k: schematron  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    Defaults.get_schematron_module_name = staticmethod(lambda: module.__name__)  # type: ignore[method-assign]


if __name__ == "__main__":
    sys.exit(serve())
