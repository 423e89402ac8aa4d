"""The Updater tab: the files the chosen updater needs for the layout, live.

The user picks a target (RAUC, SWUpdate, Mender, systemd-repart,
systemd-sysupdate) and how its slots name their devices (the GPT partition
name, or the disk's device plus the partition number). The engine writes the
files (engine.targets.export_target, in memory); this view shows them, one
after the other, and hands the export's diagnostics to the diagnostics pane.
With an error there are no files: the view says so and the pane says why.
Nothing is chosen at first, and then nothing is computed.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.syntax import Syntax
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, Select, Static

from engine.errors import PartwrightError
from engine.plan.model import Plan
from engine.targets import TARGETS, Naming, Options, TargetExport, TargetName, export_target
from engine.targets.slots import check_disk

TITLES: dict[TargetName, str] = {
    "rauc": "RAUC", "swupdate": "SWUpdate", "mender": "Mender", "repart": "systemd-repart",
    "sysupdate": "systemd-sysupdate",
}
NAMINGS = (("partition name", "partlabel"), ("disk + number", "disk"))
DEFAULT_DISK = "/dev/sda"


def lexer(path: str) -> str:
    """A highlighter for a target file by its name."""
    name = path.rsplit("/", 1)[-1]
    if name.endswith(".cfg"):
        return "bash"
    if name == "sw-description":
        return "javascript"  # libconfig: braces, "strings", key = value;
    if name.endswith((".conf", ".transfer")) or name.endswith("mender.conf"):
        return "ini"
    return "text"


class TargetView(Vertical):
    """The target and naming choices above the files of the export."""

    class Changed(Message):
        """The user chose another target or naming: the screen exports again."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.target: TargetName | None = None
        self.scheme = "partlabel"
        self.disk = DEFAULT_DISK
        self.problem: str | None = None  # the disk field's text is no device path
        self.export: TargetExport | None = None
        self._drawn: object = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="target-choices"):
            yield Label("Target", classes="target-label")
            yield Select([(TITLES[t], t) for t in TARGETS], prompt="choose an updater",
                         id="target-name", compact=True)
            yield Label("Devices", classes="target-label")
            yield Select(NAMINGS, value="partlabel", allow_blank=False, id="target-naming",
                         compact=True)
            yield Input(DEFAULT_DISK, id="target-disk", compact=True, disabled=True)
        with VerticalScroll(id="target-scroll"):
            yield Static(id="target-files")

    @property
    def options(self) -> Options | None:
        """What the engine is asked for (None: no target chosen yet)."""
        if self.target is None:
            return None
        if self.scheme == "disk" and self.problem is None:
            return Options(self.target, Naming("disk", self.disk))
        return Options(self.target)

    def update(self, plan: Plan) -> TargetExport | None:
        """Export `plan` to the chosen target (the engine answers); None when
        none is chosen. The files are drawn when the tab is shown."""
        options = self.options
        self.export = None if options is None else export_target(plan, options)
        return self.export

    def paint(self) -> None:
        """Draw the files of the last export (when they changed)."""
        export = self.export
        drawn = (export, self.problem if self.scheme == "disk" else None, self.app.current_theme.dark if self.app.current_theme else True)
        if drawn == self._drawn:
            return
        self._drawn = drawn
        self.query_one("#target-files", Static).update(self._files(export))

    def _files(self, export: TargetExport | None) -> RenderableType:
        if export is None:
            return Text("Choose the updater that uses the clones: its configuration for this"
                        " layout appears here and follows every edit.", style="italic")
        parts: list[RenderableType] = []
        if self.problem is not None and self.scheme == "disk":
            parts.append(Text(f"{self.problem}; the slots are named by partition name",
                              style="italic"))
        if not export.files:
            parts.append(Text(f"No files: {TITLES[export.target]} cannot use this layout as it"
                              " is. The diagnostics say why.", style="italic"))
        dark = self.app.current_theme.dark if self.app.current_theme else True
        for f in export.files:
            parts.append(Rule(Text(f.path, style="bold"), align="left", style="dim"))
            parts.append(Syntax(f.text.rstrip("\n"), lexer(f.path), word_wrap=False,
                                theme="ansi_dark" if dark else "ansi_light",
                                background_color="default"))
        return Group(*parts)

    @on(Select.Changed, "#target-name")
    def _target(self, event: Select.Changed) -> None:
        event.stop()
        value = event.value
        self.target = value if isinstance(value, str) and value in TARGETS else None
        self.post_message(self.Changed())

    @on(Select.Changed, "#target-naming")
    def _naming(self, event: Select.Changed) -> None:
        event.stop()
        self.scheme = str(event.value)
        self.query_one("#target-disk", Input).disabled = self.scheme != "disk"
        self.post_message(self.Changed())

    @on(Input.Changed, "#target-disk")
    def _disk(self, event: Input.Changed) -> None:
        event.stop()
        try:
            self.disk, self.problem = check_disk(event.value.strip()), None
        except PartwrightError as exc:
            self.problem = str(exc).replace("--disk ", "", 1)
        self.post_message(self.Changed())

