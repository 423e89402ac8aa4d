"""The partition list: what the user designs (boot, the custom partitions, root).

One keyed row per origin partition; `+`/`-` on any row change its clone count.
Sizes of the custom partitions are the Layout's; boot and root show what the
planner gave them.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from engine.layout import Layout
from engine.plan import Plan
from tui import look
from tui.messages import EditRequested, PartitionChosen

COLUMNS = (("", "swatch"), ("Name", "name"), ("Size", "size"), ("Mountpoint", "mountpoint"),
           ("Filesystem", "filesystem"), ("Clones", "clones"), ("Kind", "kind"))
ROOT_KEYS = ("root", "readonly")


def rows(layout: Layout, plan: Plan) -> list[tuple[str, list[str]]]:
    """(key, [name, size, mountpoint, filesystem, clones, kind]) for each row."""
    out: list[tuple[str, list[str]]] = []
    boot = plan.entry("boot")
    if boot is not None:
        size = look.human_bytes(boot.size_bytes)
        out.append(("boot", ["boot", size, boot.mountpoint or "", boot.filesystem or "",
                             str(layout.boot_clone), "boot"]))
    for part in layout.partitions:
        out.append((part.name, [part.name, look.human_mb(part.size_mb), part.mountpoint or "",
                                part.filesystem or "", str(part.clone), "custom"]))
    for key in ROOT_KEYS:
        root = plan.entry(key)
        if root is None:
            continue
        if layout.oem_systemsize and plan.entry(key) is not None:
            size = look.human_bytes(root.size_bytes)
        elif layout.root_clone:
            size = look.human_bytes(root.size_bytes)
        else:
            size = f"{look.human_bytes(root.size_bytes)} (rest)"
        out.append((key, [key, size, root.mountpoint or "", root.filesystem or "",
                          str(layout.root_clone), root.role]))
        break
    return out


class PartitionList(DataTable[object]):
    """The partitions the user edits; Enter opens the form."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", **kwargs)  # type: ignore[arg-type]
        self.plan: Plan | None = None
        self.keys: list[str] = []
        self.shown: str | None = None  # the row the cursor was last put on or moved to

    def on_mount(self) -> None:
        for label, key in COLUMNS:
            self.add_column(label, key=key)

    def show(self, layout: Layout, plan: Plan, selected: str | None) -> None:
        self.plan = plan
        colours = look.origin_colours(plan)
        self.clear()
        self.keys = []
        for key, cells in rows(layout, plan):
            swatch = Text("█", style=colours.get(key, look.FREE_COLOUR))
            size = Text(cells[1], justify="right")
            clones = Text(cells[4], justify="right")
            self.add_row(swatch, cells[0], size, cells[2], cells[3], clones, cells[5], key=key)
            self.keys.append(key)
        self.select(selected)

    def select(self, key: str | None) -> None:
        if key is None or self.plan is None:
            return
        entry = self.plan.entry(key)
        target = entry.clone_of if entry is not None and entry.clone_of else key
        if target in self.keys:
            self.shown = target
            index = self.keys.index(target)
            if index != self.cursor_row:
                self.move_cursor(row=index, animate=False)

    @property
    def current_key(self) -> str | None:
        if not self.row_count or not 0 <= self.cursor_row < len(self.keys):
            return None
        return self.keys[self.cursor_row]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        key = event.row_key.value
        # stale highlights and the echo of select() are not news
        if event.cursor_row != self.cursor_row or key is None or key == self.shown:
            return
        self.shown = key
        self.post_message(PartitionChosen(key))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(EditRequested(event.row_key.value))
