"""A real distribution tree, made from this machine's /etc and /usr.

`make_distro_tree(dest)` copies (cp -a, one run, so hard links stay links)
/etc and parts of /usr: sbin, the hard-linked programs of /usr/bin, perl's
modules, zoneinfo, the CA certificates (non-ASCII names), mesa's
hard-linked drivers and gstreamer's helper (a file capability) where they are
installed. Where this machine lacks one of those features, the copy gets it
(a hard link, a capability, a non-ASCII name), so that every tree holds them.
Needs root (owners, capabilities).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.trees import CAPABILITY

SOURCES = ("/etc", "/usr/sbin", "/usr/share/perl", "/usr/share/zoneinfo",
           "/usr/share/ca-certificates", "/usr/lib/x86_64-linux-gnu/dri",
           "/usr/lib/x86_64-linux-gnu/gstreamer1.0")


def _linked_programs() -> list[str]:
    found = []
    for name in sorted(os.listdir("/usr/bin")):
        path = os.path.join("/usr/bin", name)
        st = os.lstat(path)
        if os.path.isfile(path) and not os.path.islink(path) and st.st_nlink > 1:
            found.append(path)
    return found


def make_distro_tree(dest: Path) -> Path:
    dest.mkdir(parents=True)
    sources = [s.lstrip("/") for s in (*SOURCES, *_linked_programs()) if os.path.exists(s)]
    subprocess.run(["cp", "-a", "--parents", *sources, str(dest)], check=True,
                   capture_output=True, cwd="/")
    for skip in ("etc/mtab",):  # a symlink into /proc: not what an image holds
        target = dest / skip
        if target.is_symlink():
            target.unlink()
    files = [Path(d) / f for d, _, fs in os.walk(dest) for f in fs]
    regular = [f for f in files if f.is_file() and not f.is_symlink()]
    if not any(f.lstat().st_nlink > 1 for f in regular):
        os.link(regular[0], regular[0].with_name(regular[0].name + ".hardlink"))
    if not any("security.capability" in os.listxattr(f, follow_symlinks=False) for f in regular):
        os.setxattr(next(f for f in regular if "sbin" in str(f)), "security.capability", CAPABILITY)
    if not any(not f.name.isascii() for f in files):
        (dest / "etc" / "grüße.conf").write_text("non-ASCII name\n")
    return dest
