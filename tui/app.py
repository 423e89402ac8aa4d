"""The partwright designer: a Textual app over an undoable Layout.

The app keeps one immutable `Session` (the Layout and its history). Every edit
makes a new Session and re-plans at once (the planner is pure and fast); the
main screen renders the Plan. Widgets post messages; only the app changes
the Session. The file is a composed `Document` (tui.document: the engine's
lossless XML writer, atomic); builds go through the image engine in a worker
(tui.screens.build).
"""

from __future__ import annotations

import asyncio
import gc
import signal
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from textual import on
from textual.app import App, SystemCommand
from textual.reactive import Reactive, reactive
from textual.screen import Screen

from engine.layout.example import EXAMPLE_LAYOUT
from engine.layout.model import Layout
from engine.plan.model import Plan
from engine.plan.planner import plan as make_plan
from tui import backend, edits
from tui.document import Document
from tui.file_actions import FileActions
from tui.keys import KEYS, bindings
from tui.messages import EditRequested, PartitionChosen
from tui.screens.build import BuildChoices, Builder, BuildScreen
from tui.screens.dialogs import ConfirmQuit, HelpScreen, QuitChoice
from tui.screens.form import PartitionForm
from tui.screens.main import MainScreen
from tui.state import Session
from tui.widgets.diagnostics import Diagnostics
from tui.widgets.keyed_table import KeyedTable
from tui.widgets.partition_list import PartitionList
from tui.widgets.settings import Settings

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

# actions that only make sense on the main screen (not under a modal)
MAIN_ONLY = {"add", "delete", "edit", "clones", "move", "undo", "redo", "save", "export",
             "build", "settings", "table", "diagnostics", "help", "quit"}


class PartwrightApp(App[None]):
    CSS_PATH = "partwright.tcss"
    TITLE = "partwright"
    BINDINGS = bindings()

    # the one piece of state: the Layout and its history, an immutable value;
    # every new value is re-planned and shown (watch_session)
    session: reactive[Session] = reactive(Session.start(EXAMPLE_LAYOUT), init=False,
                                          always_update=True, repaint=False)
    # App's title repaints the whole screen when it changes; here only the
    # title bar (it watches them) repaints
    title: Reactive[str] = Reactive("", compute=False, repaint=False)
    sub_title: Reactive[str] = Reactive("", compute=False, repaint=False)

    def __init__(self, layout: Layout | None = None, *, document: Document | None = None,
                 builder: Builder | None = None, stop_on_signals: bool = False) -> None:
        super().__init__()
        self.stop_on_signals = stop_on_signals  # SIGINT, SIGTERM, SIGHUP end the app
        self._stopped = 0  # 128 + the stop signal received
        if stop_on_signals and threading.current_thread() is threading.main_thread():
            # from now on, not only once the loop runs (asyncio would turn an
            # early SIGINT into a cancelled start-up that never ends the app)
            for signum in STOP_SIGNALS:
                signal.signal(signum, self._early_signal)
        self.document = document if document is not None else Document.example()
        self.files = FileActions(self, self.document, lambda: self.layout, self._saved,
                                 self._reloaded)
        if layout is None:
            description = self.document.description
            layout = description.layout if description is not None else EXAMPLE_LAYOUT
        self.builder = builder
        self.build_choices: BuildChoices | None = None  # what the build dialog was last given
        self.plan: Plan = make_plan(layout)
        self._history_shown: tuple[bool, bool] | None = None
        self._main: MainScreen | None = None
        self._frozen = False  # the objects there at mount are out of the collector's way
        self.set_reactive(PartwrightApp.session, Session.start(layout))

    @classmethod
    def open(cls, path: str | Path, profile: str | None = None, builder: Builder | None = None,
             stop_on_signals: bool = False) -> PartwrightApp:
        """The designer on a description file, or on a new description at a path
        that does not exist yet (raises DescriptionError)."""
        return cls(document=Document.open_or_new(path, profile=profile), builder=builder,
                   stop_on_signals=stop_on_signals)

    def on_load(self) -> None:
        if not self.stop_on_signals:
            return
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, self._stop, signum)

    def _early_signal(self, signum: int, _frame: object) -> None:
        """A stop signal before on_load hands them to the loop: kept, and given
        to the loop when one runs (on_mount ends the app once it is drawn)."""
        self._stopped = 128 + signum
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.call_soon_threadsafe(self._stop, signum)

    def _stop(self, signum: int) -> None:
        """A stop signal: end the app (the terminal restored), 128 + the signal, once
        the main screen is there and a running build has cleaned up (its tool killed)."""
        self._stopped = 128 + signum
        building = [s for s in self.screen_stack if isinstance(s, BuildScreen) and s.running]
        if building:  # one at most: a modal over the main screen
            building[0].stop(then=lambda: self.exit(return_code=self._stopped))
        elif self._main is not None:
            self.exit(return_code=self._stopped)

    @classmethod
    def new(cls, layout: Layout, path: str | Path, stop_on_signals: bool = False) -> PartwrightApp:
        """The designer on `layout` (an imported disk's) as a new description at `path`."""
        return cls(layout, document=Document.new(path), stop_on_signals=stop_on_signals)

    # --- state ---------------------------------------------------------------
    @property
    def layout(self) -> Layout:
        return self.session.layout

    @property
    def path(self) -> Path | None:
        """The description's file (None for the built-in example)."""
        return self.document.path

    @property
    def selected(self) -> str | None:
        """The selected partition: the main screen's one selection."""
        return self.main.selected

    def watch_session(self, session: Session) -> None:
        self.plan = make_plan(session.layout)  # pure and fast: synchronously, every edit
        if self._main is not None:
            self.render_plan()

    async def on_mount(self) -> None:
        main = MainScreen()
        main.xml_source = lambda: self.document.xml_text(self.layout)
        await self.push_screen(main)
        self._main = main
        self.theme_changed_signal.subscribe(self, lambda _theme: self.render_plan())
        rows = [key for key in ("boot", *[p.name for p in self.layout.partitions], "root")
                if self.plan.entry(key)]
        main.selected = rows[0] if rows else "root"
        self.render_plan()
        main.query_one(PartitionList).focus()
        # the objects of the app as drawn live as long as it: kept out of the
        # garbage collector's full passes, which would otherwise walk all of
        # them (tens of milliseconds) in the middle of a keypress now and then
        gc.freeze()
        self._frozen = True
        if self._stopped:
            self.exit(return_code=self._stopped)

    def on_unmount(self) -> None:
        if self._frozen:
            gc.unfreeze()  # collectable again once the app is gone
            self._frozen = False

    @property
    def main(self) -> MainScreen:
        """The designer's screen (there from mount on)."""
        assert self._main is not None, "the app is not mounted"
        return self._main

    def render_plan(self) -> None:
        self.main.show(self.layout, self.plan)
        self.update_title()
        # the footer greys undo/redo out; re-drawing it costs, so only when that changes
        history = (self.session.can_undo, self.session.can_redo)
        if history != self._history_shown:
            self._history_shown = history
            self.refresh_bindings()

    def update_title(self) -> None:
        # only what changes rarely: a new header title re-lays the screen out
        modified = " [modified]" if self.session.dirty else ""
        details = f" · {self.document.details}" if self.document.details else ""
        title = f"partwright — {self.document.name}{details}{modified}"
        sub_title = self.document.where
        if (title, sub_title) != (self.title, self.sub_title):
            self.title, self.sub_title = title, sub_title

    def set_session(self, session: Session, select: str | None = None) -> None:
        if select is not None:
            self.main.selected = select
        self.session = session

    def apply(self, edit: edits.Edit, tag: str | None = None) -> None:
        self.set_session(self.session.edit(edit.layout, edit.label, tag), edit.select)

    def current_key(self) -> str | None:
        """The partition the user is on: the selection, unless the focused view's
        cursor has moved on and its message has not arrived yet (keys in a burst)."""
        focused = self.focused
        if isinstance(focused, KeyedTable) and focused.moved_on is not None:
            return focused.moved_on
        return self.main.selected

    def refuse(self, message: str) -> None:
        self.notify(message, severity="warning", timeout=4)

    # --- messages from the widgets -----------------------------------------------
    @on(PartitionChosen)
    def _chosen(self, message: PartitionChosen) -> None:
        key = message.key
        self.main.selected = key
        if self.plan.entry(key) is not None:
            if message.focus_table:
                self.main.focus_table()
            return
        # a partition KIWI fails before creating: the table has no row for it
        self.main.query_one(PartitionList).focus()
        self.notify(f"{key} is not in the table: KIWI fails before creating it"
                    " (see Diagnostics)", timeout=4)

    @on(EditRequested)
    def _edit_requested(self, message: EditRequested) -> None:
        self.main.selected = message.key
        self.action_edit()

    @on(Settings.Changed)
    def _settings_changed(self, message: Settings.Changed) -> None:
        changes = edits.keep_unset(self.layout, self.session.saved, message.changes)
        layout = self.layout.with_changes(**changes)
        self.set_session(self.session.edit(layout, message.label, message.tag))

    # --- actions ---------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MAIN_ONLY and not isinstance(self.screen, MainScreen):
            return False
        if action == "undo" and not self.session.can_undo:
            return None
        if action == "redo" and not self.session.can_redo:
            return None
        return True

    def action_clones(self, delta: int) -> None:
        key = self.current_key()
        if key is None:
            return
        try:
            self.apply(edits.change_clones(self.layout, self.plan, key, delta))
        except edits.EditRefused as exc:
            self.refuse(str(exc))

    def action_move(self, delta: int) -> None:
        name = edits.custom_name(self.layout, self.plan, self.current_key() or "")
        if name is None:
            self.refuse("only custom partitions can be reordered: boot and root have fixed places")
            return
        try:
            self.apply(edits.move_partition(self.layout, name, delta))
        except edits.EditRefused as exc:
            self.refuse(str(exc))

    def action_delete(self) -> None:
        key = self.current_key() or ""
        name = edits.custom_name(self.layout, self.plan, key)
        if name is None:
            self.refuse(f"{edits.row_title(self.plan, key)} is not a custom partition;"
                        " only those can be deleted")
            return
        self.apply(edits.delete_partition(self.layout, name))
        self.notify(f"Deleted {name} (ctrl+z brings it back)", timeout=3)

    def action_add(self) -> None:
        self._form(edits.add_request(self.layout, self.plan, self.current_key() or ""))

    def action_edit(self) -> None:
        try:
            request = edits.edit_request(self.layout, self.plan, self.current_key() or "")
        except edits.EditRefused as exc:
            self.refuse(str(exc))
            return
        self._form(request)

    def _form(self, request: edits.FormRequest) -> None:
        def done(result: edits.FormResult | None) -> None:
            if result is None:
                return
            try:
                self.apply(edits.form_edit(self.layout, request, result))
            except edits.EditRefused as exc:
                self.refuse(str(exc))

        self.push_screen(PartitionForm(request), done)

    def action_undo(self) -> None:
        undone = self.session.undo()
        if undone is None:
            self.refuse("nothing to undo")
            return
        session, label = undone
        self.set_session(session)
        self.notify(f"Undid: {label}", timeout=2)

    def action_redo(self) -> None:
        redone = self.session.redo()
        if redone is None:
            self.refuse("nothing to redo")
            return
        session, label = redone
        self.set_session(session)
        self.notify(f"Redid: {label}", timeout=2)

    def action_build(self) -> None:
        try:
            builder = self.builder or backend.builder()
        except backend.NotAvailable as exc:
            self.notify(f"Building is not available: {exc}. The table shows what it will"
                        " write.", title="Build", severity="warning", timeout=6)
            return
        if self.plan.errors:
            self.notify(f"The layout has {len(self.plan.errors)} error(s); KIWI would fail."
                        " Fix them first (see Diagnostics).", title="Build", severity="error")
            return
        stem = self.path.stem if self.path is not None else "example"
        choices = self.build_choices or BuildChoices(f"{stem}.raw")
        reads = (self.path,) if self.path is not None else ()

        def closed(started: BuildChoices | None) -> None:
            if started is not None:
                self.build_choices = started

        self.push_screen(BuildScreen(self.plan, builder, choices, reads), closed)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_settings(self) -> None:
        self.main.toggle_settings()

    def action_table(self) -> None:
        self.main.focus_table()

    def action_diagnostics(self) -> None:
        self.main.remove_class("-show-settings")
        self.main.query_one(Diagnostics).focus()

    def action_toggle_dark(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"
        self.render_plan()

    async def action_quit(self) -> None:
        if not self.session.dirty and not self.document.is_new:
            self.exit()
            return
        name = self.path.name if self.path is not None else "The example"
        if self.document.is_new:
            name += " (a new file, not written yet)"

        def done(choice: QuitChoice | None) -> None:
            if choice == "quit":
                self.exit()
            elif choice == "save":
                self.action_save(then_quit=True)

        self.push_screen(ConfirmQuit(name), done)

    def action_save(self, then_quit: bool = False) -> None:
        self.files.save(then_quit)

    def action_export(self) -> None:
        self.files.export()

    def _saved(self, layout: Layout) -> None:
        self.session = self.session.mark_saved(layout)

    def _reloaded(self, layout: Layout) -> None:
        self.session = self.session.edit(layout, "reload from disk").mark_saved(layout)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if not isinstance(screen, MainScreen):
            return
        for key in KEYS:
            yield SystemCommand(f"{key.title} ({key.display})", key.help,
                                _runner(self, key.action))


def _runner(app: PartwrightApp, action: str) -> Callable[[], Any]:
    async def run() -> None:
        await app.run_action(action)
    return run
