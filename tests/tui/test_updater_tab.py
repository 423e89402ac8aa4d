"""The designer's Updater tab: the chosen updater's files for the layout, live
on every edit, with that export's diagnostics in the diagnostics pane."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Input, Select

from engine.targets import Naming, Options, export_target
from tests.support.tui import SIZE, go_to
from tui.app import PartwrightApp
from tui.widgets.diagnostics import Diagnostics
from tui.widgets.target_view import TargetView


async def choose(pilot: Pilot[None], target: str, naming: str | None = None,
                 disk: str | None = None) -> TargetView:
    app = pilot.app
    assert isinstance(app, PartwrightApp)
    app.main.query_one("#tabs").active = "tab-updater"
    await pilot.pause()
    view = app.main.query_one(TargetView)
    view.query_one("#target-name", Select).value = target
    if naming is not None:
        view.query_one("#target-naming", Select).value = naming
    await pilot.pause()
    if disk is not None:
        field = view.query_one("#target-disk", Input)
        field.value = disk
    await pilot.pause()
    return view


def shown(view: TargetView) -> str:
    """The text of the files as drawn in the tab."""
    body = view.query_one("#target-files")
    lines = body.render_lines(body.region.reset_offset)
    return "\n".join(line.text for line in lines)


def codes(app: PartwrightApp) -> list[str]:
    return [d.code for d in app.main.query_one(Diagnostics).items]


async def test_rauc_follows_a_clone_added_on_home() -> None:
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        view = await choose(pilot, "rauc", "disk", "/dev/mmcblk0")
        assert view.export is not None and view.export.ok
        conf = view.export.file("system.conf")
        assert conf is not None and "[slot.home.2]" in conf.text
        assert "[slot.home.3]" not in conf.text
        assert "system.conf" in shown(view) and "[slot.home.2]" in shown(view)
        await go_to(pilot, "home")
        await pilot.press("+")
        await pilot.pause()
        app.main.query_one("#tabs").active = "tab-updater"
        await pilot.pause()
        entry = app.plan.entry("homeclone3")
        assert entry is not None
        conf = view.export.file("system.conf")  # type: ignore[union-attr]
        assert conf is not None
        section = conf.text.split("[slot.home.3]\n", 1)[1].split("\n\n", 1)[0]
        assert f"device=/dev/mmcblk0p{entry.number}" in section.splitlines()
        # the engine's own export of the same plan, byte for byte
        assert conf.text == export_target(
            app.plan, Options("rauc", Naming("disk", "/dev/mmcblk0"))).file("system.conf").text  # type: ignore[union-attr]
        assert f"device=/dev/mmcblk0p{entry.number}" in shown(view)
        # RAUC's warning about names every disk shares is gone with a device path
        assert "naming-can-collide" not in codes(app) and "naming-disk-order" in codes(app)
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert "[slot.home.3]" not in view.export.file("system.conf").text  # type: ignore[union-attr]


async def test_mender_without_data_says_why_in_the_diagnostics() -> None:
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        before = codes(app)
        assert "mender-no-data" not in before
        view = await choose(pilot, "mender")
        assert view.export is not None and not view.export.files
        assert "mender-no-data" in codes(app) and "mender-boot-clone" in codes(app)
        pane = app.main.query_one(Diagnostics)
        assert "error" in str(pane.border_title) and "Mender" in str(
            pane.get_option_at_index(0).prompt)
        assert "No files: Mender cannot use this layout" in shown(view)
        # another target: Mender's diagnostics leave the pane
        view.query_one("#target-name", Select).value = "repart"
        await pilot.pause()
        assert "mender-no-data" not in codes(app)
        assert view.export is not None and view.export.file("01-p.legacy.conf") is not None


async def test_a_disk_that_is_no_device_path_is_named_not_used() -> None:
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        view = await choose(pilot, "sysupdate", "disk", "sda")
        assert view.problem is not None and "not a device path" in view.problem
        assert view.options == Options("sysupdate")  # partition names meanwhile
        assert "not a device path" in shown(view)
        view.query_one("#target-disk", Input).value = "/dev/vda"
        await pilot.pause()
        assert view.options == Options("sysupdate", Naming("disk", "/dev/vda"))
        assert "/dev/vda" in shown(view)
