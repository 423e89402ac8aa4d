"""One KIWI oracle process for many layouts (test-only).

`OracleServer().run(xml, arch, root_mbytes)` answers like
`kiwi_oracle.run_oracle`, but one interpreter imports KIWI once and forks a
child per layout (`kiwi_oracle.py --serve`), which saves the import and
start-up cost of every run; each child still starts from a clean KIWI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ORACLE = Path(__file__).with_name("kiwi_oracle.py")


class OracleServer:
    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(
                [sys.executable, str(ORACLE), "--serve"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, text=True, bufsize=1)
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
