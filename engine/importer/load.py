"""import_disk(path) -> Imported; open_side(path) -> engine.diff.Side.

`open_side` takes a KIWI description, an image, a block device or a dump:
a description's side is its plan; a disk's side is its table as read, each
partition with the key KIWI's names give it, so the two compare.
"""

from __future__ import annotations

import os

from engine.diff.compare import side_of_plan
from engine.diff.model import Side
from engine.errors import DescriptionError, PartwrightError
from engine.importer.diagnose import differences, notes
from engine.importer.dump import looks_like_dump
from engine.importer.infer import Found, best_layout, entries_as_read
from engine.importer.model import DiskRead, Imported
from engine.importer.read import read_disk
from engine.importer.roles import recognise
from engine.plan.model import Diagnostic

XML_HEADS = (b"<?xml", b"<image", b"<type", b"<!--", b"\xef\xbb\xbf<")


def from_read(read: DiskRead) -> Imported:
    """The layout for a disk already read."""
    roles = recognise(read)
    found = Found(read, roles)
    entries = entries_as_read(found)
    layout, p = best_layout(found)
    diffs = differences(read, entries, p)
    found_notes = notes(read, layout, entries)
    exact = not diffs and p.ok
    diags: list[Diagnostic] = []
    if exact:
        diags.append(Diagnostic(
            "import-exact", "info",
            "the layout's plan is the disk's table, partition for partition"
            + (f", and its /config.partids is {read.partids_from}'s" if read.partids else "")))
    diags += diffs + found_notes
    diags += [d for d in p.diagnostics if d.severity == "error"]
    return Imported(read=read, layout=layout, plan=p, entries=entries, exact=exact,
                    diagnostics=tuple(diags), recognised_by=tuple((r.number, r.why) for r in roles))


def import_disk(path: str) -> Imported:
    """Read the disk at `path` and find its layout."""
    return from_read(read_disk(path))


def is_description(path: str) -> bool:
    """The file starts like KIWI XML (a description or a bare <type>), not like a disk."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(512).lstrip()
    except OSError:
        return False
    return head.startswith(XML_HEADS) and not looks_like_dump(head)


def open_side(path: str) -> Side:
    """One side of a diff: a description's plan, or a disk's table."""
    if not os.path.exists(path):
        raise PartwrightError(f"{path}: No such file or directory")
    if os.path.isfile(path) and is_description(path):
        from engine.kiwi.read import load
        from engine.plan.planner import plan

        try:
            desc = load(path)
        except DescriptionError:
            raise
        return side_of_plan(plan(desc.layout), path)
    imported = import_disk(path)
    read = imported.read
    return Side(source=path, kind=read.kind, table=read.table, disk_sectors=read.disk_sectors,
                entries=imported.entries, partids=read.partids)


def description(imported: Imported, name: str = "imported") -> bytes:
    """The KIWI description of the imported layout (engine.kiwi.export)."""
    from engine.kiwi.export import export

    return export(imported.layout, name=name)
