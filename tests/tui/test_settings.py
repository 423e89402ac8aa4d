"""The type settings as a user changes them: selects, checkboxes and fields,
each change re-planned at once, bad values marked and kept out of the layout,
diagnostics that lead to the partition they concern."""

from __future__ import annotations

from textual.widgets import Input, Select

from engine.layout.example import EXAMPLE_LAYOUT
from tests.support.tui import SIZE, choose, table, table_cell, table_keys
from tui.app import PartwrightApp
from tui.widgets.diagnostics import Diagnostics
from tui.widgets.partition_list import PartitionList

ROOT_START = 5531648


async def test_msdos_table_shows_the_primaries_diagnostic_and_it_leads_to_home() -> None:
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "set-table", "msdos")
        assert app.layout.efiparttable == "msdos"
        assert app.plan.table == "msdos"
        codes = [d.code for d in app.plan.diagnostics]
        assert "msdos-primaries" in codes
        diagnostics = app.main.query_one(Diagnostics)
        shown = [d.code for d in diagnostics.items]
        assert shown[0] == "msdos-primaries"  # errors first
        assert "error" in diagnostics.border_title
        # selecting the diagnostic moves the cursor to the partition it concerns
        diagnostics.focus()
        await pilot.pause()
        diagnostics.highlighted = 0
        await pilot.press("enter")
        await pilot.pause()
        # it concerns the first partition that does not fit: not in the table
        concern = diagnostics.items[0].partition
        assert concern == "homeclone1" and app.plan.entry(concern) is None
        assert app.selected == concern
        plist = app.main.query_one(PartitionList)
        assert app.focused is plist and plist.current_key == "home"
        # the same with the extended layout: the partition is there, the cursor goes to it
        app.set_session(app.session.edit(
            app.layout.with_changes(force_mbr=None, dosparttable_extended_layout=True), "x"))
        await pilot.pause()
        assert "msdos-primaries" not in [d.code for d in app.plan.diagnostics]
        await choose(pilot, "set-table", "gpt")
        await choose(pilot, "set-firmware", "bios")
        with_gpt_entries = [d for d in app.plan.diagnostics if d.partition]
        diagnostics.focus()
        await pilot.pause()
        first = diagnostics.items.index(with_gpt_entries[0])
        diagnostics.highlighted = first
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == with_gpt_entries[0].partition
        assert table(app).current_key == app.selected
        assert app.focused is table(app)


async def test_bios_firmware_gives_msdos_and_the_diagnostic() -> None:
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "set-firmware", "bios")
        assert app.layout.firmware == "bios"
        assert app.plan.table == "msdos"
        assert "msdos-primaries" in [d.code for d in app.plan.diagnostics]
        assert app.main.query_one("#set-table", Select).disabled


async def test_setting_a_bad_value_marks_the_field_and_keeps_the_layout() -> None:
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        start = app.main.query_one("#set-start", Input)
        start.focus()
        await pilot.press(*"100")
        await pilot.pause()
        assert start.has_class("-invalid")
        assert "below 2048" in str(app.main.query_one("#settings-problem").render())
        assert app.layout == EXAMPLE_LAYOUT
        await pilot.press(*"96")  # 10096: a valid start sector
        await pilot.pause()
        assert app.layout.disk_start_sector == 10096
        assert table_cell(app, "efi_csm", "start") == str(app.plan.entries[0].start)
        assert app.plan.entries[0].start != 2048


async def test_settings_follow_typing_and_toggles_keep_unset_values_unset() -> None:
    from textual.widgets import Checkbox

    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        swap = app.main.query_one("#set-swap", Checkbox)
        swap.focus()
        await pilot.press("space")
        await pilot.pause()
        assert app.layout.oem_swap is True
        assert "swap" in table_keys(app)
        await pilot.press("space")  # off again: the description had no oem-swap
        await pilot.pause()
        assert app.layout.oem_swap is None and app.layout == EXAMPLE_LAYOUT
        assert "[modified]" not in app.title
        size = app.main.query_one("#set-size", Input)
        size.focus()
        await pilot.press("end", "backspace", "backspace", "backspace", *"200")
        await pilot.pause()
        assert app.layout.size_mb == 200 * 1024
        assert size.value == "200"  # not rewritten under the cursor
        await choose(pilot, "set-unit", "M")
        assert app.layout.size_mb == 200
        assert "disk-too-small" in [d.code for d in app.plan.diagnostics]
        size.focus()
        await pilot.press("end", "backspace", "backspace", "backspace")
        await pilot.pause()
        assert app.layout.size_mb is None  # empty: KIWI's estimate
        assert app.plan.disk_size_estimated


async def test_the_table_control_offers_only_the_modelled_tables() -> None:
    """gpt and msdos: KIWI's dasd is not modelled, so it is not offered (the
    planner would drop the partitions it cannot place on it)."""
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        select = app.main.query_one("#set-table", Select)
        offered = [value for _, value in select._options if value is not Select.BLANK]
        assert offered == ["gpt", "msdos"]
        for table_type in offered:
            await choose(pilot, "set-table", table_type)
            assert app.plan.table == table_type
            placed = [e.key for e in app.plan.entries]
            errors = [d.code for d in app.plan.errors]
            # nothing dropped silently: root is placed, or an error says why not
            assert ("root" in placed) != ("msdos-primaries" in errors), (placed, errors)
