"""The partwright designer: a Textual app over an undoable Layout.

The app keeps one immutable `Session` (the Layout and its history). Every edit
makes a new Session and re-plans at once (the planner is pure and fast); the
main screen renders the Plan. Widgets post messages; only the app changes
the Session. Files go through the engine's XML writer (tui.backend), builds
through the image engine in a worker (tui.screens.build).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from textual import on
from textual.app import App, SystemCommand
from textual.reactive import reactive
from textual.screen import Screen

from engine.layout.example import EXAMPLE_LAYOUT
from engine.layout.model import Layout
from engine.plan.model import Plan
from engine.plan.planner import plan as make_plan
from tui import backend, edits
from tui.files import FileActions
from tui.keys import KEYS, bindings
from tui.messages import EditRequested, PartitionChosen, SettingsChanged
from tui.screens.build import BuildScreen
from tui.screens.dialogs import ConfirmQuit, HelpScreen
from tui.screens.form import FormResult, PartitionForm
from tui.screens.main import MainScreen
from tui.state import Session
from tui.widgets.diagnostics import Diagnostics
from tui.widgets.partition_list import PartitionList
from tui.widgets.plan_table import PlanTable

# actions that only make sense on the main screen (not under a modal)
MAIN_ONLY = {"add", "delete", "edit", "clones", "move", "undo", "redo", "save", "export",
             "build", "settings", "table", "diagnostics", "help", "quit"}


class PartwrightApp(FileActions, App[None]):
    CSS_PATH = "partwright.tcss"
    TITLE = "partwright"
    BINDINGS = bindings()

    # the one piece of state: the Layout and its history, an immutable value;
    # every new value is re-planned and shown (watch_session)
    session: reactive[Session] = reactive(Session.start(EXAMPLE_LAYOUT), init=False,
                                          always_update=True)

    def __init__(
        self,
        layout: Layout | None = None,
        *,
        path: str | Path | None = None,
        description: Any | None = None,
        builder: Callable[..., Any] | None = None,
    ) -> None:
        super().__init__()
        if layout is None:
            layout = description.layout if description is not None else EXAMPLE_LAYOUT
        if description is None and path is None:
            description = backend.example_description()
        self.path: Path | None = Path(path) if path is not None else None
        self.description = description
        self.builder = builder
        self.plan: Plan = make_plan(layout)
        self.selected: str | None = None
        self._history_shown: tuple[bool, bool] | None = None
        self._main: MainScreen | None = None
        self.set_reactive(PartwrightApp.session, Session.start(layout))

    @classmethod
    def open(cls, path: str | Path, profile: str | None = None, **kwargs: Any) -> PartwrightApp:
        """The designer on a description file (raises DescriptionError)."""
        description = backend.load(path, profile=profile)
        return cls(description.layout, path=path, description=description, **kwargs)

    # --- state ---------------------------------------------------------------
    @property
    def layout(self) -> Layout:
        return self.session.layout

    def watch_session(self, session: Session) -> None:
        self.plan = make_plan(session.layout)  # pure and fast: synchronously, every edit
        if self._main is not None:
            self.render_plan()

    async def on_mount(self) -> None:
        main = MainScreen()
        main.xml_source = self.xml_text
        await self.push_screen(main)
        self._main = main
        self.theme_changed_signal.subscribe(self, lambda _theme: self.render_plan())
        first = main.query_one(PartitionList)
        self.selected = "root"
        rows = [key for key in ("boot", *[p.name for p in self.layout.partitions], "root")
                if self.plan.entry(key)]
        if rows:
            self.selected = rows[0]
        self.render_plan()
        first.focus()

    @property
    def main(self) -> MainScreen:
        """The designer's screen (there from mount on)."""
        assert self._main is not None, "the app is not mounted"
        return self._main

    def render_plan(self) -> None:
        self.main.show(self.layout, self.plan, self.selected)
        self.update_title()
        # the footer greys undo/redo out; re-drawing it costs, so only when that changes
        history = (self.session.can_undo, self.session.can_redo)
        if history != self._history_shown:
            self._history_shown = history
            self.refresh_bindings()

    def update_title(self) -> None:
        # only what changes rarely: a new header title re-lays the screen out
        name = self.path.name if self.path is not None else "example"
        title = f"partwright — {name}{' [modified]' if self.session.dirty else ''}"
        sub_title = str(self.path.parent) if self.path is not None else "built-in"
        if (title, sub_title) != (self.title, self.sub_title):
            self.title, self.sub_title = title, sub_title

    def set_session(self, session: Session, select: str | None = None) -> None:
        if select is not None:
            self.selected = select
        self.session = session

    def apply(self, edit: edits.Edit, tag: str | None = None) -> None:
        self.set_session(self.session.edit(edit.layout, edit.label, tag), edit.select)

    def current_key(self) -> str | None:
        """The row the user is on: the focused table's cursor, else the last chosen."""
        focused = self.focused
        if isinstance(focused, PlanTable | PartitionList):
            key = focused.current_key
            if key is not None and self.plan.entry(key) is not None:
                if isinstance(focused, PartitionList) and self.selected and \
                        edits.origin_key(self.plan, self.selected) == key:
                    return self.selected  # a clone chosen elsewhere: its row is the origin's
                return key
            if isinstance(focused, PartitionList) and key is not None:
                return key
        return self.selected

    def refuse(self, message: str) -> None:
        self.notify(message, severity="warning", timeout=4)

    # --- messages from the widgets -----------------------------------------------
    @on(PartitionChosen)
    def _chosen(self, message: PartitionChosen) -> None:
        key = message.key
        self.selected = key
        self.main.select(key)
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
        self.selected = message.key
        self.action_edit()

    @on(SettingsChanged)
    def _settings_changed(self, message: SettingsChanged) -> None:
        layout = self.layout.with_changes(**self.normalised(message.changes))
        self.set_session(self.session.edit(layout, message.label, message.tag))

    def normalised(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Keep a field unset when the description had it unset and the value
        set is what KIWI does anyway (so a save does not add it)."""
        out = dict(changes)
        for field, value in changes.items():
            if value is None or getattr(self.session.saved, field, None) is not None:
                continue
            explicit = make_plan(self.layout.with_changes(**{**out, field: value}))
            unset = make_plan(self.layout.with_changes(**{**out, field: None}))
            if (explicit.entries, explicit.partids, explicit.disk_sectors) == (
                    unset.entries, unset.partids, unset.disk_sectors):
                out[field] = None
        return out

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
        after = edits.custom_name(self.layout, self.plan, self.current_key() or "")
        name = edits.new_partition_name(self.layout)
        taken = {p.name for p in self.layout.partitions}
        values = {"name": name, "size": "1G", "mountpoint": f"/{name}", "filesystem": "ext4",
                  "clones": 0}

        def done(result: FormResult | None) -> None:
            if result is None or result.partition is None:
                return
            try:
                self.apply(edits.add_partition(self.layout, result.partition, after))
            except edits.EditRefused as exc:
                self.refuse(str(exc))

        self.push_screen(PartitionForm("custom", values, taken, "Add a partition"), done)

    def action_edit(self) -> None:
        key = self.current_key() or ""
        origin = edits.origin_key(self.plan, key)
        part = self.layout.partition(origin)
        if part is not None:
            self._edit_custom(part)
        elif origin == "boot":
            values = {"size": self.layout.bootpartsize, "filesystem": self.layout.bootfilesystem,
                      "clones": self.layout.boot_clone}
            self.push_screen(PartitionForm("boot", values, title="The boot partition"),
                             self._form_done)
        elif origin in edits.ROOT_KEYS:
            values = {"size": self.layout.oem_systemsize, "filesystem": self.layout.filesystem,
                      "clones": self.layout.root_clone}
            self.push_screen(PartitionForm("root", values, title="The root partition"),
                             self._form_done)
        else:
            self.refuse(f"{edits.row_title(self.plan, key)} follows the type settings"
                        " (firmware, swap, spare): change it there (key s)")

    def _edit_custom(self, part: Any) -> None:
        taken = {p.name for p in self.layout.partitions} - {part.name}
        values = {"name": part.name, "size": part.size_mb, "mountpoint": part.mountpoint,
                  "filesystem": part.filesystem, "clones": part.clone,
                  "partition_name": part.partition_name, "label": part.label}

        def done(result: FormResult | None) -> None:
            if result is None or result.partition is None:
                return
            new = edits.keep_partition_fields(part, result.partition)
            try:
                self.apply(edits.replace_partition(self.layout, part.name, new))
            except edits.EditRefused as exc:
                self.refuse(str(exc))

        self.push_screen(PartitionForm("custom", values, taken, f"Edit {part.name}"), done)

    def _form_done(self, result: FormResult | None) -> None:
        if result is None:
            return
        if result.kind == "boot":
            self.apply(edits.edit_boot(self.layout, result.size_mb, result.filesystem,
                                       result.clones))
        elif result.kind == "root":
            self.apply(edits.edit_root(self.layout, result.size_mb, result.filesystem,
                                       result.clones))

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
        self.push_screen(BuildScreen(self.plan, builder, f"{stem}.raw"))

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
        if not self.session.dirty:
            self.exit()
            return
        name = self.path.name if self.path is not None else "The example"

        def done(choice: str | None) -> None:
            if choice == "quit":
                self.exit()
            elif choice == "save":
                self.action_save(then_quit=True)

        self.push_screen(ConfirmQuit(name), done)

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
