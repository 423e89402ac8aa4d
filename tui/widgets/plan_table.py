"""The live partition table: the Plan's entries and free space, one keyed row each.

Rows are keyed by the planner's entry key (`root`, `homeclone2` ...) and free
space by `free:<n>`, so after every re-plan the cursor goes back to the same
partition. Clones are drawn as a bracket joining them to their origin, in the
origin's colour.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from engine.plan import Plan
from tui import look
from tui.messages import EditRequested, PartitionChosen

COLUMNS = (("", "swatch"), ("#", "number"), ("Start", "start"), ("End", "end"),
           ("Size", "size"), ("Code", "code"), ("Name", "name"), ("Role", "role"))
FREE_PREFIX = "free:"


def groups(plan: Plan) -> dict[str, str]:
    """The bracket glyph of each entry in a run of clones with their origin."""
    out: dict[str, str] = {}
    entries = plan.entries
    for i, entry in enumerate(entries):
        group = entry.clone_of or entry.key
        size = sum(1 for e in entries if (e.clone_of or e.key) == group)
        if size < 2:
            out[entry.key] = " "
            continue
        prev_same = i > 0 and (entries[i - 1].clone_of or entries[i - 1].key) == group
        next_same = i + 1 < len(entries) and (entries[i + 1].clone_of or entries[i + 1].key) == group
        if prev_same and next_same:
            out[entry.key] = "├"
        elif next_same:
            out[entry.key] = "┌"
        elif prev_same:
            out[entry.key] = "└"
        else:
            out[entry.key] = "·"
    return out


class PlanTable(DataTable[object]):
    """The partition table exactly as the planner computed it."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self.plan: Plan | None = None
        self.shown: str | None = None  # the row the cursor was last put on or moved to

    def on_mount(self) -> None:
        for label, key in COLUMNS:
            self.add_column(label, key=key)

    def show(self, plan: Plan, selected: str | None) -> None:
        """Replace the rows with `plan`'s and put the cursor on `selected`."""
        self.plan = plan
        colours = look.entry_colours(plan, look.background(self.app))
        brackets = groups(plan)
        rows: list[tuple[int, str, list[object]]] = []
        for entry in plan.entries:
            colour = colours[entry.key]
            swatch = Text(brackets[entry.key], style=f"bold {colour}")
            swatch.append("█" if not entry.clone_of else "▓", style=colour)
            style = "dim" if entry.role == "extended" else ""
            role = f"{entry.role} clone" if entry.clone_of else entry.role
            name = Text(entry.name or "-", style=style)
            if entry.logical:
                name = Text("  ") + name
            rows.append((entry.start, entry.key, [
                swatch, Text(str(entry.number), justify="right"),
                Text(str(entry.start), justify="right"), Text(str(entry.end), justify="right"),
                Text(look.human_bytes(entry.size_bytes), justify="right"),
                entry.code, name, Text(role, style=style),
            ]))
        free_style = f"italic {look.theme_colour(self.app, 'success', '#2e8b57')}"
        for i, region in enumerate(plan.free):
            size = look.human_bytes(region.sectors * plan.sector_size)
            rows.append((region.start, f"{FREE_PREFIX}{i}", [
                Text(" ░", style=free_style), Text(""),
                Text(str(region.start), justify="right", style=free_style),
                Text(str(region.end), justify="right", style=free_style),
                Text(size, justify="right", style=free_style),
                "", Text("free space", style=free_style), "",
            ]))
        rows.sort(key=lambda r: r[0])
        self.clear()
        for _, key, cells in rows:
            self.add_row(*cells, key=key)
        self.select(selected)

    def select(self, key: str | None) -> None:
        """Move the cursor to the row of `key` (or its origin)."""
        if key is None or self.plan is None:
            return
        candidates = [key]
        entry = self.plan.entry(key)
        if entry is not None and entry.clone_of:
            candidates.append(entry.clone_of)
        for candidate in candidates:
            try:
                index = self.get_row_index(candidate)
            except Exception:  # noqa: BLE001 - RowDoesNotExist
                continue
            self.shown = candidate
            if index != self.cursor_row:
                self.move_cursor(row=index, animate=False)
            return

    @property
    def current_key(self) -> str | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return key

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        key = event.row_key.value
        # stale highlights and the echo of select() are not news
        if event.cursor_row != self.cursor_row or key is None or key == self.shown:
            return
        self.shown = key
        if key.startswith(FREE_PREFIX):
            return
        self.post_message(PartitionChosen(key))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = event.row_key.value
        if key is not None and not key.startswith(FREE_PREFIX):
            self.post_message(EditRequested(key))
