"""`preview --device-size`: the sizes a user types, and the table each
device shows after KIWI's first boot (engine.plan.first_boot), on the terminal."""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.plan.first_boot import FirstBoot

UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40,
         "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?B?|[KMGT]iB)\s*$", re.IGNORECASE)
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def device_sizes(text: str) -> list[int]:
    """'8G,32G,256G' -> bytes. K/M/G/T (and KiB ...) are powers of 1024,
    KB/MB/GB/TB powers of 1000 (a card sold as 8 GB), no unit is bytes."""
    sizes = []
    for item in text.split(","):
        match = SIZE_RE.match(item)
        if not match:
            raise argparse.ArgumentTypeError(
                f"'{item.strip()}' is not a device size (8G, 32G, 256G, 8GB or bytes)")
        unit = match.group(2).upper().replace("IB", "")
        value = int(float(match.group(1)) * UNITS[unit])
        if value < 512:
            raise argparse.ArgumentTypeError(f"device size '{item.strip()}' is under one sector")
        sizes.append(value - value % 512)
    return sizes


def _size(sectors: int) -> str:
    mib = sectors * 512 / 1048576
    return f"{mib / 1024:.1f} GiB" if mib >= 1024 else f"{mib:.1f} MiB"


def print_first_boot(boots: list[FirstBoot]) -> None:
    """For each device: the table after the first boot, what KIWI did, the diagnostics."""
    from rich.table import Table

    from partwright.output import stdout_console

    console = stdout_console()
    for fb in boots:
        console.print()
        console.print(f"[bold]On a {_size(fb.device_sectors)} device ({fb.device_sectors}"
                      f" sectors) after KIWI's first boot:[/]")
        if fb.entries:
            table = Table(box=None, pad_edge=False, header_style="bold")
            for col, just in (("Number", "right"), ("Start (sector)", "right"),
                              ("End (sector)", "right"), ("Size", "right"), ("Code", "left"),
                              ("Name", "left"), ("Role", "left"), ("", "left")):
                table.add_column(col, justify=just, no_wrap=True)  # type: ignore[arg-type]
            for e in fb.entries:
                mark = "re-created" if e.number == fb.resized else ""
                table.add_row(str(e.number), str(e.start), str(e.end), _size(e.sectors), e.code,
                              e.name or "", e.role, mark,
                              style="bold" if mark else ("dim" if e.clone_of else None))
            for f in fb.free:
                table.add_row("", str(f.start), str(f.end), _size(f.sectors), "", "free space",
                              "", "", style="italic green")
            console.print(table)
        for step in fb.steps:
            console.print(f"  kiwi-repart: {step}", markup=False, soft_wrap=True)
        for d in fb.diagnostics:
            where = f" ({d.partition})" if d.partition else ""
            fix = f" Fix: {d.fix}." if d.fix else ""
            console.print(f"[{SEVERITY_STYLE[d.severity]}]{d.severity}[/] ", end="")
            console.print(f"{d.code}{where}: {d.message}.{fix}", markup=False, soft_wrap=True)
