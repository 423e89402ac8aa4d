"""`partwright build` and `partwright inspect`: write a disk image, read one back."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from engine.errors import PartwrightError
from engine.units import size_text


def register(sub: Any) -> None:
    b = sub.add_parser("build", help="write the disk image a description gives")
    b.add_argument("file", metavar="FILE", help="KIWI description or bare <type> element")
    b.add_argument("-o", "--output", metavar="IMAGE", required=True, help="the image to write")
    b.add_argument("--format", choices=("raw", "qcow2"), default="raw", help="image format")
    b.add_argument("--root-tree", metavar="DIR",
                   help="fill root and the partitions mounted below it from DIR")
    b.add_argument("--seed", metavar="TEXT",
                   help="derive every UUID, serial and the disk GUID from TEXT (same bytes every time)")
    b.add_argument("--profile", help="use the <type> of this profile")
    b.add_argument("--luks-key", metavar="SOURCE",
                   help="the LUKS key instead of the layout's luks attribute: env:NAME (the"
                        " variable's value) or file:PATH (the file's bytes)")
    b.add_argument("--json", action="store_true", help="the build report as one JSON object")
    b.set_defaults(func=run_build)

    i = sub.add_parser("inspect", help="read an image back: table, filesystems, clones, partids")
    i.add_argument("image", metavar="IMAGE")
    i.add_argument("--json", action="store_true", help="one JSON object on stdout")
    i.set_defaults(func=run_inspect)


def run_build(args: argparse.Namespace) -> int:
    from engine.image.build import build
    from engine.image.luks import KeySource
    from engine.kiwi.read import load
    from engine.plan.planner import plan as make_plan

    key = None
    if args.luks_key is not None:  # checked before anything else: a bad source is one line
        if not args.luks_key.startswith(("env:", "file:")):  # never echo it: it may be the secret
            raise PartwrightError("--luks-key takes env:NAME or file:PATH (a passphrase is never"
                                  " given on the command line)")
        key = KeySource.parse(args.luks_key)
        key.read()
    desc = load(args.file, profile=args.profile)
    layout = desc.layout
    if args.root_tree and os.path.isdir(args.root_tree):
        from engine.plan.root_tree import with_root_tree

        layout = with_root_tree(layout, args.root_tree)  # KIWI sizes the disk from it
    plan = make_plan(layout)
    report = _with_progress(
        lambda progress: build(plan, args.output, fmt=args.format, root_tree=args.root_tree,
                               seed=args.seed, progress=progress, luks_key=key)
    )
    if args.json:
        json.dump(report.to_json(), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    from rich.table import Table

    from partwright.output import stdout_console

    console = stdout_console()
    table = Table(box=None, header_style="bold")
    for column in ("#", "name", "fs", "label", "UUID", "PARTUUID", "clone of"):
        table.add_column(column)
    for p in report.partitions:
        table.add_row(str(p.number), p.name or p.key, p.filesystem or "-", p.label or "-",
                      p.uuid or "-", p.partuuid, str(p.clone_of) if p.clone_of else "")
    console.print(table)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    console.print(
        f"{report.output}: {size_text(report.disk_bytes)} {report.format}, {size_text(report.allocated_bytes)}"
        f" allocated, {len(report.checks)} filesystems checked clean, {report.seconds:.2f} s;"
        f" partids in {report.partids_path}"
    )
    return 0


def _with_progress(work: Any) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from engine.image.build import STEPS

    console = Console(stderr=True)
    if not console.is_terminal:
        return work(None)
    with Progress(TextColumn("{task.description:<12}"), BarColumn(), TextColumn("{task.fields[step]}"),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("building", total=len(STEPS), step="")

        def progress(step: str, done: int, total: int) -> None:
            index = STEPS.index(step) if step in STEPS else 0
            fraction = done / total if total else 1.0
            bar.update(task, completed=index + fraction, step=f"{step} {done}/{total}")

        return work(progress)


def _container_lines(number: int, c: Any) -> list[str]:
    """What `partwright inspect` prints about a LUKS, LVM or md partition."""
    if c.kind == "crypto_LUKS":
        head = f"LUKS{c.version or '?'}, {c.cipher or 'cipher unknown'}, LUKS UUID {c.uuid}"
    elif c.kind == "LVM2_member":
        head = f"LVM PV UUID {c.uuid}"
        if c.vg_name is not None:
            head += f", VG {c.vg_name} (UUID {c.vg_uuid}), {len(c.inner)} logical volumes"
    else:
        level = "?" if c.level is None else c.level
        head = (f"md RAID{level} member of {c.raid_disks or '?'} disks, array UUID {c.uuid},"
                f" device UUID {c.device_uuid or '-'}")
        if c.data_offset is not None:
            head += f", data at {size_text(c.data_offset)}"
    lines = [f"partition {number}: {c.kind}: {head}"]
    for fs in c.inner:
        where = f"LV {fs.where}" if c.kind == "LVM2_member" else fs.where
        lines.append(f"  {where}: {size_text(fs.size)}, {fs.filesystem or 'no filesystem'}"
                     f"{f' {fs.label}' if fs.label else ''}, UUID {fs.uuid or '-'}")
    if c.note:
        lines.append(f"  ({c.note})")
    return lines


def run_inspect(args: argparse.Namespace) -> int:
    from engine.image.inspect import inspect

    try:
        report = inspect(args.image)
    except FileNotFoundError as exc:
        raise PartwrightError(f"{args.image}: {exc.strerror}") from exc
    if args.json:
        json.dump(report.to_json(), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    from rich.table import Table

    from partwright.output import stdout_console

    console = stdout_console()
    console.print(f"{report.path}: {report.format}, {report.table} table, disk id {report.disk_id},"
                  f" {size_text(report.disk_bytes)}, {size_text(report.allocated_bytes)} allocated")
    table = Table(box=None, header_style="bold")
    for column in ("#", "start", "end", "type", "name", "fs", "label", "UUID", "PARTUUID"):
        table.add_column(column)
    for p in report.partitions:
        fs = p.filesystem or "-"
        if p.version and p.filesystem == "vfat":
            fs = f"vfat ({p.version})"
        table.add_row(str(p.number), str(p.start), str(p.end), p.code, p.name or "-", fs,
                      p.label or "-", p.uuid or "-", p.partuuid or "-")
    console.print(table)
    for p in report.partitions:
        if p.container is not None:
            for line in _container_lines(p.number, p.container):
                console.print(line, highlight=False)
    if report.clones:
        for pair in report.clones:
            if pair.identical:
                how = "byte-identical: shares its identifiers"
            elif pair.basis == "content":
                how = f"same content apart from identifiers ({pair.differing_blocks} blocks differ)"
            elif pair.basis == "luks":
                how = pair.note
            else:
                how = f"{pair.note} ({pair.differing_blocks} blocks differ)"
            if pair.shared and not pair.identical:
                how += f"; shares its {', '.join(pair.shared)}"
            console.print(f"clone: {pair.clone} of {pair.origin}, {how}", highlight=False)
    else:
        console.print("clones: none found")
    for dup in report.duplicates:
        console.print(f"[red]duplicate[/] {dup}")
    if report.partids_path is None:
        console.print("partids: no IMAGE.partids next to the image")
    elif report.partids_agree:
        console.print(f"partids: {report.partids_path} agrees with the image")
    else:
        for problem in report.partids_problems:
            console.print(f"[red]partids:[/] {problem}")
    return 0
