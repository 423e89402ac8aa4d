"""What a filesystem cannot hold of a root tree: the rules, per filesystem.

Pure: the entries come from engine.host.root_tree.entries. ext2/3/4, xfs
and btrfs hold everything a Linux tree has; vfat holds directories and
regular files with names FAT allows (no owners, modes, links, special files,
extended attributes; names compared without case; files under 4 GiB; times
from 1980 to 2107 in two-second steps); squashfs 4.5 stores no POSIX ACLs
and only user., trusted. and security. attributes, and times as 32-bit
seconds.

`problems(kind, entries)` groups what is lost (an error: the build refuses
it, as the image would not hold what the tree holds) and what is reduced (a
warning: the data is there, an attribute is not) by reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from engine.host.root_tree import TreeEntry

FAT_FORBIDDEN = set('"*/:<>?\\|')
FAT_MAX_FILE = 2**32 - 1
FAT_FIRST = 315532800  # 1980-01-01
FAT_LAST = 4354819199  # 2107-12-31 23:59:59
SQUASHFS_XATTRS = (b"user.", b"trusted.", b"security.")
SHOWN = 5  # paths named in one diagnostic


@dataclass
class Finding:
    """One reason a filesystem cannot hold some paths."""

    severity: Literal["error", "warning"]
    reason: str
    paths: list[bytes] = field(default_factory=list)

    def shown(self) -> str:
        names = [p.decode("utf-8", "backslashreplace") or "/" for p in self.paths[:SHOWN]]
        more = f" and {len(self.paths) - SHOWN} more" if len(self.paths) > SHOWN else ""
        return ", ".join(repr(n) if any(c.isspace() for c in n) else n for n in names) + more


def _fat_name(name: bytes) -> str | None:
    """Why FAT cannot hold this name, or None."""
    try:
        text = name.decode("utf-8")
    except UnicodeDecodeError:
        return "names that are not UTF-8"
    if any(c in FAT_FORBIDDEN or ord(c) < 0x20 for c in text):
        return 'names with control characters or characters FAT forbids (" * / < > ? \\ | and colons)'
    if text.endswith((" ", ".")):
        return "names ending in a blank or a dot (FAT drops them)"
    if len(text.encode("utf-16-le")) // 2 > 255:
        return "names longer than 255 UTF-16 characters"
    return None


def problems(kind: str, entries: Iterable[TreeEntry]) -> list[Finding]:
    found: dict[str, Finding] = {}

    def add(severity: Literal["error", "warning"], reason: str, path: bytes) -> None:
        found.setdefault(reason, Finding(severity, reason)).paths.append(path)

    if kind in ("fat16", "fat32"):
        seen: dict[tuple[bytes, str], bytes] = {}
        for e in entries:
            name = e.path.rsplit(b"/", 1)[-1]
            if e.path:
                why = _fat_name(name)
                if why:
                    add("error", why, e.path)
                else:
                    parent = e.path.rpartition(b"/")[0]
                    folded = name.decode("utf-8").casefold()
                    if (parent, folded) in seen:
                        add("error", "names that differ only in case (FAT keeps one of them)",
                            e.path)
                    seen.setdefault((parent, folded), e.path)
            if e.kind == "symlink":
                add("error", "symlinks", e.path)
            elif e.kind not in ("file", "dir"):
                add("error", "device nodes, fifos or sockets", e.path)
            elif e.kind == "file" and e.size > FAT_MAX_FILE:
                add("error", "files of 4 GiB or more", e.path)
            if e.kind == "file" and e.nlink > 1:
                add("warning", "hard links (each name gets its own copy)", e.path)
            if e.uid or e.gid:
                add("warning", "owners other than root (FAT has none)", e.path)
            if e.xattrs:
                add("warning", "extended attributes", e.path)
            if e.path and not FAT_FIRST <= e.mtime_ns // 10**9 <= FAT_LAST:
                add("warning", "times before 1980 or after 2107", e.path)
    elif kind == "squashfs":
        for e in entries:
            if any(x.startswith(b"system.posix_acl") for x in e.xattrs):
                add("warning", "POSIX ACLs (squashfs stores none)", e.path)
            if any(not x.startswith(SQUASHFS_XATTRS) and not x.startswith(b"system.posix_acl")
                   for x in e.xattrs):
                add("warning", "extended attributes outside user., trusted. and security.",
                    e.path)
            if not 0 <= e.mtime_ns // 10**9 < 2**32:
                add("warning", "times before 1970 or after 2106", e.path)
    return sorted(found.values(), key=lambda f: (f.severity != "error", f.reason))
