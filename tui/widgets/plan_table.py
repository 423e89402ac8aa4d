"""The live partition table: the Plan's entries and free space, one keyed row each.

Rows are keyed by the planner's entry key (`root`, `homeclone2` ...) and free
space by `free:<n>`, so after every re-plan the cursor goes back to the same
partition. Clones are drawn as a bracket joining them to their origin, in the
origin's colour, with a shaded swatch. The LVM volumes of a `<systemdisk>`
(`Plan.volumes`) are indented rows under the origin's p.lxlvm row (not under
its clones, which hold copies of the same volumes), keyed `volume:<n>`: name,
size (or "rest") and mountpoint, as the planner gives them.
"""

from __future__ import annotations

from collections.abc import Container

from rich.text import Text

from engine.plan.model import Entry, Plan
from engine.units import MIB
from tui import look
from tui.edits import origin_key
from tui.messages import EditRequested, PartitionChosen
from tui.widgets.keyed_table import Cell, Column, KeyedTable

COLUMNS = (
    Column("swatch", ""), Column("number", "#", "right"), Column("start", "Start", "right"),
    Column("end", "End", "right"), Column("size", "Size", "right"), Column("code", "Code"),
    Column("name", "Name"), Column("role", "Role"),
)
FREE_PREFIX = "free:"
VOLUME_PREFIX = "volume:"
INERT = (FREE_PREFIX, VOLUME_PREFIX)  # rows that are no partition: nothing to choose or edit


def groups(plan: Plan) -> dict[str, str]:
    """The bracket glyph of each entry in a run of clones with their origin."""
    out: dict[str, str] = {}
    entries = plan.entries
    group_of = [e.clone_of or e.key for e in entries]
    sizes: dict[str, int] = {}
    for group in group_of:
        sizes[group] = sizes.get(group, 0) + 1
    for i, entry in enumerate(entries):
        group = group_of[i]
        if sizes[group] < 2:
            out[entry.key] = " "
            continue
        prev_same = i > 0 and group_of[i - 1] == group
        next_same = i + 1 < len(entries) and group_of[i + 1] == group
        if prev_same and next_same:
            out[entry.key] = "├"
        elif next_same:
            out[entry.key] = "┌"
        elif prev_same:
            out[entry.key] = "└"
        else:
            out[entry.key] = "·"
    return out


Row = tuple[str, tuple[Cell, ...]]
RowMemo = dict[tuple[object, ...], tuple[Cell, ...]]


def plan_rows(plan: Plan, colours: dict[str, str], free_colour: str,
              memo: RowMemo | None = None) -> list[Row]:
    """(key, cells) for every entry and free region, in disk order. With a
    `memo`, a row drawn from the same values as before (an entry is an
    immutable value) is the same tuple of cells as before."""
    memo = {} if memo is None else memo
    brackets = groups(plan)
    rows: list[tuple[int, int, str, tuple[Cell, ...]]] = []
    for entry in plan.entries:
        colour = colours[entry.key]
        bracket = brackets[entry.key]
        cells = memo.get((entry, colour, bracket))
        if cells is None:
            cells = memo[(entry, colour, bracket)] = _entry_cells(entry, colour, bracket)
        rows.append((entry.start, 0, entry.key, cells))
        if entry.role == "lvm" and entry.clone_of is None:
            rows += [(entry.start, 1 + i, key, tuple(cells))
                     for i, (key, cells) in enumerate(volume_rows(plan, colour))]
    free_style = f"italic {free_colour}"
    for i, region in enumerate(plan.free):
        cells = memo.get((region, plan.sector_size, free_colour))
        if cells is None:
            size = look.human_bytes(region.sectors * plan.sector_size)
            cells = memo[(region, plan.sector_size, free_colour)] = (
                Text(" ░", style=free_style), "", Text(str(region.start), style=free_style),
                Text(str(region.end), style=free_style), Text(size, style=free_style), "",
                Text("free space", style=free_style), "",
            )
        rows.append((region.start, 0, f"{FREE_PREFIX}{i}", cells))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [(key, cells) for _, _, key, cells in rows]


def _entry_cells(entry: Entry, colour: str, bracket: str) -> tuple[Cell, ...]:
    swatch = Text(bracket, style=f"bold {colour}")
    swatch.append("▓" if entry.clone_of else "█", style=colour)
    name: Cell = ("  " if entry.logical else "") + (entry.name or "-")
    role: Cell = f"{entry.role} clone" if entry.clone_of else entry.role
    if entry.role == "extended":
        name, role = Text(str(name), style="dim"), Text(str(role), style="dim")
    return (swatch, str(entry.number), str(entry.start), str(entry.end),
            look.human_bytes(entry.size_bytes), entry.code, name, role)


def volume_rows(plan: Plan, colour: str) -> list[tuple[str, list[Cell]]]:
    """(key, cells) of each LVM volume of the plan, drawn as a tree under its
    partition's row in the partition's colour."""
    out: list[tuple[str, list[Cell]]] = []
    style = f"italic {colour}"
    last = len(plan.volumes) - 1
    for i, volume in enumerate(plan.volumes):
        size = "rest" if volume.size_mb is None else look.human_bytes(volume.size_mb * MIB)
        branch = "└" if i == last else "├"
        name = Text(f"  {branch} ", style=colour)
        name.append(volume.name, style=style)
        role = f"volume {volume.mountpoint}" if volume.mountpoint else "volume"
        out.append((f"{VOLUME_PREFIX}{i}", [
            "", "", "", "", Text(size, style=style), Text("LV", style=style), name,
            Text(role, style=style),
        ]))
    return out


class PlanTable(KeyedTable):
    """The partition table exactly as the planner computed it."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(COLUMNS, fixed_height=True, id=id)
        self.plan: Plan | None = None
        self._memo: RowMemo = {}  # the cells of each row drawn, by what they show

    def show(self, plan: Plan) -> None:
        """Replace the rows with `plan`'s, the cursor on the selection's row."""
        self.plan = plan
        colours = look.entry_colours(plan, look.background(self.app))
        free = look.theme_colour(self.app, "text-success", "#2e8b57")
        if len(self._memo) > 4096:
            self._memo.clear()
        rows = plan_rows(plan, colours, free, self._memo)
        self.set_rows(rows, self._target(self.selected, {key for key, _ in rows}))

    def _target(self, key: str | None, present: Container[str]) -> str | None:
        """The row of `key`, or of its origin when the key has no row (a
        partition KIWI fails before creating)."""
        if key is None or self.plan is None:
            return None
        if key in present:
            return key
        origin = origin_key(self.plan, key)
        return origin if origin in present else None

    def row_of(self, key: str | None) -> str | None:
        return self._target(key, self._index)

    def choosable(self, key: str) -> bool:
        return not key.startswith(INERT)

    def on_row_highlighted(self, key: str) -> None:
        if self.choosable(key):
            self.post_message(PartitionChosen(key))

    def on_row_chosen(self, key: str) -> None:
        if self.choosable(key):
            self.post_message(EditRequested(key))
