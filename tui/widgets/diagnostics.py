"""The diagnostics: what the planner says about the layout, worst first.

Each line shows the severity in its theme colour, the stable code, the
partition it concerns, the message and the fix; a mark leads those about the
selected partition (`selected`, bound to the screen's one selection: its
clones and origin count). Selecting a diagnostic (Enter or a click) moves
the cursor to its partition.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from engine.plan.model import Diagnostic, Plan, Severity
from tui import look
from tui.edits import origin_key
from tui.messages import PartitionChosen

ORDER: dict[Severity, int] = {"error": 0, "warning": 1, "info": 2}
MARK: dict[Severity, str] = {"error": "✖", "warning": "▲", "info": "●"}
CONCERNS = "▸"  # leads a diagnostic about the selected partition


def ordered(plan: Plan) -> list[Diagnostic]:
    return sorted(plan.diagnostics, key=lambda d: ORDER.get(d.severity, 3))


def summary(plan: Plan) -> str:
    counts = {s: sum(1 for d in plan.diagnostics if d.severity == s) for s in ORDER}
    parts = []
    for severity, n in counts.items():
        if n:
            word = severity if n == 1 else {"error": "errors", "warning": "warnings"}.get(severity, severity)
            parts.append(f"{n} {word}")
    return ", ".join(parts) if parts else "no problems"


class Diagnostics(OptionList):
    """One option per diagnostic."""

    selected: reactive[str | None] = reactive(None, init=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.items: list[Diagnostic] = []
        self.plan: Plan | None = None
        self.signature: object = None

    def watch_selected(self, key: str | None) -> None:
        if self.plan is not None:
            self.show(self.plan)

    def concerns(self, diag: Diagnostic, plan: Plan) -> bool:
        """Whether `diag` is about the selected partition (or its origin or clones)."""
        if not diag.partition or self.selected is None:
            return False
        return origin_key(plan, diag.partition) == origin_key(plan, self.selected)

    def show(self, plan: Plan, force: bool = False) -> None:
        self.plan = plan
        items = ordered(plan)
        self.border_title = f"Diagnostics: {summary(plan)}"
        signature = (tuple((d, self._number(d, plan), self.concerns(d, plan)) for d in items),
                     look.severity_colour(self.app, "error"))
        if signature == self.signature and not force:
            return  # the same diagnostics about the same rows: nothing to redraw
        self.signature = signature
        highlighted = self.highlighted
        previous = self.items[highlighted].code if highlighted is not None and highlighted < len(self.items) else None
        if items and len(items) == len(self.items) and not force:
            # as many as before (numbers changed): new prompts, same options
            self.items = items
            for i, diag in enumerate(items):
                self.replace_option_prompt_at_index(i, self._prompt(diag, plan))
            return
        old, self.items = self.items, items
        self.clear_options()
        if not items:
            self.add_option(Option(Text("No problems: KIWI builds this layout as shown.",
                                        style="italic"), disabled=True))
        else:
            self.add_options([Option(self._prompt(d, plan)) for d in items])
            codes = [d.code for d in items]
            new_codes = set(codes) - {d.code for d in old}
            # a new diagnostic: show the worst first; else keep the user's place
            self.highlighted = 0 if new_codes or previous not in codes else codes.index(previous)

    @staticmethod
    def _number(diag: Diagnostic, plan: Plan) -> int | None:
        entry = plan.entry(diag.partition) if diag.partition else None
        return entry.number if entry is not None else None

    def _prompt(self, diag: Diagnostic, plan: Plan) -> Text:
        colour = look.severity_colour(self.app, diag.severity)
        text = Text(f"{CONCERNS} " if self.concerns(diag, plan) else "  ", style="bold")
        text.append(f"{MARK.get(diag.severity, '·')} {diag.severity:<7}", style=f"bold {colour}")
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
