"""`partwright diff OLD NEW [--json]`: two layouts partition by partition,
and the verdict for a device in the field that runs OLD.

OLD and NEW are KIWI descriptions, images, block devices or table dumps,
in any mix (engine.importer.open_side, engine.diff.compare).
"""

from __future__ import annotations

import argparse
from typing import Any

from partwright import render
from partwright.commands import HELP


def register(sub: Any) -> None:
    p = sub.add_parser(
        "diff", help=HELP["diff"],
        description="Compare OLD and NEW partition by partition (kept, moved, grown, shrunk,"
                    " added, removed, renumbered, identity changed) and say what NEW means for a"
                    " device in the field that runs OLD: in place, re-flash these slots, or"
                    " rewrite the table and lose these partitions' data.")
    p.add_argument("old", metavar="OLD", help="description, image, block device or table dump")
    p.add_argument("new", metavar="NEW", help="description, image, block device or table dump")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.set_defaults(func=run_diff)


def run_diff(args: argparse.Namespace) -> int:
    from engine.diff import compare
    from engine.importer import open_side

    result = compare(open_side(args.old), open_side(args.new))
    if args.json:
        render.json_out(result.to_json())
        return 0
    render.comparison(result)
    return 0
