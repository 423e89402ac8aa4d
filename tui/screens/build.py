"""The build screen: options, then the image engine in a thread worker with a
progress bar and a cancel key, then the verify report.

The engine calls `progress(step, done, total)` from the worker thread; the
callback posts a `BuildScreen.Progress` message (thread-safe). A cancel (the
key, or a stop signal to the app) kills the running tool's process group at
once (`engine.host.tools.Stopper`, watching the tools the worker runs) and makes the next
progress report raise `BuildCancelled`; the engine then removes its
`.partial` file as after any failure (the target is left untouched).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, ProgressBar, Select, Static
from textual.worker import Worker, WorkerState, get_current_worker

from engine.host.tools import Stopper, watched
from engine.plan.model import Plan
from tui import backend, look
from tui.keys import FOCUS_KEYS

Builder = Callable[..., Any]  # engine.image.build.build, or a stand-in with its signature
ImageFormat = Literal["raw", "qcow2"]


class BuildCancelled(Exception):
    """Raised from the progress callback once the user cancelled."""


@dataclass(frozen=True)
class BuildChoices:
    """What the dialog was given; the app hands the last ones back next time."""

    output: str
    fmt: ImageFormat = "raw"
    root_tree: str = ""
    seed: str = ""


def same_file(a: Path, b: Path) -> bool:
    """Whether the two paths name one file (a symlink or hard link included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def overwrites_input(output: Path, reads: tuple[Path, ...], root_tree: Path | None) -> str | None:
    """Why writing `output` would destroy something the build reads, or None."""
    for path in reads:
        if same_file(output, path):
            return f"{output} is the description this build reads: choose another output"
    if root_tree is not None:
        root = Path(os.path.realpath(root_tree))
        target = Path(os.path.realpath(output))
        if target == root or root in target.parents:
            return f"{output} is inside the root tree {root_tree}: choose an output outside it"
    return None


def overall(step: str, done: int, total: int, steps: tuple[str, ...]) -> float:
    """The whole build's progress (0..1) from the engine's (step, done, total)."""
    fraction = done / total if total else 1.0
    if step not in steps:
        return fraction
    return min(1.0, (steps.index(step) + fraction) / len(steps))


def report_renderable(report: Any) -> Any:
    """The engine's build report (BuildReport) as a table for people; any other
    result as JSON or text."""
    partitions = getattr(report, "partitions", None)
    if partitions is None:
        if hasattr(report, "to_json"):
            report = report.to_json()
        elif dataclasses.is_dataclass(report) and not isinstance(report, type):
            report = dataclasses.asdict(report)
        if isinstance(report, dict | list):
            return json.dumps(report, indent=1, default=str)
        return "built and verified" if report is None else str(report)
    table = Table(box=None, header_style="bold", pad_edge=False, expand=False)
    for column in ("#", "name", "fs", "label", "UUID", "clone of", "copied"):
        table.add_column(column, no_wrap=True)
    for p in partitions:
        copied = look.human_bytes(p.copied_bytes) if p.clone_of else ""
        table.add_row(str(p.number), p.name or p.key, p.filesystem or "-", p.label or "-",
                      p.uuid or "-", str(p.clone_of or ""), copied)
    checks = getattr(report, "checks", ())
    bad = [c for c in checks if not getattr(c, "ok", True)]
    lines = Text()
    lines.append(f"{report.output}: {look.human_bytes(report.disk_bytes)} {report.format},"
                 f" {look.human_bytes(report.allocated_bytes)} allocated, {report.seconds:.2f} s\n")
    if bad:
        lines.append(f"{len(bad)} of {len(checks)} filesystem checks failed: "
                     + "; ".join(f"{c.number} {c.tool}: {c.detail}" for c in bad) + "\n",
                     style="bold red")
    else:
        lines.append(f"table read back equal to the plan; {len(checks)} filesystems checked"
                     " clean; no two partitions share a UUID or PARTUUID\n")
    for warning in getattr(report, "warnings", ()):
        lines.append(f"warning: {warning}\n", style="yellow")
    lines.append(f"/config.partids written to {report.partids_path}")
    return Group(lines, Text(""), table)


class BuildScreen(ModalScreen[BuildChoices | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel / close"), *FOCUS_KEYS]

    class Progress(Message):
        """The engine's progress report, from the worker thread."""

        def __init__(self, step: str, done: int, total: int) -> None:
            super().__init__()
            self.step, self.done, self.total = step, done, total

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, BuildScreen.Progress) and message.step == self.step

    def __init__(self, plan: Plan, builder: Builder, choices: BuildChoices,
                 reads: tuple[Path, ...] = ()) -> None:
        super().__init__()
        self.plan = plan
        self.builder = builder
        self.choices = choices
        self.reads = reads  # the files the build reads: never an output
        self.started: BuildChoices | None = None  # what the last build started with
        self.running = False
        self.cancelled = False
        self.tools = Stopper()
        self._then: Callable[[], object] | None = None  # called once a stopped build has ended
        self.result: Any = None
        self.error: str | None = None
        self.steps: tuple[str, ...] = ()
        self._replace: str | None = None  # an existing output the user agreed to replace

    def compose(self) -> ComposeResult:
        with Vertical(id="build", classes="dialog"):
            plan = self.plan
            yield Static(f"Build the disk image: {look.human_bytes(plan.disk_bytes)}, {plan.table},"
                         f" {len(plan.entries)} partitions", classes="dialog-title")
            with Vertical(id="build-options"):
                with Horizontal(classes="form-row"):
                    yield Label("output", classes="form-label")
                    yield Input(self.choices.output, id="build-output", compact=True)
                with Horizontal(classes="form-row"):
                    yield Label("format", classes="form-label")
                    yield Select([("raw", "raw"), ("qcow2", "qcow2")], value=self.choices.fmt,
                                 allow_blank=False, id="build-format", compact=True)
                with Horizontal(classes="form-row"):
                    yield Label("root tree", classes="form-label")
                    yield Input(self.choices.root_tree, placeholder="directory (optional)",
                                id="build-root", compact=True)
                with Horizontal(classes="form-row"):
                    yield Label("seed", classes="form-label")
                    yield Input(self.choices.seed,
                                placeholder="text: same seed, same bytes (optional)",
                                id="build-seed", compact=True)
                yield Static("", id="build-problem")
            with Vertical(id="build-run"):
                yield Static("", id="build-step")
                yield ProgressBar(id="build-progress", show_eta=False)
            with VerticalScroll(id="build-report"):
                yield Static("", id="build-report-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Build", id="build-start", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="build-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#build-run").display = False
        self.query_one("#build-report").display = False
        self.query_one("#build-output", Input).focus()

    @on(Button.Pressed, "#build-start")
    @on(Input.Submitted)
    def _start(self) -> None:
        if self.running:
            return
        output = Path(self.query_one("#build-output", Input).value.strip()).expanduser()
        root = self.query_one("#build-root", Input).value.strip()
        problem = self.query_one("#build-problem", Static)
        if not output.name or output.is_dir():
            problem.update("give an image file path")
            return
        if not output.parent.is_dir():
            problem.update(f"the directory {output.parent} does not exist")
            return
        if root and not Path(root).is_dir():
            problem.update(f"{root} is not a directory")
            return
        refused = overwrites_input(output, self.reads, Path(root) if root else None)
        if refused is not None:
            problem.update(refused)
            return
        if output.exists() and self._replace != str(output):
            self._replace = str(output)
            problem.update(f"{output} exists: Build again to replace it")
            return
        fmt: ImageFormat = "qcow2" if self.query_one("#build-format", Select).value == "qcow2" \
            else "raw"
        seed = self.query_one("#build-seed", Input).value
        self.started = BuildChoices(str(output), fmt, root, seed)
        self.start(output, fmt=fmt, root_tree=Path(root) if root else None, seed=seed or None)

    def start(self, output: Path, fmt: ImageFormat = "raw", root_tree: Path | None = None,
              seed: str | None = None) -> None:
        self.running = True
        self.steps = tuple(s for s in backend.build_steps() if fmt == "qcow2" or s != "convert")
        self.query_one("#build-options").display = False
        self.query_one("#build-run").display = True
        self.query_one("#build-start").display = False
        self.query_one("#build-step", Static).update(f"building {output} ({fmt}) ...")
        self.query_one("#build-cancel", Button).label = "Cancel (esc)"
        self._build(output, fmt, root_tree, seed)

    @work(thread=True, exclusive=True, exit_on_error=False, group="build")
    def _build(self, output: Path, fmt: ImageFormat, root_tree: Path | None, seed: str | None) -> Any:
        worker = get_current_worker()

        def progress(step: str, done: int, total: int) -> None:
            # the last report says the image is in place: too late to refuse it
            complete = step == "finish" and done >= total
            if (self.cancelled or worker.is_cancelled) and not complete:
                raise BuildCancelled()
            self.post_message(self.Progress(step, done, total))

        with watched(self.tools):
            return self.builder(self.plan, str(output), fmt=fmt,
                                root_tree=str(root_tree) if root_tree is not None else None,
                                seed=seed, progress=progress)

    def stop(self, then: Callable[[], object] | None = None) -> None:
        """Cancel the build: the running tool is killed with its process group
        now (the engine then cleans up as after any failure), other work stops
        at its next progress report; `then` is called once it has ended."""
        self._then = then
        self.cancelled = True
        self.tools.stop()

    def on_build_screen_progress(self, message: BuildScreen.Progress) -> None:
        bar = self.query_one("#build-progress", ProgressBar)
        share = overall(message.step, message.done, message.total, self.steps)
        bar.update(total=1000, progress=round(share * 1000))
        self.query_one("#build-step", Static).update(
            f"{message.step}  {message.done}/{message.total}")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "build":
            return
        state = event.state
        if state == WorkerState.SUCCESS:
            self._finish(report_renderable(event.worker.result), ok=True)
        elif state == WorkerState.ERROR:
            error = event.worker.error
            if isinstance(error, BuildCancelled) or self.cancelled:  # a killed tool's failure
                self._finish("Cancelled: the image was not written.", ok=False)
            else:
                message = getattr(error, "message", None) or str(error) or type(error).__name__
                self._finish(f"The build failed: {message}", ok=False)

    def _finish(self, shown: Any, ok: bool) -> None:
        self.running = False
        if self._then is not None:
            self._then()
        if ok:
            self.result = shown
            self.query_one("#build-progress", ProgressBar).update(total=1000, progress=1000)
        else:
            self.error = str(shown)
        self.query_one("#build-step", Static).update(
            Text("Built and verified." if ok else str(shown), style="bold" if ok else "bold red"))
        self.query_one("#build-report").display = ok
        self.query_one("#build-report-text", Static).update(shown if ok else "")
        self.query_one("#build-cancel", Button).label = "Close (esc)"

    @on(Button.Pressed, "#build-cancel")
    def action_cancel(self) -> None:
        if self.running:
            # the running tool is killed; the engine removes its .partial file
            self.stop()
            self.query_one("#build-step", Static).update("cancelling ...")
            return
        self.dismiss(self.started)
