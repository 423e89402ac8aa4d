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
import os
import sys
from typing import Any

from engine.errors import PartwrightError
from partwright import render
from partwright.commands import HELP


def register(sub: Any) -> None:
    p = sub.add_parser(
        "import", help=HELP["import"],
        description="Read IMAGE's table, filesystems, /config.partids and /etc/fstab, show each"
                    " partition's KIWI role, and find the description whose plan is that table"
                    " (or the closest one, with a diagnostic per partition that differs).")
    p.add_argument("image", metavar="IMAGE",
                   help="raw or qcow2 image, block device, or sfdisk --dump/--json file")
    p.add_argument("-o", "--output", metavar="OUT", help="write the description here ('-': stdout)")
    p.add_argument("--name", default="imported", help="the image name in the description")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.set_defaults(func=run_import)


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
        render.json_out({**imported.to_json(), "output": out})
    elif out == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
    else:
        render.import_report(imported, out)
    return 1 if imported.plan.errors else 0
