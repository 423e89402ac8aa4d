"""The diagnostics: what the planner says about the layout, worst first.

Each line shows the severity in its theme colour, the stable code, the
partition it concerns, the message and the fix; a mark leads those about the
selected partition (`selected`, bound to the screen's one selection: its
clones and origin count). Selecting a diagnostic (Enter or a click) moves
the cursor to its partition.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from rich.text import Text
from textual.css.styles import RulesMap
from textual.geometry import Region, Size
from textual.reactive import Reactive, reactive
from textual.strip import Strip
from textual.style import Style
from textual.visual import Visual
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from engine.plan.model import Diagnostic, Plan, Severity
from tui import look
from tui.edits import origin_key
from tui.messages import PartitionChosen

ORDER: dict[Severity, int] = {"error": 0, "warning": 1, "info": 2}
MARK: dict[Severity, str] = {"error": "✖", "warning": "▲", "info": "●"}
CONCERNS = "▸"  # leads a diagnostic about the selected partition


def ordered(diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=lambda d: ORDER.get(d.severity, 3))


def summary(diagnostics: Sequence[Diagnostic]) -> str:
    counts = {s: sum(1 for d in diagnostics if d.severity == s) for s in ORDER}
    parts = []
    for severity, n in counts.items():
        if n:
            word = severity if n == 1 else {"error": "errors", "warning": "warnings"}.get(severity, severity)
            parts.append(f"{n} {word}")
    return ", ".join(parts) if parts else "no problems"


class Line(Option):
    """An option whose prompt is drawn from `key`, a value (what it shows)."""

    def __init__(self, prompt: Text, key: object) -> None:
        super().__init__(prompt)
        self.key = key


class Diagnostics(OptionList):
    """One option per diagnostic. A line is drawn once for what it shows: the
    same diagnostic at the same place is not wrapped and rendered again when
    another one changes."""

    selected: reactive[str | None] = reactive(None, init=False)
    # the pane's box is fixed (its height in the stylesheet, the scrollbar always
    # there, no horizontal scrolling): a diagnostic more or less changes its own
    # scroll range only, never the screen's layout
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.items: list[Diagnostic] = []
        self.plan: Plan | None = None
        self.extra: tuple[Diagnostic, ...] = ()  # the chosen updater's diagnostics
        self.source = ""  # that updater's name
        self.signature: object = None
        self._drawn: dict[tuple[object, ...], list[Strip]] = {}  # lines, by what they show
        self._visuals: dict[object, Visual] = {}  # prompts made visual, by what they show

    def watch_selected(self, key: str | None) -> None:
        if self.plan is not None:
            self.show(self.plan)

    def concerns(self, diag: Diagnostic, plan: Plan) -> bool:
        """Whether `diag` is about the selected partition (or its origin or clones)."""
        if not diag.partition or self.selected is None:
            return False
        return origin_key(plan, diag.partition) == origin_key(plan, self.selected)

    def show(self, plan: Plan, force: bool = False,
             extra: Sequence[Diagnostic] | None = None, source: str = "") -> None:
        """The plan's diagnostics and `extra` ones, about the file `source`
        writes (the chosen updater's; None: those last given)."""
        self.plan = plan
        if extra is not None:
            self.extra = tuple(d for d in extra if d not in plan.diagnostics)
            self.source = source
        items = ordered((*plan.diagnostics, *self.extra))
        title = f"Diagnostics: {summary(items)}"
        if title != self.border_title:
            self.border_title = title  # a new title repaints the pane
        signature = (tuple((d, self._number(d, plan), self.concerns(d, plan)) for d in items),
                     self.source,
                     look.severity_colour(self.app, "error"))
        if signature == self.signature and not force:
            return  # the same diagnostics about the same rows: nothing to redraw
        old_signature, self.signature = self.signature, signature
        highlighted = self.highlighted
        previous = self.items[highlighted].code if highlighted is not None and highlighted < len(self.items) else None
        old, self.items = self.items, items
        if not items or not old or force:
            self.clear_options()
            if not items:
                self.add_option(Option(Text("No problems: KIWI builds this layout as shown.",
                                            style="italic"), disabled=True))
                return
            self.add_options([self._line(d, plan) for d in items])
        else:
            # the options in place: a changed one gets its new prompt, the rest stay
            drawn = old_signature[0] if isinstance(old_signature, tuple) else ()
            same_colours = isinstance(old_signature, tuple) and old_signature[1:] == signature[1:]
            for i, line in enumerate(signature[0][:len(old)]):
                if not same_colours or i >= len(drawn) or drawn[i] != line:
                    self._replace(i, self._prompt(items[i], plan), self._key(items[i], plan))
            for _ in range(len(old) - len(items)):
                self.remove_option_at_index(len(items))
            if len(items) > len(old):
                self.add_options([self._line(d, plan) for d in items[len(old):]])
        codes = [d.code for d in items]
        new_codes = set(codes) - {d.code for d in old}
        # a new diagnostic: show the worst first; else keep the user's place
        if new_codes or previous not in codes:
            self.highlighted = 0
        elif previous is not None:
            self.highlighted = codes.index(previous)

    def _replace(self, index: int, prompt: Text, key: object) -> None:
        """The option at `index` shows `prompt` from now on. When it keeps its
        height only its own lines are drawn again (OptionList's replace draws
        the whole list again, and wraps every prompt anew)."""
        option = self.get_option_at_index(index)
        if isinstance(option, Line):
            option.key = key
        try:
            line, height = self._index_to_line[index], self._heights[index]
            renders = self._option_render_cache
            padding = self.get_component_styles("option-list--option").padding
            width = self.scrollable_content_region.width - self._get_left_gutter_width()
            option._set_prompt(prompt)
            rules = cast(RulesMap, self.styles)
            fits = self._get_visual(option).get_height(rules, width - padding.width)
            if fits + option._divider != height:
                raise LookupError("another height")
        except (AttributeError, LookupError):  # another height (or another Textual)
            self.replace_option_prompt_at_index(index, prompt)
            return
        for drawn in [k for k in renders.keys() if k[0] is option]:
            renders.discard(drawn)
        top = line - int(self.scroll_offset.y)
        self.refresh(Region(0, top, self.scrollable_content_region.width, height))

    def _line(self, diag: Diagnostic, plan: Plan) -> Line:
        return Line(self._prompt(diag, plan), self._key(diag, plan))

    def _key(self, diag: Diagnostic, plan: Plan) -> object:
        """All that `_prompt` draws from."""
        entry = plan.entry(diag.partition) if diag.partition else None
        where = (entry.number, entry.name) if entry is not None else None
        return (diag, where, self.concerns(diag, plan), self.source if diag in self.extra else "",
                look.severity_colour(self.app, diag.severity))

    def _get_visual(self, option: Option) -> Visual:
        # a prompt shown before is not measured and wrapped again
        key = getattr(option, "key", None)
        if key is None or option._visual is not None:
            return super()._get_visual(option)
        visual = self._visuals.get(key)
        if visual is None:
            if len(self._visuals) > 1024:
                self._visuals.clear()
            visual = self._visuals[key] = super()._get_visual(option)
        option._visual = visual
        return visual

    def _get_option_render(self, option: Option, style: Style) -> list[Strip]:
        key = getattr(option, "key", None)
        if key is None:
            return super()._get_option_render(option, style)
        padding = self.get_component_styles("option-list--option").padding
        drawn = (key, self.options.index(option), style, padding,
                 self.scrollable_content_region.width)
        strips = self._drawn.get(drawn)
        if strips is None:
            if len(self._drawn) > 1024:
                self._drawn.clear()
            strips = self._drawn[drawn] = super()._get_option_render(option, style)
        return strips

    @staticmethod
    def _number(diag: Diagnostic, plan: Plan) -> int | None:
        entry = plan.entry(diag.partition) if diag.partition else None
        return entry.number if entry is not None else None

    def _prompt(self, diag: Diagnostic, plan: Plan) -> Text:
        colour = look.severity_colour(self.app, diag.severity)
        text = Text(f"{CONCERNS} " if self.concerns(diag, plan) else "  ", style="bold")
        text.append(f"{MARK.get(diag.severity, '·')} {diag.severity:<7}", style=f"bold {colour}")
        if self.source and diag in self.extra:
            text.append(f" {self.source}", style="bold")
        text.append(f" {diag.code}", style="bold")
        if diag.partition:
            entry = plan.entry(diag.partition)
            where = entry.name if entry is not None and entry.name else diag.partition
            if entry is not None:
                where = f"{entry.number} {where}"
            text.append(f" [{where}]", style=colour)
        text.append(f": {diag.message.rstrip(' .')}")
        if diag.fix:
            text.append(f". Fix: {diag.fix}", style="italic")
        return text

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        index = event.option_index
        if 0 <= index < len(self.items):
            diag = self.items[index]
            if diag.partition:
                self.post_message(PartitionChosen(diag.partition, focus_table=True))
            else:
                self.app.notify(f"{diag.code} concerns the whole disk, not one partition",
                                timeout=3)
