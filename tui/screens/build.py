"""The build screen: options, then the image engine in a thread worker with a
progress bar and a cancel key, then the verify report.

The engine calls `progress(step, done, total)` from the worker thread; the
callback posts a `Progress` message (thread-safe) and, once the user has
cancelled, raises `BuildCancelled` so the engine stops and removes its
`.partial` file (it leaves the target untouched on any failure).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, ProgressBar, Select, Static
from textual.worker import Worker, WorkerState, get_current_worker

from engine.plan import Plan


class BuildCancelled(Exception):
    """Raised from the progress callback once the user cancelled."""


class Progress(Message):
    def __init__(self, step: str, done: int, total: int) -> None:
        super().__init__()
        self.step, self.done, self.total = step, done, total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Progress) and message.step == self.step


def report_text(result: Any) -> str:
    """The engine's verify report, whatever its shape, as text."""
    if result is None:
        return "built and verified"
    if hasattr(result, "to_json"):
        result = result.to_json()
    elif dataclasses.is_dataclass(result) and not isinstance(result, type):
        result = dataclasses.asdict(result)
    if isinstance(result, dict | list):
        return json.dumps(result, indent=1, default=str)
    return str(result)


class BuildScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel / close")]

    def __init__(self, plan: Plan, builder: Callable[..., Any], output: str) -> None:
        super().__init__()
        self.plan = plan
        self.builder = builder
        self.output = output
        self.running = False
        self.cancelled = False
        self.result: Any = None
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="build", classes="dialog"):
            yield Static("Build the disk image", classes="dialog-title")
            with Vertical(id="build-options"):
                with Horizontal(classes="form-row"):
                    yield Label("output", classes="form-label")
                    yield Input(self.output, id="build-output", compact=True)
                with Horizontal(classes="form-row"):
                    yield Label("format", classes="form-label")
                    yield Select([("raw", "raw"), ("qcow2", "qcow2")], value="raw",
                                 allow_blank=False, id="build-format", compact=True)
                with Horizontal(classes="form-row"):
                    yield Label("root tree", classes="form-label")
                    yield Input(placeholder="directory (optional)", id="build-root", compact=True)
                with Horizontal(classes="form-row"):
                    yield Label("seed", classes="form-label")
                    yield Input(placeholder="text: same seed, same bytes (optional)",
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
        fmt = str(self.query_one("#build-format", Select).value)
        seed = self.query_one("#build-seed", Input).value or None
        self.start(output, fmt=fmt, root_tree=Path(root) if root else None, seed=seed)

    def start(self, output: Path, fmt: str = "raw", root_tree: Path | None = None,
              seed: str | None = None) -> None:
        self.running = True
        self.query_one("#build-options").display = False
        self.query_one("#build-run").display = True
        self.query_one("#build-start").display = False
        self.query_one("#build-step", Static).update(f"building {output} ({fmt}) ...")
        self.query_one("#build-cancel", Button).label = "Cancel (esc)"
        self._build(output, fmt, root_tree, seed)

    @work(thread=True, exclusive=True, exit_on_error=False, group="build")
    def _build(self, output: Path, fmt: str, root_tree: Path | None, seed: str | None) -> Any:
        worker = get_current_worker()

        def progress(step: str, done: int, total: int) -> None:
            if self.cancelled or worker.is_cancelled:
                raise BuildCancelled()
            self.post_message(Progress(step, done, total))

        return self.builder(self.plan, output, fmt=fmt, root_tree=root_tree, seed=seed,
                            progress=progress)

    def on_progress(self, message: Progress) -> None:
        bar = self.query_one("#build-progress", ProgressBar)
        bar.update(total=max(message.total, 1), progress=message.done)
        self.query_one("#build-step", Static).update(
            f"{message.step}  ({message.done}/{message.total})")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "build":
            return
        state = event.state
        if state == WorkerState.SUCCESS:
            self._finish(report_text(event.worker.result), ok=True)
        elif state == WorkerState.ERROR:
            error = event.worker.error
            if isinstance(error, BuildCancelled):
                self._finish("Cancelled: the image was not written.", ok=False)
            else:
                message = getattr(error, "message", None) or str(error) or type(error).__name__
                self._finish(f"The build failed: {message}", ok=False)

    def _finish(self, text: str, ok: bool) -> None:
        self.running = False
        if ok:
            self.result = text
            bar = self.query_one("#build-progress", ProgressBar)
            bar.update(total=bar.total or 1, progress=bar.total or 1)
        else:
            self.error = text
        self.query_one("#build-step", Static).update(
            Text("Built and verified." if ok else text, style="bold" if ok else "bold red"))
        self.query_one("#build-report").display = ok
        self.query_one("#build-report-text", Static).update(text if ok else "")
        self.query_one("#build-cancel", Button).label = "Close (esc)"

    @on(Button.Pressed, "#build-cancel")
    def action_cancel(self) -> None:
        if self.running:
            # the engine stops at its next progress report and removes its .partial file
            self.cancelled = True
            self.query_one("#build-step", Static).update("cancelling at the next step ...")
            return
        self.dismiss(None)
