"""`partwright export` and `partwright example`: write KIWI descriptions.

`export FILE -o OUT`: a full `<image>` FILE is written back losslessly with
the `--set` edits applied (in its own schema version unless `--upgrade`); a
bare `<type>` FILE becomes a complete 8.5 description with marked
placeholders. `--type-only` writes just the `<type>`. OUT is written
atomically; FILE is never touched unless OUT names it. `-o -` writes to
standard output. `--target NAME` writes an updater's slot configuration
instead (partwright/export_target.py).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from engine.layout.model import ARCHES, Layout
from partwright import export_target, render
from partwright.commands import HELP
from partwright.source import description_path


def register(sub: Any) -> None:
    p = sub.add_parser(
        "export",
        help=HELP["export"],
        description="Write FILE with its layout (and any --set edits) to OUT.",
    )
    p.add_argument("file", metavar="FILE", help="KIWI description or bare <type> element")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="where to write ('-': stdout); required")
    p.add_argument("--type-only", action="store_true", help="write only the <type> element")
    p.add_argument("--profile", metavar="NAME", help="use the <type> of this profile")
    p.add_argument("--type", type=int, metavar="N", dest="type_index",
                   help="use the N-th <type> (0-based, as `preview --list-types` numbers them)")
    p.add_argument("--upgrade", action="store_true",
                   help="raise an older schemaversion to 8.5 (KIWI's own conversions)")
    p.add_argument("--set", action="append", default=[], metavar="ATTR=VALUE", dest="sets",
                   help="edit the layout: root_clone=2, partition.home.clone=3, "
                        "partition.home.size=20G, oem-systemsize=4096, size=50G ... "
                        "(an empty VALUE unsets; partition.NAME= removes)")
    p.add_argument("--name", default="partwright-image",
                   help="image name when a bare <type> becomes a full description")
    p.add_argument("--arch", choices=ARCHES, help="target architecture (default x86_64)")
    export_target.add_arguments(p)
    p.set_defaults(func=run_export)

    e = sub.add_parser(
        "example", help=HELP["example"],
        description="Write the example of KIWI's 'Partition Clones' page (root, boot and home"
                    " clones on a 100 GiB disk) as a full description.")
    e.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    e.set_defaults(func=run_example)


def _write(output: str, data: bytes) -> None:
    if output == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    from engine.kiwi.write import write_atomic

    write_atomic(output, data)


def exported(args: argparse.Namespace) -> tuple[Layout, bytes]:
    """The layout FILE and the --set edits give, and the bytes that hold it."""
    from engine.kiwi.assign import apply_sets
    from engine.kiwi.export import description_bytes
    from engine.kiwi.read import load

    desc = load(description_path(args.file), profile=args.profile, type_index=args.type_index,
                arch=args.arch)
    layout = apply_sets(desc.layout, args.sets)
    target = "standard output" if args.output == "-" else args.output
    return layout, description_bytes(desc, layout, name=args.name, type_only=args.type_only,
                                     upgrade=args.upgrade, target=target)


def run_export(args: argparse.Namespace) -> int:
    from engine.plan.planner import plan as make_plan

    export_target.refuse_mixing(args)
    if args.target:
        return _run_target(args)
    layout, data = exported(args)
    plan = make_plan(layout)
    if plan.errors:  # KIWI would fail on it: nothing is written, as for a refused value
        where = "standard output" if args.output == "-" else args.output
        render.layout_errors(plan, f"{where}: not written")
        return 1
    _write(args.output, data)
    return 0


def _run_target(args: argparse.Namespace) -> int:
    from engine.kiwi.assign import apply_sets
    from engine.kiwi.read import load
    from engine.plan.planner import plan as make_plan

    desc = load(args.file, profile=args.profile, type_index=args.type_index, arch=args.arch)
    return export_target.run(args, desc, make_plan(apply_sets(desc.layout, args.sets)))


def example_bytes() -> bytes:
    from engine.kiwi.export import export
    from engine.kiwi.read import loads
    from engine.layout.example import EXAMPLE_TYPE_XML

    desc = loads(EXAMPLE_TYPE_XML, source="<example>")
    return export(desc.layout, name="partition-clones-example", base=desc)


def run_example(args: argparse.Namespace) -> int:
    _write(args.output or "-", example_bytes())
    return 0
