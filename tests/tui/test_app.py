"""The designer driven as a user drives it: keys and clicks through Pilot."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Select

from engine.layout.example import EXAMPLE_LAYOUT
from tests.support.tui import SIZE, choose, go_to, table, table_cell, table_keys
from tui.app import PartwrightApp
from tui.screens.dialogs import ConfirmQuit, HelpScreen
from tui.screens.form import PartitionForm
from tui.widgets.partition_list import PartitionList

ROOT_START = 5531648
TEN_MIB = 20480  # sectors


async def test_opens_the_example_with_the_seed_table() -> None:
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.layout == EXAMPLE_LAYOUT
        assert table_keys(app) == ["efi_csm", "efi", "bootclone1", "boot", "homeclone1",
                                   "homeclone2", "home", "rootclone1", "root", "free:0"]
        assert table_cell(app, "root", "start") == str(ROOT_START)
        assert table_cell(app, "root", "end") == "9725951"
        assert table_cell(app, "homeclone1", "name") == "p.lxhomeclone1"
        assert app.main.query_one(PartitionList).keys == ["boot", "home", "root"]
        assert "[modified]" not in app.title
        assert not app.session.can_undo


async def test_plus_on_home_adds_clone3_and_moves_the_root_down_10_mib() -> None:
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        await go_to(pilot, "home")
        await pilot.press("+")
        await pilot.pause()
        assert "homeclone3" in table_keys(app)
        assert table_cell(app, "homeclone3", "name") == "p.lxhomeclone3"
        assert table_cell(app, "root", "start") == str(ROOT_START + TEN_MIB)
        assert app.plan.entry("root").start == ROOT_START + TEN_MIB
        # the cursor stays on the same partition in the list and in the table
        assert app.main.query_one(PartitionList).current_key == "home"
        assert table(app).current_key == "home"
        assert app.layout.partition("home").clone == 3
        assert "[modified]" in app.title


async def test_plus_and_minus_on_root_boot_and_clone_rows() -> None:
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        await go_to(pilot, "root")
        await pilot.press("+")
        assert app.layout.root_clone == 2
        assert "rootclone2" in table_keys(app)
        await go_to(pilot, "boot")
        await pilot.press("+", "+")
        assert app.layout.boot_clone == 3
        assert table_cell(app, "bootclone3", "name") == "p.lxbootclone3"
        # in the table, - on a clone row lowers its origin's count
        table(app).focus()
        await pilot.pause()
        index = table(app).index_of("homeclone2")
        table(app).move_to(index)
        await pilot.pause()
        await pilot.press("minus")
        await pilot.pause()
        assert app.layout.partition("home").clone == 1
        assert "homeclone2" not in table_keys(app)
        assert table(app).current_key == "home"


async def test_clones_refused_on_the_esp() -> None:
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        table(app).focus()
        await pilot.pause()
        table(app).move_to(table(app).index_of("efi"))
        await pilot.pause()
        await pilot.press("+")
        await pilot.pause()
        assert app.layout == EXAMPLE_LAYOUT
        assert any("cannot be cloned" in str(n.message) for n in app._notifications)


async def test_add_a_partition_through_the_form() -> None:
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        await go_to(pilot, "home")
        await pilot.press("a")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, PartitionForm)
        name = form.query_one("#name", Input)
        assert app.focused is name
        name.value = ""
        await pilot.press(*"srv")
        size = form.query_one("#size", Input)
        size.focus()
        size.value = ""
        await pilot.press(*"12X")  # a bad size: marked in its field, no crash
        await pilot.pause()
        assert size.has_class("-invalid")
        problem = str(form.query_one("#size-problem").render())
        assert "unknown unit" in problem
        await pilot.press("enter")  # OK refuses while a field is bad
        await pilot.pause()
        assert app.screen is form
        size.value = ""
        await pilot.press(*"2G")
        assert not size.has_class("-invalid")
        mount = form.query_one("#mountpoint", Input)
        mount.value = "/srv"
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, PartitionForm)
        part = app.layout.partition("srv")
        assert part is not None and part.size_mb == 2048 and part.mountpoint == "/srv"
        assert [p.name for p in app.layout.partitions] == ["home", "srv"]  # after home
        assert table_cell(app, "srv", "name") == "p.lxsrv"
        assert table_cell(app, "srv", "size") == "2 GiB"
        assert app.main.query_one(PartitionList).current_key == "srv"


async def test_form_checks_names_with_the_engine_rules() -> None:
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await pilot.pause()
        form = app.screen
        name = form.query_one("#name", Input)
        for bad, why in (("boot", "reserved"), ("home", "already"), ("my-data", "shell")):
            name.value = bad
            await pilot.pause()
            assert name.has_class("-invalid"), bad
            assert why in str(form.query_one("#name-problem").render()), bad
        await pilot.press("escape")
        await pilot.pause()
        assert app.layout == EXAMPLE_LAYOUT


async def test_edit_delete_and_reorder() -> None:
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        await go_to(pilot, "home")
        await pilot.press("e")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, PartitionForm)
        form.query_one("#size", Input).value = "20"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.layout.partition("home").size_mb == 20
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("enter")  # the suggested partition: data, 1G, after home
        await pilot.pause()
        assert [p.name for p in app.layout.partitions] == ["home", "data"]
        await pilot.press("shift+up")
        assert [p.name for p in app.layout.partitions] == ["data", "home"]
        assert app.main.query_one(PartitionList).current_key == "data"
        await pilot.press("d")
        await pilot.pause()
        assert [p.name for p in app.layout.partitions] == ["home"]
        await go_to(pilot, "root")
        await pilot.press("d")  # root is not a custom partition: refused
        assert app.plan.entry("root") is not None


async def test_undo_back_to_the_start_and_redo() -> None:
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        await go_to(pilot, "home")
        await pilot.press("+")
        await choose(pilot, "set-table", "msdos")
        systemsize = app.main.query_one("#set-systemsize", Input)
        systemsize.focus()
        await pilot.press("end", "backspace", "backspace", "backspace", "backspace")
        await pilot.press(*"4096")
        await pilot.pause()
        assert app.layout.oem_systemsize == 4096
        # typing one value is one step, however many keys it took
        assert len(app.session.undo_stack) == 3
        table(app).focus()
        for _ in range(3):
            await pilot.press("ctrl+z")
        await pilot.pause()
        assert app.layout == EXAMPLE_LAYOUT
        assert app.plan.entry("root").start == ROOT_START
        assert "[modified]" not in app.title
        assert systemsize.value == "2048"
        assert app.main.query_one("#set-table", Select).value == "gpt"
        await pilot.press("ctrl+z")  # nothing left: no change
        assert app.layout == EXAMPLE_LAYOUT
        await pilot.press("ctrl+y")
        assert app.layout.partition("home").clone == 3


async def test_quit_asks_when_unsaved() -> None:
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        await go_to(pilot, "home")
        await pilot.press("+", "q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmQuit)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmQuit) and app.is_running
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("q")  # quit without saving
        await pilot.pause()
    assert not app.is_running


async def test_quit_without_changes_exits_at_once() -> None:
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running


async def test_help_and_command_palette_list_every_action() -> None:
    from tui.keys import KEYS

    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for key in KEYS:
            assert any(t.startswith(key.title) for t in titles), key.title
        # a palette command runs its action
        command = next(c for c in app.get_system_commands(app.screen)
                       if c.title.startswith("Add a clone"))
        await go_to(pilot, "root")
        await command.callback()
        await pilot.pause()
        assert app.layout.root_clone == 2


async def test_mouse_click_on_the_disk_map_and_a_table_row() -> None:
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#map", offset=(2, 1))  # the left end: the first partitions
        await pilot.pause()
        assert app.selected in ("efi_csm", "efi")
        assert app.focused is table(app)
        row = table(app).index_of("root")
        await pilot.click("#table", offset=(8, 2 + row))  # border + header
        await pilot.pause()
        assert app.selected == "root"


async def test_narrow_terminal_folds_the_settings_away() -> None:
    app = PartwrightApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.main.has_class("-narrow")
        assert not app.main.query_one("#settings").display or \
            app.main.query_one("#settings").region.width == 0
        assert table(app).region.width > 60
        await pilot.press("s")
        await pilot.pause()
        assert app.main.query_one("#settings").region.width > 60
        await pilot.press("t")
        await pilot.pause()
        assert app.focused is table(app)
        table(app).move_to(table(app).index_of("root"))
        await pilot.pause()
        await pilot.press("+")
        assert app.layout.root_clone == 2


async def test_light_theme_renders() -> None:
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert not app.current_theme.dark
        assert table_cell(app, "root", "start") == str(ROOT_START)


async def test_double_click_on_a_row_opens_its_form() -> None:
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        plist = app.main.query_one(PartitionList)
        row = plist.keys.index("home")
        await pilot.click("#partitions", offset=(6, 2 + row), times=2)  # border + header
        await pilot.pause()
        assert isinstance(app.screen, PartitionForm)
        assert app.screen.query_one("#name", Input).value == "home"


LVM_TYPE = """\
<type image="oem" filesystem="ext4" firmware="efi" root_clone="1">
    <systemdisk name="vgdata">
        <volume name="home" size="512M" mountpoint="/home"/>
        <volume name="srv" size="all"/>
    </systemdisk>
    <oemconfig>
        <oem-resize>false</oem-resize>
        <oem-systemsize>1024</oem-systemsize>
    </oemconfig>
    <size unit="M">4096</size>
</type>
"""


async def test_lvm_volumes_are_rows_under_the_lvm_partition(tmp_path: Path) -> None:
    path = tmp_path / "lvm.kiwi"
    path.write_text(LVM_TYPE)
    app = PartwrightApp.open(path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert [(v.name, v.size_mb, v.mountpoint) for v in app.plan.volumes] == [
            ("home", 512, "/home"), ("srv", None, None)]
        keys = table_keys(app)
        # under p.lxlvm, not under its clone
        assert keys[keys.index("root") + 1:keys.index("root") + 3] == ["volume:0", "volume:1"]
        assert keys.index("rootclone1") + 1 == keys.index("root")
        assert sum(k.startswith("volume:") for k in keys) == 2
        assert table_cell(app, "root", "name") == "p.lxlvm"
        assert table_cell(app, "volume:0", "name").split() == ["├", "home"]
        assert table_cell(app, "volume:0", "size") == "512 MiB"
        assert table_cell(app, "volume:0", "role") == "volume /home"
        assert table_cell(app, "volume:1", "name").split() == ["└", "srv"]
        assert table_cell(app, "volume:1", "size") == "rest"
        assert table_cell(app, "volume:1", "role") == "volume"
        for key in ("volume:0", "volume:1"):
            assert table_cell(app, key, "number") == table_cell(app, key, "start") == ""
        # a volume row is no partition: the cursor passes over it, Enter edits nothing
        grid = table(app)
        grid.focus()
        grid.move_to(grid.index_of("root") or 0)
        await pilot.pause()
        await pilot.press("down")
        await pilot.pause()
        assert grid.current_key == "volume:0"
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, PartitionForm)
        await pilot.press("down", "down")
        await pilot.pause()
        assert grid.current_key not in ("volume:0", "volume:1", "root")
