"""The designer's main screen: settings, partition list, table (and partids,
XML, Diff, Updater tabs), disk map, diagnostics. It lays the widgets out and hands them the
Layout and Plan; the app owns the state. The selected partition is one
reactive here, `selected`, bound into every view that shows it (the
partition list, the table, the disk map, the diagnostics)."""

from __future__ import annotations

from collections.abc import Callable

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, TabbedContent, TabPane

from engine.layout.model import Layout
from engine.plan.model import Plan
from tui import compositor, look
from tui.keys import FOCUS_KEYS
from tui.widgets.diagnostics import Diagnostics
from tui.widgets.diff_view import DiffView
from tui.widgets.disk_map import DiskMap
from tui.widgets.partition_list import PartitionList
from tui.widgets.plan_table import PlanTable
from tui.widgets.settings import Settings
from tui.widgets.sources import SourceView
from tui.widgets.target_view import TITLES, TargetView
from tui.widgets.title_bar import TitleBar

NARROW = 100  # below this width the settings pane folds away (key s shows it)
SHORT = 32  # below this height the partition list folds away (the table does its work)


class MainScreen(Screen[None]):
    BINDINGS = FOCUS_KEYS

    # the key of the selected partition (a planner key: root, homeclone2 ...),
    # or of a partition KIWI fails before creating; the views follow it
    selected: reactive[str | None] = reactive(None, init=False)

    def __init__(self) -> None:
        super().__init__()
        compositor.install(self)  # a key repaints only the widgets it changed
        self.xml_source: Callable[[], tuple[str, bool]] | None = None
        self._xml_stale = True
        self._plan: Plan | None = None
        self.opened: Plan | None = None  # the plan of the file as it was opened (the Diff tab)

    def compose(self) -> ComposeResult:
        yield TitleBar(id="titlebar")
        with Horizontal(id="body"):
            yield Settings(id="settings")
            with Vertical(id="main"):
                yield PartitionList(id="partitions").data_bind(MainScreen.selected)
                with TabbedContent(id="tabs"):
                    with TabPane("Table", id="tab-table"):
                        yield PlanTable(id="table").data_bind(MainScreen.selected)
                    with TabPane("/config.partids", id="tab-partids"):
                        yield SourceView("bash", id="partids")
                    with TabPane("XML", id="tab-xml"):
                        yield SourceView("xml", id="xml")
                    with TabPane("Diff", id="tab-diff"):
                        yield DiffView(id="diff")
                    with TabPane("Updater", id="tab-updater"):
                        yield TargetView(id="updater")
        yield DiskMap(id="map").data_bind(MainScreen.selected)
        yield Diagnostics(id="diagnostics").data_bind(MainScreen.selected)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#settings").border_title = "Settings"
        self.query_one("#partitions").border_title = "Partitions"
        self._fit(self.size.width, self.size.height)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        narrow = width < NARROW
        self.set_class(narrow, "-narrow")
        self.set_class(height < SHORT, "-short")
        footer = self.query_one(Footer)
        footer.compact = narrow
        footer.show_command_palette = not narrow

    # --- the app hands over the state ----------------------------------------
    def show(self, layout: Layout, plan: Plan) -> None:
        self.query_one(Settings).show(layout, plan)
        self.query_one(PartitionList).show(layout, plan)
        self.query_one(PlanTable).show(plan)
        disk_map = self.query_one(DiskMap)
        disk_map.show(plan)
        est = " (estimated)" if plan.disk_size_estimated else ""
        title = (f"Disk {look.human_bytes(plan.disk_bytes)}{est} · {plan.table} ·"
                 f" {layout.resolved_firmware} · {layout.arch} · {len(plan.entries)} partitions")
        if title != disk_map.border_title:
            disk_map.border_title = title  # a new title repaints the whole map
        self._show_target(plan)
        self._plan = plan
        self.opened = self.opened or plan
        self._xml_stale = True
        self._refresh_sources()

    def _show_target(self, plan: Plan) -> None:
        """The chosen updater's export (the engine writes it) and the
        diagnostics, the plan's and that export's."""
        view = self.query_one(TargetView)
        export = view.update(plan)
        extra = [d for d in export.diagnostics if d.code != "layout-errors"] if export else []
        source = TITLES[export.target] if export else ""
        self.query_one(Diagnostics).show(plan, extra=extra, source=source)

    @on(TargetView.Changed)
    def _target_changed(self) -> None:
        if self._plan is not None:
            self._show_target(self._plan)
            self._refresh_sources()

    def _refresh_sources(self) -> None:
        """The partids and XML tabs are drawn when shown (the XML costs a write)."""
        active = self.query_one(TabbedContent).active
        if active == "tab-updater":
            self.query_one(TargetView).paint()
        if active == "tab-diff" and self._plan is not None and self.opened is not None:
            from engine.diff import compare, side_of_plan

            self.query_one(DiffView).show(compare(side_of_plan(self.opened, "as opened"),
                                                  side_of_plan(self._plan, "now")))
        if active == "tab-partids" and self._plan is not None:
            view = self.query_one("#partids", SourceView)
            text = self._plan.partids_text()
            if text != view.text or view.note is not None:
                view.show_text(text)
        if active != "tab-xml" or not self._xml_stale or self.xml_source is None:
            return
        text, ok = self.xml_source()
        view = self.query_one("#xml", SourceView)
        if ok:
            view.show_text(text)
        else:
            view.show_note(text)
        self._xml_stale = False

    @on(TabbedContent.TabActivated)
    def _tab(self, event: TabbedContent.TabActivated) -> None:
        self._refresh_sources()

    def toggle_settings(self) -> None:
        """On a narrow screen the settings take the place of the rest."""
        if self.has_class("-narrow"):
            self.toggle_class("-show-settings")
            if self.has_class("-show-settings"):
                self.query_one(Settings).focus()
                self.query_one("#set-firmware").focus()
            else:
                self.focus_table()
        else:
            self.query_one("#set-firmware").focus()

    def focus_table(self) -> None:
        self.remove_class("-show-settings")
        self.query_one(TabbedContent).active = "tab-table"
        self.query_one(PlanTable).focus()
