"""`partwright preview` and `partwright partids`: the plan, without building."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from engine.layout.model import ARCHES, Layout
from partwright import render
from partwright.commands import HELP
from partwright.source import description_path

if TYPE_CHECKING:
    from engine.plan.model import Plan


def register(sub: Any) -> None:
    p = sub.add_parser(
        "preview", help=HELP["preview"],
        description="Print the partition table KIWI NG 11 builds for FILE, sector for sector,"
                    " then the diagnostics. Exit status 0 (warnings allowed), 1 when the layout"
                    " has errors (or warnings, with --strict), 2 on bad input.")
    _source_args(p)
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    p.add_argument("--list-types", action="store_true",
                   help="list the <type> elements and profiles of FILE")
    p.add_argument("--device-size", metavar="SIZES", type=_device_sizes,
                   help="also the table each device (8G,32G,256G) shows after KIWI's first boot")
    p.set_defaults(func=run_preview)

    q = sub.add_parser(
        "partids", help=HELP["partids"],
        description="Print the /config.partids KIWI writes for FILE, byte for byte. A layout"
                    " with errors prints nothing on stdout, its errors on stderr (exit 1).")
    _source_args(q)
    q.set_defaults(func=run_partids)


def _source_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="KIWI description or bare <type> element")
    p.add_argument("--profile", help="use the <type> of this profile")
    p.add_argument("--root-mbytes", type=_positive, metavar="N",
                   help="root data size for the disk-size estimate (no <size>)")
    p.add_argument("--arch", choices=ARCHES, help="target architecture (default x86_64)")
    p.add_argument("--root-tree", metavar="DIR",
                   help="measure this root tree for the disk-size estimate, as KIWI does")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of MiB") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"'{text}' is negative")
    return value


def _device_sizes(text: str) -> list[int]:
    from partwright.first_boot import device_sizes

    return device_sizes(text)


def load_layout(args: argparse.Namespace) -> Layout:
    from engine.kiwi.read import load

    desc = load(description_path(args.file), profile=getattr(args, "profile", None),
                arch=getattr(args, "arch", None))
    layout = desc.layout
    if getattr(args, "root_tree", None):
        from engine.plan.root_tree import with_root_tree

        layout = with_root_tree(layout, args.root_tree)
    if getattr(args, "root_mbytes", None) is not None:
        layout = layout.with_changes(root_mbytes=args.root_mbytes)
    if getattr(args, "arch", None):
        layout = layout.with_changes(arch=args.arch)
    return layout


def exit_status(plan: Plan, strict: bool) -> int:
    if plan.errors or (strict and plan.warnings):
        return 1
    return 0


def run_preview(args: argparse.Namespace) -> int:
    from engine.plan.planner import plan as make_plan

    if args.list_types:
        return _list_types(args)
    plan = make_plan(load_layout(args))
    if getattr(args, "root_tree", None):  # what the filesystems (and this host) cannot hold of it
        from engine.host.mount import loop_mount_refusals
        from engine.plan.root_tree import KERNEL_FILLED, with_tree_diagnostics

        plan = with_tree_diagnostics(plan, args.root_tree, loop_mount_refusals(KERNEL_FILLED))
    boots = _first_boots(plan, args.device_size or [])
    if args.json:
        data = plan.to_json()
        if args.device_size:
            data["first_boot"] = [fb.to_json() for fb in boots]
        render.json_out(data)
    else:
        render.plan_table(plan)
        if boots:
            render.first_boots(boots)
    status = exit_status(plan, args.strict)
    found = [d.severity for fb in boots for d in fb.diagnostics]
    if "error" in found or (args.strict and "warning" in found):
        status = 1
    return status


def _first_boots(plan: Plan, sizes: list[int]) -> list[Any]:
    if not sizes:
        return []
    from engine.plan.first_boot import first_boot

    return [first_boot(plan, size) for size in sizes]


def _list_types(args: argparse.Namespace) -> int:
    from engine.kiwi.read import list_types

    for info in list_types(args.file, profile=args.profile):
        profiles = ",".join(info.profiles) or "-"
        marks = [m for m, on in (("primary", info.primary), ("chosen", info.chosen)) if on]
        sys.stdout.write(
            f"type {info.index}  image={info.image:<6} profiles={profiles:<16}"
            f" line {info.line}{'  (' + ', '.join(marks) + ')' if marks else ''}\n"
        )
    return 0


def run_partids(args: argparse.Namespace) -> int:
    from engine.plan.planner import plan as make_plan

    plan = make_plan(load_layout(args))
    if plan.errors:  # KIWI fails: there is no partids file to show
        render.layout_errors(plan, "no /config.partids")
        return 1
    sys.stdout.write(plan.partids_text())
    return 0
