"""`partwright preview` and `partwright partids`: the plan, without building."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from engine.layout.model import ARCHES, Layout
from engine.plan.model import Plan
from engine.units import sectors_text

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def register(sub: Any) -> None:
    p = sub.add_parser("preview", help="print the partition table KIWI would build")
    _source_args(p)
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    p.add_argument("--list-types", action="store_true",
                   help="list the <type> elements and profiles of FILE")
    p.set_defaults(func=run_preview)

    q = sub.add_parser("partids", help="print /config.partids")
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


def load_layout(args: argparse.Namespace) -> Layout:
    from engine.kiwi.read import load

    desc = load(args.file, profile=getattr(args, "profile", None), arch=getattr(args, "arch", None))
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
    if args.json:
        json.dump(plan.to_json(), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print_plan(plan)
    return exit_status(plan, args.strict)


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
    sys.stdout.write(plan.partids_text())
    for d in plan.errors:
        sys.stderr.write(f"partwright: {d.severity}: {d.message}\n")
    return exit_status(plan, False)


def print_plan(plan: Plan) -> None:
    """The table laid out like `sgdisk -p`, then the diagnostics (rich)."""
    from rich.table import Table

    from partwright.output import stdout_console

    console = stdout_console()
    lay = plan.layout
    est = " (estimated)" if plan.disk_size_estimated else ""
    console.print(
        f"Disk: {sectors_text(plan.disk_sectors)}{est}, {plan.disk_sectors} sectors of"
        f" {plan.sector_size} bytes; table {plan.table}; firmware {lay.resolved_firmware};"
        f" arch {lay.arch}"
    )
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col, just in (("Number", "right"), ("Start (sector)", "right"),
                      ("End (sector)", "right"), ("Size", "right"), ("Code", "left"),
                      ("Name", "left"), ("Role", "left"), ("Clone of", "left")):
        table.add_column(col, justify=just, no_wrap=True)  # type: ignore[arg-type]
    for e in plan.entries:
        style = "dim" if e.clone_of else None
        table.add_row(str(e.number), str(e.start), str(e.end), sectors_text(e.sectors), e.code,
                      e.name or "", e.role, e.clone_of or "", style=style)
        if e.key == "root" and plan.volumes:
            for v in plan.volumes:
                size = f"{v.size_mb} MiB" if v.size_mb is not None else "rest"
                table.add_row("", "", "", size, "LV", f"  {v.name}", "volume",
                              v.mountpoint or "", style="italic")
    for f in plan.free:
        table.add_row("", str(f.start), str(f.end), sectors_text(f.sectors), "", "free space", "", "",
                      style="italic green")
    console.print(table)
    console.print()
    for d in plan.diagnostics:
        where = f" ({d.partition})" if d.partition else ""
        fix = f" Fix: {d.fix}." if d.fix else ""
        console.print(f"[{SEVERITY_STYLE[d.severity]}]{d.severity}[/] ", end="")
        console.print(f"{d.code}{where}: {d.message}.{fix}", markup=False, soft_wrap=True)
