"""Keeping the KIWI oracle's child away from the host (test-only): a fresh
HOME and TMPDIR, the system tools on PATH, and the no-sleep preload library
that makes the waits of sgdisk and sfdisk no-ops on a plain file."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

#: sgdisk sleeps 1 s after every write (sync(); sleep(1) before it asks the
#: kernel to re-read the table) and sfdisk 0.25 s. On a plain file that wait
#: protects nothing; this preload library turns the waits, the global sync()
#: and the flushes of the scratch disk file (fsync, fdatasync: it is removed
#: afterwards) into no-ops for the tools KIWI runs. Every byte they write is
#: the same.
_NOSLEEP_C = r"""
#include <time.h>
#include <unistd.h>
unsigned int sleep(unsigned int s) { (void)s; return 0; }
int usleep(useconds_t u) { (void)u; return 0; }
int nanosleep(const struct timespec *a, struct timespec *b) { (void)a; (void)b; return 0; }
int clock_nanosleep(clockid_t c, int f, const struct timespec *a, struct timespec *b)
{ (void)c; (void)f; (void)a; (void)b; return 0; }
void sync(void) { }
int fsync(int fd) { (void)fd; return 0; }
int fdatasync(int fd) { (void)fd; return 0; }
"""


def nosleep_library(private_dir: Path) -> str | None:
    """Build (once, cached in the temp dir) the no-sleep preload library.

    A cached copy that is not ours or is writable by others is not used; the
    library is then built in ``private_dir`` for this run only.
    """
    if os.environ.get("KIWI_ORACLE_NO_SHIM"):
        return None
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return None
    digest = hashlib.sha256(_NOSLEEP_C.encode()).hexdigest()[:12]
    target = Path(tempfile.gettempdir()) / f"kiwi-oracle-nosleep-{os.getuid()}-{digest}.so"
    with contextlib.suppress(FileNotFoundError):
        st = target.stat()
        if st.st_uid == os.getuid() and not st.st_mode & 0o022:
            return str(target)
        target = private_dir / target.name
    with tempfile.TemporaryDirectory(prefix="kiwi-oracle-cc-") as tmp:
        src = Path(tmp) / "nosleep.c"
        src.write_text(_NOSLEEP_C)
        out = Path(tmp) / "nosleep.so"
        proc = subprocess.run(
            [cc, "-shared", "-fPIC", "-O2", "-o", str(out), str(src)],
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            return None
        tmp_target = target.with_suffix(f".{os.getpid()}.tmp")
        shutil.copyfile(out, tmp_target)
        tmp_target.chmod(0o644)
        os.replace(tmp_target, target)
    return str(target)



def isolate(work: Path) -> None:
    """Keep KIWI away from the host: temp HOME, no runtime config, temp TMPDIR."""
    lib = nosleep_library(work)  # cached in the host temp dir: before TMPDIR moves
    home = work / "home"
    home.mkdir()
    tmp = work / "tmp"
    tmp.mkdir()
    os.environ["HOME"] = str(home)
    os.environ["TMPDIR"] = str(tmp)
    os.environ["LC_ALL"] = "C"
    os.environ["LANG"] = "C"
    tempfile.tempdir = str(tmp)
    if lib:
        os.environ["LD_PRELOAD"] = lib
    else:
        os.environ.pop("LD_PRELOAD", None)
    # system tools live in /usr/sbin on Debian; a root-less PATH may lack it
    path = os.environ.get("PATH", "")
    for extra in ("/usr/sbin", "/sbin"):
        if extra not in path.split(os.pathsep):
            path = path + os.pathsep + extra
    os.environ["PATH"] = path
