"""Diagnostics about the filesystems of a plan: what the tools refuse or change.

- sizes and labels the mkfs tools refuse, or quietly change (a FAT32 too
  small to be read as FAT32, an ext3 too small for a journal, a label cut
  short), from the measured limits in engine.plan.fs_limits;
- a root without a filesystem, a squashfs root without an overlay, a
  squashfs partition without a mountpoint (KIWI fails on each);
- mountpoints: relative, holding blanks, given twice, on a place KIWI mounts
  a partition of its own, or below a cloned partition.

`check(layout, entries)` is called by the planner with the placed entries.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

from engine.layout.model import Layout
from engine.plan.fs_limits import FsKind, fat_kind, label_problems, size_problems
from engine.plan.model import Diagnostic, Entry, Severity

NOT_FORMATTED = ("bios_grub", "prep", "extended", "lvm", "raid")
KIWI_MOUNTS = {"root": "/", "boot": "/boot", "efi": "/boot/efi"}
_ALIASES: dict[str, FsKind] = {"linux-swap": "swap", "swap": "swap"}
_CODES = {"too-small": "fs-too-small", "too-large": "fs-too-large", "no-journal": "fs-no-journal",
          "fat-type": "fat-type", "label": "fs-label"}
# every code `check` gives: problems after partitioning (mkfs, fstab), which
# a comparison of partition tables with KIWI leaves aside
CODES = frozenset({*_CODES.values(), "no-filesystem", "squashfs-root", "squashfs-mountpoint",
                   "squashfs-clones", "mountpoint-relative", "mountpoint-invalid",
                   "mountpoint-kiwi", "mountpoint-duplicate", "mountpoint-nested-clone"})


def entry_kind(role: str, filesystem: str | None, size: int) -> FsKind | None:
    """The filesystem a partition gets (None: unformatted, or an unknown name)."""
    if role in NOT_FORMATTED:
        return None
    fs = (filesystem or "").lower()
    if not fs:
        return "fat16" if role == "efi" else "swap" if role == "swap" else None
    if fs in ("vfat", "fat"):
        return fat_kind(size)
    if fs in _ALIASES:
        return _ALIASES[fs]
    known: tuple[FsKind, ...] = ("ext2", "ext3", "ext4", "xfs", "btrfs", "fat16", "fat32",
                                 "squashfs")
    return next((k for k in known if k == fs), None)


def entry_label(entry: Entry, kind: FsKind) -> str | None:
    if kind == "squashfs" or not entry.label:
        return None
    return entry.label.upper() if kind.startswith("fat") else entry.label


def check(layout: Layout, entries: Sequence[Entry]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    out += _filesystems(layout, entries)
    out += _mountpoints(layout, entries)
    return out


def _name(entry: Entry) -> str:
    return f"partition {entry.number} ({entry.name or entry.key})"


def _filesystems(layout: Layout, entries: Sequence[Entry]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    overlay = bool(layout.overlayroot)
    for entry in entries:
        if entry.is_clone:
            continue  # a clone is a copy of its origin: the origin's diagnostics say it
        if entry.role == "root" and not layout.filesystem and not overlay:
            out.append(Diagnostic(
                "no-filesystem", "error",
                f"{_name(entry)}: the <type> has no filesystem attribute, so the root"
                " partition would stay unformatted (KIWI requires it for an oem image)",
                entry.key, "set filesystem=\"ext4\" (or xfs, btrfs ...) on the <type>"))
            continue
        if entry.role == "root" and (layout.filesystem or "") in ("squashfs", "erofs") \
                and not overlay:
            out.append(Diagnostic(
                "squashfs-root", "error",
                f"{_name(entry)}: a {layout.filesystem} root without overlayroot: KIWI cannot"
                " make a read-only filesystem on a device (NotImplementedError)",
                entry.key, "set overlayroot=\"true\", or use a writable root filesystem"))
            continue
        kind = entry_kind(entry.role, entry.filesystem, entry.size_bytes)
        if kind is None:
            continue
        severity: Severity
        for problem in size_problems(kind, entry.size_bytes):
            severity = "warning" if problem.what == "no-journal" and kind == "ext4" else "error"
            out.append(Diagnostic(_CODES[problem.what], severity,
                                  f"{_name(entry)}, {kind}: {problem.message}", entry.key,
                                  problem.fix))
        label = entry_label(entry, kind)
        for problem in label_problems(kind, label) if label else []:
            out.append(Diagnostic("fs-label", "error", f"{_name(entry)}, {kind}: {problem.message}",
                                  entry.key, problem.fix))
        if kind == "squashfs" and entry.role == "custom":
            if not entry.mountpoint:
                out.append(Diagnostic(
                    "squashfs-mountpoint", "error",
                    f"{_name(entry)}: a squashfs partition is made from the root tree's data"
                    " below its mountpoint, and it has none (KIWI runs mksquashfs on"
                    " a directory that does not exist)",
                    entry.key, "give the partition a mountpoint"))
            clones = [e for e in entries if e.clone_of == entry.key]
            if clones:
                out.append(Diagnostic(
                    "squashfs-clones", "info",
                    f"{_name(entry)} is squashfs: read-only and without UUID or label, so its"
                    f" {len(clones)} clone(s) are plain copies with nothing to re-identify"
                    " (fstab mounts it by PARTUUID)", entry.key))
    for volume in (layout.systemdisk.volumes if layout.systemdisk else ()):
        kind = entry_kind("root", layout.filesystem, (volume.size_mb or 0) << 20)
        if volume.size_mb is None or kind is None or volume.all_free:
            continue
        for problem in size_problems(kind, volume.size_mb << 20):
            if problem.what != "no-journal":
                out.append(Diagnostic(_CODES[problem.what], "error",
                                      f"LVM volume {volume.name}, {kind}: {problem.message}",
                                      "root", problem.fix))
    return out


def _mountpoints(layout: Layout, entries: Sequence[Entry]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    keys = {e.key for e in entries}
    taken: dict[str, str] = {mp: key for key, mp in KIWI_MOUNTS.items() if key in keys}
    if "root" not in keys and "readonly" in keys:
        taken["/"] = "readonly"
    given: list[tuple[str, str, str]] = []  # (key, what, mountpoint) set in the description
    for part in layout.partitions:
        if part.mountpoint:
            given.append((part.name, f"partition '{part.name}'", part.mountpoint))
    if layout.spare_part_mountpoint and "spare" in keys:
        given.append(("spare", "the spare partition", layout.spare_part_mountpoint))
    mounted: dict[str, str] = dict(taken)
    for key, what, mp in given:
        if not mp.startswith("/"):
            out.append(Diagnostic("mountpoint-relative", "error",
                                  f"{what} has the relative mountpoint '{mp}': fstab and KIWI's"
                                  " data sync need an absolute path", key, f"use '/{mp}'"))
            continue
        if any(c.isspace() for c in mp):
            out.append(Diagnostic("mountpoint-invalid", "error",
                                  f"{what} has the mountpoint {mp!r}: KIWI writes it into"
                                  " /etc/fstab as it is, where a blank ends the field", key,
                                  "use a mountpoint without blanks"))
            continue
        norm = posixpath.normpath(mp)
        if norm in taken:
            owner = taken[norm]
            out.append(Diagnostic(
                "mountpoint-kiwi", "error",
                f"{what} is mounted on {norm}, where KIWI mounts its {owner} partition: two"
                f" fstab entries for {norm}, and the data below it goes to one of them only",
                key, f"choose another mountpoint, or drop the {owner} partition"))
            continue
        if norm in mounted:
            out.append(Diagnostic("mountpoint-duplicate", "error",
                                  f"{what} and partition '{mounted[norm]}' are both mounted on"
                                  f" {norm}", key, "give each partition its own mountpoint"))
            continue
        mounted[norm] = key
    cloned = {e.clone_of for e in entries if e.clone_of} - {"root"}
    for mp, key in mounted.items():
        parent = _parent(mp, mounted)
        if parent is not None and mounted[parent] in cloned and key != "efi":
            out.append(Diagnostic(
                "mountpoint-nested-clone", "info",
                f"{mp} ({key}) is inside {parent}, whose partition {mounted[parent]} has clones:"
                f" the clones hold an empty {mp} directory, and {key} itself is one partition"
                " shared by every copy", key))
    return out


def _parent(mp: str, mounted: dict[str, str]) -> str | None:
    """The longest other mountpoint above `mp` ("/" left out)."""
    best = None
    for other in mounted:
        if other not in ("/", mp) and mp.startswith(other.rstrip("/") + "/"):
            if best is None or len(other) > len(best):
                best = other
    return best
