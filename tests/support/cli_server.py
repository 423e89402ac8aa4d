"""A fork server for the command line's tests (test-only).

Starting `python -m partwright` costs about half a second of CPU, almost all
of it importing the command line and the engine; the suite runs the command
line a few hundred times. This server imports them once, then forks one
child per run: the child takes the caller's stdin, stdout and stderr (passed
as file descriptors over a socket), working directory, environment and
arguments, and runs `partwright/__main__.py` as `python -m` does, down to the
interpreter's own exit: SystemExit, a traceback on an uncaught exception,
atexit handlers. Each run is still its own process with its own exit status
(negative for a signal, as subprocess reports it); only the interpreter's
start-up and the imports are shared. `tests.support.cli.cli(fresh=True)`
runs a real new interpreter instead.

Run as `python cli_server.py FD`: FD is the server's end of a socket pair.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.paths import ROOT

_HEADER = struct.Struct("!I")


def _send(sock: socket.socket, data: dict[str, Any], fds: list[int] | None = None) -> None:
    body = json.dumps(data).encode()
    message = _HEADER.pack(len(body)) + body
    if fds:
        socket.send_fds(sock, [message], fds)
    else:
        sock.sendall(message)


def _recv(sock: socket.socket, nfds: int = 0) -> tuple[dict[str, Any] | None, list[int]]:
    """One message, read to its last byte and not one byte past it: the
    server's two answers (the pid, then the status of a run that ended at
    once) can be waiting together, and the second must stay in the socket."""
    fds: list[int] = []
    raw = b""
    need = _HEADER.size
    while len(raw) < need:
        if nfds and not fds:
            data, fds, _, _ = socket.recv_fds(sock, need - len(raw), nfds)
        else:
            data = sock.recv(need - len(raw))
        if not data:
            return None, fds
        raw += data
        if need == _HEADER.size and len(raw) == need:
            need += _HEADER.unpack_from(raw)[0]
    return json.loads(raw[_HEADER.size:]), fds


def serve(sock: socket.socket) -> None:
    """Answer requests until the caller closes its end: one fork a run; the
    child never returns from here (it leaves through SystemExit)."""
    import importlib
    import pkgutil
    import runpy

    import partwright.cli
    from engine.plan.fs_limits import fat_range

    for package in ("engine", "partwright", "tui"):  # the imports every run shares
        for module in pkgutil.walk_packages([str(ROOT / package)], f"{package}."):
            if not module.name.endswith(".__main__"):
                importlib.import_module(module.name)
    for bits in (16, 32):  # a pure function's cache, which each run would fill alike
        fat_range(bits)
    while True:
        request, fds = _recv(sock, 3)
        if request is None:
            return
        pid = os.fork()
        if pid == 0:
            sock.close()
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
                os.close(fd)
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            main = str(Path(partwright.cli.__file__).with_name("__main__.py"))
            sys.argv = [main, *request["args"]]
            os._exit(_run_main(lambda: runpy.run_module("partwright", run_name="__main__",
                                                        alter_sys=True)))
        for fd in fds:
            os.close(fd)
        _send(sock, {"pid": pid})
        _, status = os.waitpid(pid, 0)
        _send(sock, {"status": os.waitstatus_to_exitcode(status)})


def _run_main(run: Callable[[], object]) -> int:
    """`run()` and the interpreter's way out, as Py_FinalizeEx takes it: the
    exit status of SystemExit (its message on stderr), a traceback and 1 for
    any other exception, then the wait for threads, the atexit handlers and
    the flush of stdout and stderr. The modules' teardown is skipped: it
    frees memory the process is about to give back whole."""
    try:
        run()
        status = 0
    except SystemExit as stop:
        code = stop.code
        if code is None or isinstance(code, int):
            status = code or 0
        else:
            sys.stderr.write(f"{code}\n")
            status = 1
    except BaseException:  # noqa: BLE001 - what the interpreter prints for an uncaught one
        sys.excepthook(*sys.exc_info())
        status = 1
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed or broken stream, as at exit
            status = status or 120
    return status & 0xFF


class CliServer:
    """The caller's side: one server process for the test worker, started on
    first use; a run that finds it busy (another thread) gets a fresh one."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self.lock = threading.Lock()

    def _start(self) -> socket.socket:
        if self.proc is None or self.proc.poll() is not None or self.sock is None:
            ours, theirs = socket.socketpair()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.support.cli_server", str(theirs.fileno())],
                cwd=ROOT, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=None)
            theirs.close()
            self.sock = ours
            atexit.register(self._stop)  # the server ends with its worker, and is waited for
        return self.sock

    def run(self, args: list[str], env: dict[str, str], cwd: Path, stdin: int, stdout: int,
            stderr: int, timeout: float) -> int | None:
        """The exit status of one run (None: the server is busy or gone)."""
        if not self.lock.acquire(blocking=False):
            return None
        try:
            sock = self._start()
            sock.settimeout(None)
            _send(sock, {"args": args, "env": env, "cwd": str(cwd)}, [stdin, stdout, stderr])
            started, _ = _recv(sock)
            if started is None:
                self._stop()
                return None
            sock.settimeout(timeout)
            try:
                done, _ = _recv(sock)
            except TimeoutError:
                try:
                    os.kill(started["pid"], signal.SIGKILL)
                except ProcessLookupError:  # the run ended but its status never came:
                    self._stop()  # the server is stuck; the caller runs it afresh
                    return None
                sock.settimeout(None)
                _recv(sock)
                raise subprocess.TimeoutExpired(args, timeout) from None
            if done is None:
                self._stop()
                raise RuntimeError("the command line's fork server stopped")
            return int(done["status"])
        finally:
            self.lock.release()

    def _stop(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.proc is not None:
            self.proc.wait(timeout=30)
            self.proc = None


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])))
