"""The disk map: the plan drawn to scale as a bar of coloured segments.

The bar has two "pixels" per cell (a half block in two colours), and every
partition gets at least one pixel, so a 2 MiB partition on a 100 GiB disk is
still there to see and to click. Clones are shaded like their origin, free
space is hatched. The selected partition (`selected`, bound to the
screen's one selection) is marked under its segment. Clicking a segment
selects that partition.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment as RichSegment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.geometry import Region
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from engine.plan.model import Plan
from tui import look
from tui.messages import PartitionChosen

FREE = "free"
BAR_ROWS = 2


@dataclass(frozen=True)
class Segment:
    key: str  # entry key, or "free"
    sectors: int
    colour: str
    label: str  # the partition number, "" for free space


def segments(plan: Plan, colours: dict[str, str]) -> list[Segment]:
    """The entries (not the extended container) and free regions in disk order."""
    items: list[tuple[int, Segment]] = []
    for entry in plan.entries:
        if entry.role == "extended":
            continue
        items.append((entry.start, Segment(entry.key, entry.sectors, colours[entry.key],
                                           str(entry.number))))
    for region in plan.free:
        items.append((region.start, Segment(FREE, region.sectors, look.FREE_COLOUR, "")))
    items.sort(key=lambda item: item[0])
    return [segment for _, segment in items]


def allocate(weights: list[int], pixels: int) -> list[int]:
    """Split `pixels` in proportion to `weights`, at least one each (largest
    remainder); when there are more items than pixels, the first get one."""
    n = len(weights)
    if n == 0 or pixels <= 0:
        return [0] * n
    if n >= pixels:
        return [1] * pixels + [0] * (n - pixels)
    total = sum(max(w, 0) for w in weights) or 1
    spare = pixels - n  # every item has its one pixel; share the rest
    exact = [max(w, 0) * spare / total for w in weights]
    out = [1 + int(x) for x in exact]
    left = pixels - sum(out)
    order = sorted(range(n), key=lambda i: exact[i] - int(exact[i]), reverse=True)
    for i in order[:left]:
        out[i] += 1
    return out


class DiskMap(Widget):
    """A to-scale bar of the plan; the selected partition is marked below it."""

    selected: reactive[str | None] = reactive(None, init=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.plan: Plan | None = None
        self._pixels: list[str] = []  # segment key of every pixel, for clicks
        self._drawn: tuple[object, ...] | None = None
        self._lines: list[Strip] = []
        self._segments: tuple[Segment, ...] = ()
        self._background = ""
        self._pass_style: Style | None = None

    def show(self, plan: Plan) -> None:
        """Draw `plan`; the map is drawn again only when what it shows changed."""
        self.plan = plan
        background = look.background(self.app)
        segs = tuple(segments(plan, look.entry_colours(plan, background)))
        if (segs, background) == (self._segments, self._background):
            return
        self._segments, self._background = segs, background
        self.refresh()

    def watch_selected(self, key: str | None) -> None:
        # the selection is marked on the label line only
        self.refresh(Region(0, BAR_ROWS, max(1, self.content_size.width), 1))

    def _draw(self, width: int) -> list[Strip]:
        """The map's lines for `width` cells (cached until the plan, the width,
        the selection or the theme changes)."""
        plan = self.plan
        assert plan is not None
        segs = list(self._segments)
        key = (self._segments, width, self.selected, self._background)
        if key == self._drawn:
            return self._lines
        counts = allocate([s.sectors for s in segs], width * 2)
        pixels: list[Segment] = []
        for seg, count in zip(segs, counts, strict=True):
            pixels += [seg] * count
        if not pixels:
            return [Strip([RichSegment("(no partitions)")])]
        while len(pixels) < width * 2:
            pixels.append(pixels[-1])
        self._pixels = [p.key for p in pixels]
        bar: list[RichSegment] = []
        run, run_style, count = "", "", 0
        for cell in range(width):
            glyph, style = _cell(pixels[2 * cell], pixels[2 * cell + 1])
            if (glyph, style) == (run, run_style):
                count += 1
                continue
            if count:
                bar.append(RichSegment(run * count, Style.parse(run_style)))
            run, run_style, count = glyph, style, 1
        if count:
            bar.append(RichSegment(run * count, Style.parse(run_style)))
        labels = self._labels(segs, counts, width)
        label_strip = Strip(list(labels.render(self.app.console)), labels.cell_len)
        self._lines = [Strip(bar, width)] * BAR_ROWS + [label_strip]
        self._drawn = key
        return self._lines

    def render_lines(self, crop: Region) -> list[Strip]:
        # the widget's style is the same for every line of one render: found
        # once (rich_style walks every ancestor), not once a line
        self._pass_style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._pass_style = None

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        base = self._pass_style or self.rich_style
        if self.plan is None or width <= 0:
            return Strip.blank(width, base)
        lines = self._draw(width)
        if y >= len(lines):
            return Strip.blank(width, base)
        return lines[y].extend_cell_length(width).crop(0, width).apply_style(base)

    def _labels(self, segs: list[Segment], counts: list[int], width: int) -> Text:
        """Partition numbers under their segments where they fit; the selected
        partition's span underlined in the accent colour."""
        line = [" "] * width
        marks = [False] * width
        pos = 0
        selected = self.selected
        entry = self.plan.entry(selected) if self.plan and selected else None
        for seg, count in zip(segs, counts, strict=True):
            first, last = pos // 2, (pos + count - 1) // 2
            pos += count
            if count == 0:
                continue
            if seg.key == selected or (entry is not None and seg.key == entry.key):
                # the cells wholly this segment's; a segment of one pixel has only a shared one
                whole_first = (pos - count + 1) // 2
                whole_last = (pos - 2) // 2
                if whole_first > whole_last:
                    whole_first = whole_last = first
                for c in range(whole_first, min(whole_last, width - 1) + 1):
                    marks[c] = True
            span = last - first + 1
            start = first + max(0, span - len(seg.label)) // 2
            end = start + len(seg.label)
            # a label needs a blank cell on either side, so numbers never run together
            if seg.label and end <= width and all(
                    ch == " " for ch in line[max(0, start - 1):min(width, end + 1)]):
                line[start:end] = list(seg.label)
        accent = look.theme_colour(self.app, "text-accent", "#a86d1c")
        out = Text(no_wrap=True, overflow="crop")
        marked = f"bold {accent}"
        run: list[str] = []
        run_mark = False
        for ch, mark in zip(line, marks, strict=True):
            if mark != run_mark and run:  # a run of one style: appended at once
                out.append("".join(run), style=marked if run_mark else "dim")
                run = []
            run_mark = mark
            run.append("▔" if mark and ch == " " else ch)
        if run:
            out.append("".join(run), style=marked if run_mark else "dim")
        return out

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if not self._pixels or offset is None or offset.y >= BAR_ROWS:
            return
        pixel = max(0, min(len(self._pixels) - 1, offset.x * 2))
        key = self._pixels[pixel]
        if key != FREE:
            self.post_message(PartitionChosen(key, focus_table=True))


def _cell(left: Segment, right: Segment) -> tuple[str, str]:
    """The glyph and style of a cell whose halves show `left` and `right`."""
    if left is right or (left.key == right.key):
        if left.key == FREE:
            return "░", left.colour
        return "█", left.colour
    if right.key == FREE:
        return "▌", left.colour
    if left.key == FREE:
        return "▐", right.colour
    return "▌", f"{left.colour} on {right.colour}"
