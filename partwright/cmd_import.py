"""`partwright import IMAGE [-o OUT.kiwi]`: the KIWI description of a disk.

IMAGE is a raw or qcow2 image, a block device (read-only) or an
`sfdisk --dump`/`--json` file. Prints the table as read with the role and
key of each partition and what it was recognised by, then the diagnostics
(import-exact when the description's plan is the disk's table, else one per
partition that differs). `-o OUT` writes the description atomically (`-`:
standard output); OUT is never IMAGE.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from engine.errors import PartwrightError

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def register(sub: Any) -> None:
    p = sub.add_parser("import", help="the KIWI description of an image, device or table dump")
    p.add_argument("image", metavar="IMAGE",
                   help="raw or qcow2 image, block device, or sfdisk --dump/--json file")
    p.add_argument("-o", "--output", metavar="OUT", help="write the description here ('-': stdout)")
    p.add_argument("--name", default="imported", help="the image name in the description")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.set_defaults(func=run_import)


def _size(sectors: int) -> str:
    mib = sectors * 512 / 1048576
    return f"{mib / 1024:.1f} GiB" if mib >= 1024 else f"{mib:.1f} MiB"


def run_import(args: argparse.Namespace) -> int:
    from engine.importer import description, import_disk

    out = args.output
    if out not in (None, "-") and os.path.exists(out) and os.path.exists(args.image) \
            and os.path.samefile(out, args.image):
        raise PartwrightError(f"-o {out} is the input {args.image}: refusing to write over it")
    imported = import_disk(args.image)
    data = description(imported, name=args.name) if out is not None else b""
    if out not in (None, "-"):
        from engine.kiwi.write import write_atomic

        write_atomic(out, data)
    if args.json:
        json.dump({**imported.to_json(), "output": out}, sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif out == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
    else:
        print_import(imported, out)
    return 1 if imported.plan.errors else 0


def print_import(imported: Any, out: str | None) -> None:
    from rich.table import Table

    from engine.importer.roles import recognise
    from partwright.output import stdout_console

    console = stdout_console()
    read = imported.read
    console.print(f"{read.source}: {read.format}, {read.table} table, {_size(read.disk_sectors)}"
                  f"; partids: {read.partids_from or 'none found'}; fstab:"
                  f" {read.fstab_from or 'none found'}", markup=False)
    why = {r.number: r.why for r in recognise(read)}
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col, just in (("Number", "right"), ("Start", "right"), ("End", "right"),
                      ("Size", "right"), ("Code", "left"), ("Name", "left"), ("FS", "left"),
                      ("Role", "left"), ("Key", "left"), ("Mount", "left"),
                      ("Recognised by", "left")):
        table.add_column(col, justify=just, no_wrap=True)  # type: ignore[arg-type]
    for e in imported.entries:
        table.add_row(str(e.number), str(e.start), str(e.end), _size(e.sectors), e.code,
                      e.name or "", e.filesystem or "", e.role,
                      e.key + (f" (clone of {e.clone_of})" if e.clone_of else ""),
                      e.mountpoint or "", why.get(e.number, ""),
                      style="dim" if e.clone_of else None)
    console.print(table)
    console.print()
    for d in imported.diagnostics:
        where = f" ({d.partition})" if d.partition else ""
        fix = f" Fix: {d.fix}." if d.fix else ""
        console.print(f"[{SEVERITY_STYLE[d.severity]}]{d.severity}[/] ", end="")
        console.print(f"{d.code}{where}: {d.message}.{fix}", markup=False, soft_wrap=True)
    if out is not None:
        console.print(f"description written to {out}", markup=False)
