"""The partition list: what the user designs (boot, the custom partitions, root).

One keyed row per origin partition; `+`/`-` on any row change its clone count.
Sizes of the custom partitions are the Layout's; boot and root show what the
planner gave them.
"""

from __future__ import annotations

from rich.text import Text

from engine.layout.model import Layout
from engine.plan.model import Plan
from tui import look
from tui.edits import origin_key
from tui.messages import EditRequested, PartitionChosen
from tui.widgets.keyed_table import Cell, Column, KeyedTable

COLUMNS = (
    Column("swatch", ""), Column("name", "Name"), Column("size", "Size", "right"),
    Column("mountpoint", "Mountpoint"), Column("filesystem", "Filesystem"),
    Column("clones", "Clones", "right"), Column("kind", "Kind"),
)


NOT_PLACED = "not placed"  # KIWI fails before it creates the partition (see Diagnostics)


def rows(layout: Layout, plan: Plan) -> list[tuple[str, list[str]]]:
    """(key, [name, size, mountpoint, filesystem, clones, kind]) for each row.
    Boot and root are listed even when KIWI fails before creating them, so
    their clone counts stay at hand."""
    out: list[tuple[str, list[str]]] = []
    boot = plan.entry("boot")
    if boot is not None:
        out.append(("boot", ["boot", look.human_bytes(boot.size_bytes), boot.mountpoint or "",
                             boot.filesystem or "", str(layout.boot_clone), "boot"]))
    elif plan.boot_partition:
        out.append(("boot", ["boot", NOT_PLACED, "/boot",
                             layout.bootfilesystem or layout.filesystem or "",
                             str(layout.boot_clone), "boot"]))
    for part in layout.partitions:
        out.append((part.name, [part.name, look.human_mb(part.size_mb), part.mountpoint or "",
                                part.filesystem or "", str(part.clone), "custom"]))
    root = plan.entry("root") or plan.entry("readonly")
    if root is not None:
        size = look.human_bytes(root.size_bytes)
        if root.fills_rest:
            size += " (rest)"
        out.append((root.key, [root.key, size, root.mountpoint or "", root.filesystem or "",
                               str(layout.root_clone), root.role]))
    else:
        out.append(("root", ["root", NOT_PLACED, "/", layout.filesystem or "",
                             str(layout.root_clone), "root"]))
    return out


class PartitionList(KeyedTable):
    """The partitions the user edits; Enter opens the form."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(COLUMNS, id=id)
        self.plan: Plan | None = None

    @property
    def keys(self) -> list[str]:
        return self.row_keys

    def show(self, layout: Layout, plan: Plan) -> None:
        self.plan = plan
        colours = look.origin_colours(plan)
        table: list[tuple[str, list[Cell]]] = []
        for key, cells in rows(layout, plan):
            colour = colours.get(key) or look.ROLE_COLOURS.get(cells[5], look.FREE_COLOUR)
            swatch = Text("█", style=colour)
            table.append((key, [swatch, *cells]))
        target = origin_key(plan, self.selected) if self.selected else None
        self.set_rows(table, target if target in [k for k, _ in table] else None)

    def row_of(self, key: str | None) -> str | None:
        if key is None or self.plan is None:
            return None
        return super().row_of(origin_key(self.plan, key))

    def on_row_highlighted(self, key: str) -> None:
        self.post_message(PartitionChosen(key))

    def on_row_chosen(self, key: str) -> None:
        self.post_message(EditRequested(key))
