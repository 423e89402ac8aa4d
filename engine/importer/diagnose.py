"""Where the imported layout's plan and the disk differ, one diagnostic per
partition and attribute, saying how.

Partitions are matched by KIWI's key (engine.diff). Codes: import-number,
import-start, import-size, import-type, import-name (the partition exists
on both sides but differs), import-missing (on the disk, not in the plan),
import-extra (KIWI adds it, the disk has none), import-partids; and, about
what could not be read, import-read, import-dump, import-luks-key, import-lvm,
import-filesystem, import-disk-size. import-exact says the plan is the disk.
"""

from __future__ import annotations

from engine.diff.compare import compare
from engine.diff.model import Side
from engine.importer.model import DiskRead
from engine.layout.model import Layout
from engine.plan.model import Diagnostic, Entry, Plan
from engine.units import GRAIN, MIB, SECTOR_SIZE

FIX_ORDER = ("KIWI creates bios_grub, ESP, PReP, boot, swap, the custom partitions, a spare,"
             " the root clones and the root, in this order")


def _mib(sectors: int) -> str:
    mb = sectors * SECTOR_SIZE / MIB
    return f"{mb:.1f} MiB" if mb < 1024 else f"{mb / 1024:.1f} GiB"


def _on_disk(e: Entry) -> str:
    return f"partition {e.number} ({e.key})"


def differences(read: DiskRead, entries: tuple[Entry, ...], p: Plan) -> list[Diagnostic]:
    """Every way the plan's table differs from the disk's."""
    disk = Side(read.source, read.kind, read.table, read.disk_sectors, entries, read.partids)
    planned = Side("plan", "description", p.table, p.disk_sectors, p.entries, p.partids)
    out: list[Diagnostic] = []
    for c in compare(disk, planned).changes:
        o, n = c.old, c.new
        if o is not None and o.role == "extended" and n is not None:
            continue
        if n is None:
            assert o is not None
            if o.role == "extended":
                continue
            out.append(Diagnostic(
                "import-missing", "warning",
                f"{_on_disk(o)}, {o.start}-{o.end} ({o.code}{', ' + repr(o.name) if o.name else ''}):"
                " the layout has no place for it", o.key))
            continue
        if o is None:
            out.append(Diagnostic(
                "import-extra", "warning",
                f"KIWI's plan adds partition {n.number} ({n.key}, {n.name or n.code},"
                f" {_mib(n.sectors)}) that the disk does not have", n.key))
            continue
        where = _on_disk(o)
        if n.number != o.number:
            out.append(Diagnostic("import-number", "warning",
                                  f"{where}: KIWI numbers it {n.number}", o.key, FIX_ORDER))
        if n.start != o.start:
            out.append(Diagnostic("import-start", "warning",
                                  f"{where} starts at sector {o.start} on the disk; KIWI's plan"
                                  f" puts it at {n.start}", o.key, FIX_ORDER))
        if n.sectors != o.sectors:
            whole = "" if o.sectors % GRAIN == 0 else "; KIWI's sizes are whole MiB"
            out.append(Diagnostic("import-size", "warning",
                                  f"{where} has {o.sectors} sectors ({_mib(o.sectors)}) on the"
                                  f" disk; KIWI's plan {n.sectors} ({_mib(n.sectors)}){whole}",
                                  o.key))
        if n.code != o.code:
            out.append(Diagnostic("import-type", "warning",
                                  f"{where} has type {o.code} on the disk; KIWI writes {n.code}",
                                  o.key))
        if read.table == "gpt" and n.name != o.name:
            out.append(Diagnostic("import-name", "warning",
                                  f"{where} is named {o.name!r} on the disk; KIWI names it"
                                  f" {n.name!r}", o.key))
    if read.partids and p.ok and dict(read.partids) != dict(p.partids):
        a, b = dict(read.partids), dict(p.partids)
        keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        out.append(Diagnostic(
            "import-partids", "warning",
            f"{read.partids_from} differs from the plan's /config.partids: " + ", ".join(
                f"{k}={a.get(k, '-')} on the disk, {b.get(k, '-')} planned" for k in keys)))
    return out


def notes(read: DiskRead, layout: Layout, entries: tuple[Entry, ...]) -> list[Diagnostic]:
    """What could not be read, and what the layout assumes instead."""
    out: list[Diagnostic] = [Diagnostic("import-read", "info", note) for note in read.notes
                             if read.kind != "dump"]
    if read.kind == "dump":
        out.append(Diagnostic("import-dump", "info",
                              f"{read.format} holds the table only: filesystems, labels and"
                              f" mountpoints are KIWI's defaults (root: {layout.filesystem})"))
    if not read.disk_size_known:
        out.append(Diagnostic("import-disk-size", "warning",
                              f"the dump does not give the disk size: <size> is"
                              f" {layout.size_mb} MiB, where the last partition ends", None,
                              "set <size> to the device's size"))
    if layout.luks is not None:
        out.append(Diagnostic("import-luks-key", "warning",
                              "the root is LUKS-encrypted; its passphrase cannot be read: the"
                              f" description says luks=\"{layout.luks}\"", "root",
                              "replace it with the passphrase or file://KEYFILE"))
    for e in entries:
        part = read.partition(e.number)
        if part is None:
            continue
        if part.container == "LVM2_member" and not part.volumes:
            out.append(Diagnostic("import-lvm", "warning",
                                  f"partition {e.number}: the volume group was not read (needs"
                                  " root and loop devices): <systemdisk> has no volumes", e.key))
        if read.kind != "dump" and e.role in ("root", "custom", "boot", "spare") \
                and part.container is None and e.clone_of is None and not part.filesystem:
            out.append(Diagnostic("import-filesystem", "info",
                                  f"partition {e.number} ({e.key}) holds no filesystem blkid"
                                  " knows", e.key))
    return out
