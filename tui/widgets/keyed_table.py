"""A keyed table drawn with Textual's line API: only the visible rows render.

DataTable re-measures and re-renders every cell when its rows change; the
designer replaces all rows on every edit, so a table of 128 partitions cost
tens of milliseconds per keypress. `KeyedTable` keeps a list of keyed rows of Rich
Text, sizes its columns from the cells' lengths, and renders a visible row
into a Strip cached by the row's content: after an edit, rows that did not
change are not rendered again. The header stays on top; the cursor row is
highlighted (component classes `keyed-table--cursor`, `keyed-table--cursor-blurred`).

`selected` (a reactive, bound to the screen's one selection) is the key of
the selected partition; the cursor follows it quietly, to the row `row_of`
gives for it. Subclasses get `on_row_highlighted(key)` when the user moves
the cursor to a row and `on_row_chosen(key)` on Enter or a double click.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

GAP = 2  # spaces between columns
Justify = Literal["left", "right"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    justify: Justify = "left"


Cell = Text | str


class KeyedTable(ScrollView, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "ends(-1)", "First", show=False),
        Binding("end", "ends(1)", "Last", show=False),
        Binding("enter", "choose", "Edit", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "keyed-table--header", "keyed-table--cursor", "keyed-table--cursor-blurred"}

    selected: reactive[str | None] = reactive(None, init=False)

    def __init__(self, columns: tuple[Column, ...], fixed_height: bool = False, *,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.columns = columns
        self.fixed_height = fixed_height  # its height does not follow its rows
        self.row_keys: list[str] = []
        self.row_cells: list[tuple[Cell, ...]] = []
        self.row_sigs: list[object] = []  # each row's content, hashable (what a strip shows)
        self.widths: tuple[int, ...] = tuple(len(c.label) for c in columns)
        self.cursor_row = 0
        self._strips: dict[tuple[object, ...], Strip] = {}
        self._lengths: dict[object, tuple[int, ...]] = {}  # a row's cell widths, by content
        self._lines: dict[tuple[object, ...], Strip] = {}  # finished lines, by what they show
        self._pass_styles: tuple[Style, Style, Style] | None = None
        self._index: dict[str, int] = {}
        # each row's cells (a tuple) and signature, by the tuple's id
        self._sig_of: dict[int, tuple[tuple[Cell, ...], object]] = {}

    # --- data ----------------------------------------------------------------
    def set_rows(self, rows: Sequence[tuple[str, Sequence[Cell]]],
                 cursor_key: str | None = None) -> None:
        """Replace the rows; the cursor goes to `cursor_key` (else stays at its index).
        Only the visible lines whose row (or cursor) changed are drawn again.
        A row given as the very tuple of cells it had before is not looked at again."""
        before = (self.row_sigs, self.widths, self.cursor_row, self.scroll_offset)
        self.row_keys = [key for key, _ in rows]
        self.row_cells = [tuple(cells) for _, cells in rows]
        known = self._sig_of
        self._sig_of = {}
        for cells in self.row_cells:
            held = known.get(id(cells))
            # the tuple itself is held with its signature, so its id is not reused
            sig = held[1] if held is not None and held[0] is cells else _signature(cells)
            self._sig_of[id(cells)] = (cells, sig)
        self.row_sigs = [self._sig_of[id(cells)][1] for cells in self.row_cells]
        self._index = {key: i for i, key in enumerate(self.row_keys)}
        if len(self._strips) > 4096:
            self._strips.clear()
            self._lengths.clear()
        if len(self._lines) > 4096:
            self._lines.clear()
        widths = [len(c.label) for c in self.columns]
        for sig, cells in zip(self.row_sigs, self.row_cells, strict=True):
            lengths = self._lengths.get(sig)
            if lengths is None:
                lengths = self._lengths[sig] = tuple(
                    cell_len(cell) if isinstance(cell, str) else cell.cell_len for cell in cells)
            widths = [max(w, n) for w, n in zip(widths, lengths, strict=False)]
        self.widths = tuple(widths)
        total = sum(self.widths) + GAP * (len(self.widths) - 1) + 1
        self._set_virtual_size(Size(total, len(self.row_keys) + 1))
        index = self._index.get(cursor_key, self.cursor_row) if cursor_key else self.cursor_row
        self.cursor_row = max(0, min(index, len(self.row_keys) - 1))
        self._scroll_to_cursor()
        self._refresh_changed(*before)

    def _refresh_changed(self, sigs: list[object], widths: tuple[int, ...], cursor: int,
                         scroll: object) -> None:
        """Mark for drawing the visible lines that differ from what was drawn
        with `sigs`, `widths`, `cursor` at `scroll` (all of them when the
        columns or the scroll position moved)."""
        if widths != self.widths or scroll != self.scroll_offset or not self.is_mounted:
            region = self.scrollable_content_region
            if self.is_mounted and region:
                # every line moved: the lines, not the border around them
                self.refresh(Region(0, 0, region.width, region.height))
            else:
                self.refresh()
            return
        top = int(self.scroll_offset.y)
        lines = max(0, self.scrollable_content_region.height - 1)
        width = self.scrollable_content_region.width
        new = self.row_sigs
        for line in range(lines):
            i = top + line
            old_sig = sigs[i] if i < len(sigs) else None
            new_sig = new[i] if i < len(new) else None
            if old_sig != new_sig or (i in (cursor, self.cursor_row) and cursor != self.cursor_row):
                self.refresh(Region(0, line + 1, width, 1))

    def _set_virtual_size(self, size: Size) -> None:
        """A new virtual size re-lays the whole screen out (for the scrollbars).
        When the scrollbars stay as they are and the widget's height does not
        follow (a table of fixed height, or the same number of rows), only its
        own scroll range needs updating: a row more or less costs no layout."""
        if size == self.virtual_size:
            return
        region = self.scrollable_content_region
        same_bars = (
            (self.fixed_height or size.height == self.virtual_size.height)
            and self.is_mounted and region.height > 0
            and (size.height > region.height) == (self.virtual_size.height > region.height)
            and (size.width > region.width) == (self.virtual_size.width > region.width)
        )
        if same_bars:
            try:
                self.set_reactive(KeyedTable.virtual_size, size)
                self._scroll_update(size)
                return
            except AttributeError:  # another Textual: take the ordinary way
                pass
        self.virtual_size = size

    @property
    def row_count(self) -> int:
        return len(self.row_keys)

    def index_of(self, key: str) -> int | None:
        return self._index.get(key)

    def cell(self, key: str, column: str) -> str:
        """The plain text of a cell (for tests and tools)."""
        index = self._index[key]
        col = [c.key for c in self.columns].index(column)
        value = self.row_cells[index][col]
        return value if isinstance(value, str) else value.plain

    @property
    def current_key(self) -> str | None:
        if 0 <= self.cursor_row < len(self.row_keys):
            return self.row_keys[self.cursor_row]
        return None

    # --- the selection -------------------------------------------------------
    def row_of(self, key: str | None) -> str | None:
        """The row that shows the partition `key` (None: no row does)."""
        return key if key is not None and key in self._index else None

    def choosable(self, key: str) -> bool:
        """Whether the row `key` is a partition the user can choose."""
        return True

    @property
    def moved_on(self) -> str | None:
        """The cursor's row when the user moved it away from the selection and
        the message saying so has not arrived yet (keys in a burst), else None."""
        key = self.current_key
        if key is None or not self.choosable(key) or key == self.row_of(self.selected):
            return None
        return key

    def watch_selected(self, key: str | None) -> None:
        row = self.row_of(key)
        if row is not None:
            self.move_to(self._index[row], announce=False)

    # --- cursor --------------------------------------------------------------
    def move_to(self, index: int, announce: bool = True) -> None:
        if not self.row_keys:
            return
        index = max(0, min(index, len(self.row_keys) - 1))
        if index == self.cursor_row:
            return
        before = (self.row_sigs, self.widths, self.cursor_row, self.scroll_offset)
        self.cursor_row = index
        self._scroll_to_cursor()
        self._refresh_changed(*before)
        if announce:
            self.on_row_highlighted(self.row_keys[index])

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_offset.y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        self.move_to(self.cursor_row + delta)

    def action_page(self, delta: int) -> None:
        self.move_to(self.cursor_row + delta * max(1, self.scrollable_content_region.height - 2))

    def action_ends(self, delta: int) -> None:
        self.move_to(0 if delta < 0 else len(self.row_keys) - 1)

    def action_choose(self) -> None:
        key = self.current_key
        if key is not None:
            self.on_row_chosen(key)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        index = int(self.scroll_offset.y) + offset.y - 1
        if 0 <= index < len(self.row_keys):
            self.move_to(index)
            if event.chain >= 2:
                self.on_row_chosen(self.row_keys[index])

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # --- hooks -----------------------------------------------------------------
    def on_row_highlighted(self, key: str) -> None:
        """The cursor moved to the row `key` (by the user)."""

    def on_row_chosen(self, key: str) -> None:
        """Enter or a double click on the row `key`."""

    # --- rendering ---------------------------------------------------------------
    def _line(self, cells: tuple[Cell, ...]) -> Text:
        line = Text(no_wrap=True, end="")
        for i, (cell, width, column) in enumerate(zip(cells, self.widths, self.columns,
                                                      strict=False)):
            if i:
                line.append(" " * GAP)
            text = Text(cell) if isinstance(cell, str) else cell
            pad = width - text.cell_len
            if column.justify == "right":
                line.append(" " * pad)
                line.append_text(text)
            else:
                line.append_text(text)
                line.append(" " * pad)
        return line

    def _row_strip(self, cells: tuple[Cell, ...], sig: object = None) -> Strip:
        """The row's cells laid out, unstyled by the widget (cached by content)."""
        key = (sig if sig is not None else _signature(cells), self.widths)
        strip = self._strips.get(key)
        if strip is None:
            text = self._line(cells)
            strip = Strip(list(text.render(self.app.console)), text.cell_len)
            self._strips[key] = strip
        return strip

    def _line_styles(self) -> tuple[Style, Style, Style]:
        """The styles of a body line, the header and the cursor row (each
        under the widget's own style)."""
        base = self.rich_style
        cursor = "keyed-table--cursor" if self.has_focus else "keyed-table--cursor-blurred"
        return (base, base + self.get_component_rich_style("keyed-table--header"),
                base + self.get_component_rich_style(cursor))

    def render_lines(self, crop: Region) -> list[Strip]:
        # the widget's styles are the same for every line of one render: found
        # once (rich_style walks every ancestor), not once a line
        self._pass_styles = self._line_styles()
        try:
            return super().render_lines(crop)
        finally:
            self._pass_styles = None

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x, scroll_y = int(self.scroll_offset.x), int(self.scroll_offset.y)
        base, header, cursor = self._pass_styles or self._line_styles()
        if y == 0:
            cells: tuple[Cell, ...] = tuple(c.label for c in self.columns)
            sig: object = cells
            style = header
        else:
            index = scroll_y + y - 1
            if not 0 <= index < len(self.row_cells):
                return Strip.blank(width, base)
            cells, sig = self.row_cells[index], self.row_sigs[index]
            style = cursor if index == self.cursor_row else base
        # the same row drawn the same way is the same strip: kept by what it shows
        key = (sig, self.widths, scroll_x, width, style)
        line = self._lines.get(key)
        if line is None:
            strip = self._row_strip(cells, sig)
            # the line's style goes under the cells' own colours, the full width
            line = self._lines[key] = (strip.extend_cell_length(scroll_x + width)
                                       .crop(scroll_x, scroll_x + width).apply_style(style))
        return line

def _signature(cells: tuple[Cell, ...]) -> tuple[object, ...]:
    """What a row shows, hashable: two rows of equal signature draw the same."""
    return tuple(c if isinstance(c, str) else (c.plain, tuple(c.spans), str(c.style))
                 for c in cells)
