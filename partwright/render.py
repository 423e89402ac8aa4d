"""How the command line shows the engine's answers in a terminal: the plan as
`sgdisk -p` prints a table, then its diagnostics; a build's report; an image
read back; a disk imported, two layouts compared, the first boot on
other devices. The command modules compute nothing of their own: they hand the
engine's value to one of these (or to `json_out` under --json).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from engine.units import sectors_text, size_text
from partwright.output import new_table, stdout_console

if TYPE_CHECKING:
    from engine.plan.model import Plan

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def json_out(data: object) -> None:
    """One JSON object on stdout (--json)."""
    json.dump(data, sys.stdout, indent=1)
    sys.stdout.write("\n")


def layout_errors(plan: Plan, consequence: str) -> None:
    """A layout KIWI fails on, as one line on stderr: what did not happen, and
    its first error (`partwright preview` shows them all)."""
    first = plan.errors[0]
    where = f" ({first.partition})" if first.partition else ""
    more = len(plan.errors) - 1
    also = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
    sys.stderr.write(f"partwright: error: {consequence}: KIWI fails on this layout:"
                     f" {first.code}{where}: {first.message.rstrip('.')}{also}\n")


def plan_table(plan: Plan) -> None:
    """The table laid out like `sgdisk -p`, then the diagnostics (rich)."""
    console = stdout_console()
    lay = plan.layout
    est = " (estimated)" if plan.disk_size_estimated else ""
    console.print(
        f"Disk: {sectors_text(plan.disk_sectors)}{est}, {plan.disk_sectors} sectors of"
        f" {plan.sector_size} bytes; table {plan.table}; firmware {lay.resolved_firmware};"
        f" arch {lay.arch}"
    )
    table = new_table(box=None, pad_edge=False, header_style="bold")
    for col in ("Number", "Start (sector)", "End (sector)", "Size"):
        table.add_column(col, justify="right", no_wrap=True)
    for col in ("Code", "Name", "Role", "Clone of"):
        table.add_column(col, justify="left", no_wrap=True)
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


def build_report(report: Any) -> None:
    """The engine's BuildReport: every partition's identifiers, then one line."""
    console = stdout_console()
    table = new_table(box=None, header_style="bold")
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


def inspect_report(report: Any) -> None:
    """The engine's InspectReport: the table, containers, clone pairs, partids."""
    console = stdout_console()
    console.print(f"{report.path}: {report.format}, {report.table} table, disk id {report.disk_id},"
                  f" {size_text(report.disk_bytes)}, {size_text(report.allocated_bytes)} allocated")
    table = new_table(box=None, header_style="bold")
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


def first_boots(boots: list[Any]) -> None:
    """For each device: the table after the first boot, what KIWI did, the diagnostics."""
    console = stdout_console()
    for fb in boots:
        console.print()
        console.print(f"[bold]On a {sectors_text(fb.device_sectors)} device ({fb.device_sectors}"
                      f" sectors) after KIWI's first boot:[/]")
        if fb.entries:
            table = new_table(box=None, pad_edge=False, header_style="bold")
            for col, just in (("Number", "right"), ("Start (sector)", "right"),
                              ("End (sector)", "right"), ("Size", "right"), ("Code", "left"),
                              ("Name", "left"), ("Role", "left"), ("", "left")):
                table.add_column(col, justify=just, no_wrap=True)  # type: ignore[arg-type]
            for e in fb.entries:
                mark = "re-created" if e.number == fb.resized else ""
                table.add_row(str(e.number), str(e.start), str(e.end), sectors_text(e.sectors), e.code,
                              e.name or "", e.role, mark,
                              style="bold" if mark else ("dim" if e.clone_of else None))
            for f in fb.free:
                table.add_row("", str(f.start), str(f.end), sectors_text(f.sectors), "", "free space",
                              "", "", style="italic green")
            console.print(table)
        for step in fb.steps:
            console.print(f"  kiwi-repart: {step}", markup=False, soft_wrap=True)
        for d in fb.diagnostics:
            where = f" ({d.partition})" if d.partition else ""
            fix = f" Fix: {d.fix}." if d.fix else ""
            console.print(f"[{SEVERITY_STYLE[d.severity]}]{d.severity}[/] ", end="")
            console.print(f"{d.code}{where}: {d.message}.{fix}", markup=False, soft_wrap=True)


def import_report(imported: Any, out: str | None) -> None:
    """The disk as read, each partition's KIWI role and how it was known, the diagnostics."""
    console = stdout_console()
    read = imported.read
    console.print(f"{read.source}: {read.format}, {read.table} table, {sectors_text(read.disk_sectors)}"
                  f"; partids: {read.partids_from or 'none found'}; fstab:"
                  f" {read.fstab_from or 'none found'}", markup=False)
    why = dict(imported.recognised_by)
    table = new_table(box=None, pad_edge=False, header_style="bold")
    for col, just in (("Number", "right"), ("Start", "right"), ("End", "right"),
                      ("Size", "right"), ("Code", "left"), ("Name", "left"), ("FS", "left"),
                      ("Role", "left"), ("Key", "left"), ("Mount", "left"),
                      ("Recognised by", "left")):
        table.add_column(col, justify=just, no_wrap=True)  # type: ignore[arg-type]
    for e in imported.entries:
        table.add_row(str(e.number), str(e.start), str(e.end), sectors_text(e.sectors), e.code,
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


VERDICT_STYLE = {"in-place": "bold green", "reflash": "bold yellow", "rewrite": "bold red"}
FATE_STYLE = {"kept": None, "grown": "green", "reflash": "yellow", "lost": "red", "new": "cyan"}


def _where(e: Any) -> str:
    if e is None:
        return "-"
    mib = e.sectors * 512 / 1048576
    size = f"{mib / 1024:.1f} GiB" if mib >= 1024 else f"{mib:.1f} MiB"
    return f"{e.number}: {e.start}-{e.end} {size} {e.code}"


def comparison(result: Any) -> None:
    """partwright diff: partition by partition, the notes, the verdict."""
    console = stdout_console()
    table = new_table(box=None, pad_edge=False, header_style="bold")
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
