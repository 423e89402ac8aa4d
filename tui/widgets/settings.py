"""The type settings: firmware, table (and msdos' extended layout), filesystems,
disk size, oemconfig, spare, start.

Every control posts `Settings.Changed` with the Layout fields it changes; a
text field does so on each keystroke that leaves it valid (the table follows
the typing) and marks itself invalid, with the reason below, otherwise.
`show()` puts a Layout's values into the controls without posting anything,
and leaves alone a field whose text already means the Layout's value (so
typing "1024" in MiB is not rewritten to "1" GiB under the cursor).
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Checkbox, Input, Label, Select, Static
from textual.widgets.select import InvalidSelectValueError

from engine.layout.model import BOOT_FILESYSTEMS, FIRMWARES, ROOT_FILESYSTEMS, TABLE_TYPES, Layout
from engine.plan.model import Plan
from tui.fields import Parsed, Parser, optional_mb, optional_sector, optional_size

# text fields: id -> (layout field, parser, history label)
TEXT_FIELDS: dict[str, tuple[str, Parser, str]] = {
    "set-systemsize": ("oem_systemsize", optional_mb, "oem-systemsize"),
    "set-swapsize": ("oem_swapsize", optional_mb, "swap size"),
    "set-spare": ("spare_part_mb", optional_size, "spare size"),
    "set-start": ("disk_start_sector", optional_sector, "start sector"),
}


def _row(label: str, *widgets: Any, id: str | None = None) -> Horizontal:
    return Horizontal(Label(label, classes="setting-label"), *widgets, classes="setting", id=id)


class Settings(VerticalScroll):
    """The `<type>` settings that shape the disk."""

    class Changed(Message):
        """A type setting changed: the Layout fields to change, a history label,
        and a tag under which consecutive changes of one field coalesce into one
        step."""

        def __init__(self, changes: dict[str, Any], label: str, tag: str) -> None:
            super().__init__()
            self.changes = changes
            self.label = label
            self.tag = tag

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, Settings.Changed) and message.tag == self.tag

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.shown_layout: Layout | None = None

    def compose(self) -> ComposeResult:
        yield _row("firmware", Select([(f, f) for f in FIRMWARES], allow_blank=False,
                                      compact=True, id="set-firmware"))
        yield _row("table", Select([(t, t) for t in TABLE_TYPES],
                                   allow_blank=False, compact=True, id="set-table"),
                   Checkbox("extended", compact=True, id="set-extended",
                            tooltip="dosparttable_extended_layout: on an msdos table, the"
                                    " partitions past the third are logical ones in an"
                                    " extended partition"))
        yield _row("root fs", Select([(f, f) for f in ROOT_FILESYSTEMS], prompt="unset",
                                     compact=True, id="set-rootfs"))
        yield _row("boot", Checkbox("partition", compact=True, id="set-bootpart"),
                   Select([(f, f) for f in BOOT_FILESYSTEMS], prompt="as root",
                          compact=True, id="set-bootfs"))
        yield _row("disk size", Input(compact=True, id="set-size", restrict=r"\d*",
                                      validators=[Parsed(optional_mb)]),
                   Select([("MiB", "M"), ("GiB", "G")], allow_blank=False, compact=True,
                          id="set-unit"))
        yield _row("systemsize", Input(compact=True, id="set-systemsize", placeholder="unset",
                                       restrict=r"\d*", validators=[Parsed(optional_mb)]),
                   Label("MiB", classes="unit"))
        yield _row("resize", Checkbox("oem-resize", compact=True, id="set-resize"))
        yield _row("swap", Checkbox("oem-swap", compact=True, id="set-swap"),
                   Input(compact=True, id="set-swapsize", placeholder="128", restrict=r"\d*",
                         validators=[Parsed(optional_mb)]),
                   Label("MiB", classes="unit"))
        yield _row("spare", Input(compact=True, id="set-spare", placeholder="none",
                                  validators=[Parsed(optional_size)]),
                   Checkbox("last", compact=True, id="set-spare-last"))
        yield _row("start", Input(compact=True, id="set-start", placeholder="2048",
                                  restrict=r"\d*", validators=[Parsed(optional_sector)]),
                   Label("sector", classes="unit"))
        yield Static("", id="settings-problem")

    # --- Layout -> controls ------------------------------------------------
    def show(self, layout: Layout, plan: Plan) -> None:
        self.shown_layout = layout
        with self.prevent(Select.Changed, Checkbox.Changed, Input.Changed):
            self._select("#set-firmware", layout.resolved_firmware)
            table = self.query_one("#set-table", Select)
            self._select("#set-table", plan.table)
            efi = layout.resolved_firmware in ("efi", "uefi")
            table.disabled = not efi or layout.arch.startswith(("s390", "ppc"))
            table.tooltip = (None if not table.disabled else
                             "the table follows the firmware: gpt or msdos needs efi or uefi")
            extended = self.query_one("#set-extended", Checkbox)
            extended.value = bool(layout.dosparttable_extended_layout)
            extended.disabled = plan.table != "msdos"
            self._select("#set-rootfs", layout.filesystem)
            boot = plan.entry("boot") is not None
            self.query_one("#set-bootpart", Checkbox).value = boot
            self._select("#set-bootfs", layout.bootfilesystem)
            self.query_one("#set-bootfs", Select).disabled = not boot
            self._show_size(layout, plan)
            for input_id, (field, parse, _) in TEXT_FIELDS.items():
                self._text(input_id, getattr(layout, field), parse)
            self.query_one("#set-resize", Checkbox).value = layout.oem_resize is not False
            self.query_one("#set-swap", Checkbox).value = bool(layout.oem_swap)
            self.query_one("#set-swapsize", Input).disabled = not layout.oem_swap
            self.query_one("#set-spare-last", Checkbox).value = bool(layout.spare_part_is_last)

    def _select(self, selector: str, value: object) -> None:
        select: Select[Any] = self.query_one(selector, Select)
        target = Select.NULL if value is None else value
        if select.value == target:
            return
        try:
            select.value = target
        except InvalidSelectValueError:
            pass  # a value the list does not offer (a new firmware ...): leave it

    def _text(self, selector: str, value: object, parse: Parser) -> None:
        field = self.query_one(f"#{selector}", Input)
        try:
            current = parse(field.value)
        except ValueError:
            current = object()
        if current != value:
            field.value = "" if value is None else str(value)

    def _show_size(self, layout: Layout, plan: Plan) -> None:
        field = self.query_one("#set-size", Input)
        unit = self.query_one("#set-unit", Select)
        if layout.size_mb is None:
            field.placeholder = f"{plan.disk_bytes >> 20} (estimate)"
            if field.value:
                field.value = ""
            return
        try:
            current = optional_mb(field.value)
        except ValueError:
            current = None
        factor = 1024 if unit.value == "G" else 1
        if current is not None and current * factor == layout.size_mb:
            return
        if layout.size_mb % 1024 == 0:
            unit.value, field.value = "G", str(layout.size_mb // 1024)
        else:
            unit.value, field.value = "M", str(layout.size_mb)

    # --- controls -> SettingsChanged ----------------------------------------
    def _post(self, changes: dict[str, Any], label: str, tag: str) -> None:
        if self.shown_layout is None:
            return  # the controls announce their first values on mount: not edits
        self.query_one("#settings-problem", Static).update("")
        self.post_message(self.Changed(changes, label, tag))

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.value != event.select.value:
            return  # stale: posted before show() set the control (e.g. on mount)
        value = None if event.value is Select.NULL else event.value
        select_id = event.select.id
        if select_id == "set-firmware":
            self._post({"firmware": value}, f"firmware {value}", "firmware")
        elif select_id == "set-table":
            self._post({"efiparttable": value}, f"table {value}", "table")
        elif select_id == "set-rootfs":
            self._post({"filesystem": value}, f"root filesystem {value}", "rootfs")
        elif select_id == "set-bootfs":
            self._post({"bootfilesystem": value}, f"boot filesystem {value or 'as root'}", "bootfs")
        elif select_id == "set-unit":
            self._size_changed()

    @on(Checkbox.Changed)
    def _checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        if event.value != event.checkbox.value:
            return  # stale
        value = event.value
        names = {"set-bootpart": ("bootpartition", "boot partition"),
                 "set-extended": ("dosparttable_extended_layout", "msdos extended layout"),
                 "set-resize": ("oem_resize", "oem-resize"),
                 "set-swap": ("oem_swap", "oem-swap"),
                 "set-spare-last": ("spare_part_is_last", "spare last")}
        field, label = names[event.checkbox.id or ""]
        self._post({field: value}, f"{label} {'on' if value else 'off'}", field)

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if event.value != event.input.value:
            return  # stale
        problem = self.query_one("#settings-problem", Static)
        result = event.validation_result
        if result is not None and not result.is_valid:
            label = event.input.id or ""
            label = TEXT_FIELDS[label][2] if label in TEXT_FIELDS else "disk size"
            problem.update(f"{label}: {'; '.join(result.failure_descriptions)}")
            return
        if event.input.id == "set-size":
            self._size_changed()
            return
        field, parse, label = TEXT_FIELDS[event.input.id or ""]
        value = parse(event.value)
        shown = "unset" if value is None else event.value
        self._post({field: value}, f"{label} {shown}", field)

    def _size_changed(self) -> None:
        text = self.query_one("#set-size", Input).value
        try:
            number = optional_mb(text)
        except ValueError:
            return
        unit = self.query_one("#set-unit", Select).value
        size = None if number is None else number * (1024 if unit == "G" else 1)
        shown = "estimated" if size is None else f"{number}{unit}"
        self._post({"size_mb": size}, f"disk size {shown}", "size_mb")
