"""The partition form: add or edit a custom partition, or the boot or root one.

Every field is checked as it is typed by its parser in tui.fields (the
engine's own rules): a bad value marks its field and says why under it; OK
refuses until every field is good. The form returns a `FormResult`; the app
turns it into an undoable edit.
"""

from __future__ import annotations

from typing import Any, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from engine.layout.model import (
    BOOT_FILESYSTEMS,
    PARTITION_FILESYSTEMS,
    ROOT_FILESYSTEMS,
    Partition,
    PartitionFilesystem,
)
from tui.edits import FormRequest, FormResult
from tui.fields import (
    Parsed,
    Parser,
    clones,
    gpt_name,
    label_text,
    mountpoint,
    name_check,
    size_optional,
    size_required,
)
from tui.keys import FOCUS_KEYS


class PartitionForm(ModalScreen[FormResult | None]):
    """A modal form over the designer."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "ok", "OK", show=False),
                *FOCUS_KEYS]

    def __init__(self, request: FormRequest) -> None:
        super().__init__()
        self.kind = request.kind
        self.values = request.values
        self.taken = set(request.taken)
        self.form_title = request.title
        self.parsers: dict[str, Parser] = {}

    def _field(self, field_id: str, label: str, parse: Parser,
               placeholder: str = "", hint: str = "") -> ComposeResult:
        self.parsers[field_id] = parse
        value = self.values.get(field_id)
        with Horizontal(classes="form-row"):
            yield Label(label, classes="form-label")
            yield Input("" if value is None else str(value), placeholder=placeholder,
                        validators=[Parsed(parse)], compact=True, id=field_id,
                        valid_empty=False)
        yield Static(hint, classes="form-problem", id=f"{field_id}-problem")

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Static(self.form_title, id="form-title")
            with VerticalScroll(id="form-fields"):
                if self.kind == "custom":
                    yield from self._field("name", "name", name_check(self.taken), "home")
                    yield from self._field("size", "size", size_required, "10, 500M or 2G")
                    yield from self._field("mountpoint", "mountpoint", mountpoint, "/home")
                    yield from self._select("filesystem", PARTITION_FILESYSTEMS, "none")
                    yield from self._field("clones", "clones", clones, "0")
                    yield from self._field("partition_name", "GPT name", gpt_name,
                                           "p.lx<name>")
                    yield from self._field("label", "label", label_text, "<NAME>")
                elif self.kind == "boot":
                    yield from self._field("size", "size", size_optional, "300 (KIWI default)")
                    yield from self._select("filesystem", BOOT_FILESYSTEMS, "as root")
                    yield from self._field("clones", "clones", clones, "0")
                else:
                    yield from self._field("size", "systemsize", size_optional,
                                           "rest of the disk")
                    yield from self._select("filesystem", ROOT_FILESYSTEMS, "unset")
                    yield from self._field("clones", "clones", clones, "0")
            with Horizontal(id="form-buttons"):
                yield Button("OK", variant="primary", id="form-ok", compact=True)
                yield Button("Cancel", id="form-cancel", compact=True)

    def _select(self, field_id: str, choices: tuple[str, ...], prompt: str) -> ComposeResult:
        value = self.values.get(field_id)
        with Horizontal(classes="form-row"):
            yield Label(field_id, classes="form-label")
            yield Select([(c, c) for c in choices], prompt=prompt, compact=True, id=field_id,
                         value=value if value in choices else Select.NULL)
        yield Static("", classes="form-problem")

    def on_mount(self) -> None:
        self.query(Input).first().focus()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self._show_problem(event.input, event.validation_result)

    def _show_problem(self, field: Input, result: Any) -> None:
        problem = self.query_one(f"#{field.id}-problem", Static)
        text = "" if result is None or result.is_valid else "; ".join(result.failure_descriptions)
        problem.update(text)
        problem.set_class(bool(text), "-shown")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_ok()

    @on(Button.Pressed, "#form-ok")
    def _ok_pressed(self) -> None:
        self.action_ok()

    @on(Button.Pressed, "#form-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_ok(self) -> None:
        parsed: dict[str, Any] = {}
        first_bad: Input | None = None
        for field_id, parse in self.parsers.items():
            field = self.query_one(f"#{field_id}", Input)
            result = field.validate(field.value)
            self._show_problem(field, result)
            if result is not None and not result.is_valid:
                first_bad = first_bad or field
                continue
            parsed[field_id] = parse(field.value)
        if first_bad is not None:
            first_bad.focus()
            self.app.bell()
            return
        select = self.query_one("#filesystem", Select)
        filesystem = None if select.value is Select.NULL else str(select.value)
        if self.kind == "custom":
            part = Partition(
                name=parsed["name"], size_mb=parsed["size"], mountpoint=parsed["mountpoint"],
                filesystem=cast("PartitionFilesystem | None", filesystem), clone=parsed["clones"],
                partition_name=parsed["partition_name"], label=parsed["label"],
            )
            self.dismiss(FormResult("custom", partition=part, clones=part.clone))
        else:
            self.dismiss(FormResult(self.kind, size_mb=parsed["size"], filesystem=filesystem,
                                    clones=parsed["clones"]))
