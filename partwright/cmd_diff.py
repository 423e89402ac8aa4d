"""`partwright diff OLD NEW [--json]`: two layouts partition by partition,
and the verdict for a device in the field that runs OLD.

OLD and NEW are KIWI descriptions, images, block devices or table dumps,
in any mix (engine.importer.open_side, engine.diff.compare).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

VERDICT_STYLE = {"in-place": "bold green", "reflash": "bold yellow", "rewrite": "bold red"}
FATE_STYLE = {"kept": None, "grown": "green", "reflash": "yellow", "lost": "red", "new": "cyan"}


def register(sub: Any) -> None:
    p = sub.add_parser("diff", help="compare two layouts: what changes for a device running OLD")
    p.add_argument("old", metavar="OLD", help="description, image, block device or table dump")
    p.add_argument("new", metavar="NEW", help="description, image, block device or table dump")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.set_defaults(func=run_diff)


def _where(e: Any) -> str:
    if e is None:
        return "-"
    mib = e.sectors * 512 / 1048576
    size = f"{mib / 1024:.1f} GiB" if mib >= 1024 else f"{mib:.1f} MiB"
    return f"{e.number}: {e.start}-{e.end} {size} {e.code}"


def run_diff(args: argparse.Namespace) -> int:
    from engine.diff import compare
    from engine.importer import open_side

    result = compare(open_side(args.old), open_side(args.new))
    if args.json:
        json.dump(result.to_json(), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    from rich.table import Table

    from partwright.output import stdout_console

    console = stdout_console()
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("Key", "OLD", "NEW", "Change", "On a device running OLD"):
        table.add_column(col, no_wrap=True)
    for c in result.changes:
        table.add_row(c.key, _where(c.old), _where(c.new), ", ".join(c.kinds), c.fate,
                      style=FATE_STYLE[c.fate])
    console.print(table)
    for note in result.notes:
        console.print(f"note: {note}", markup=False, soft_wrap=True)
    console.print(f"[{VERDICT_STYLE[result.verdict]}]{result.verdict}[/]: ", end="")
    console.print(result.summary, markup=False, soft_wrap=True)
    return 0
