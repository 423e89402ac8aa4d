"""The designer in the states worth a picture: one table for the snapshot tests
(tests/tui/test_snapshots.py) and the README's screenshots
(screenshots/make_screenshots.py), so both show the same drives.

Each scenario starts from the built-in example at a terminal size and drives
the real app with Pilot; `picture` names its file in screenshots/ (None: a
snapshot only).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from textual.pilot import Pilot
from textual.widgets import Input, Select

from engine.layout.model import Partition
from tests.support.tui import SIZE, designer, go_to

Drive = Callable[[Pilot[None]], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    name: str  # the snapshot's id
    drive: Drive
    about: str  # what the picture shows
    size: tuple[int, int] = SIZE
    picture: str | None = None  # screenshots/<picture>.svg


async def nothing(pilot: Pilot[None]) -> None:
    return None


def keys(*names: str) -> Drive:
    async def press(pilot: Pilot[None]) -> None:
        await pilot.press(*names)
    return press


async def home_plus(pilot: Pilot[None]) -> None:
    await go_to(pilot, "home")
    await pilot.press("+")


async def errors(pilot: Pilot[None]) -> None:
    """bios firmware (an msdos table) and a partition named with a reserved word."""
    app = designer(pilot)
    layout = app.layout.with_changes(
        firmware="bios",
        partitions=(*app.layout.partitions, Partition("prep", 512, "/srv", "ext4")),
    )
    app.set_session(app.session.edit(layout, "errors"))
    await pilot.press("x")


async def form(pilot: Pilot[None]) -> None:
    await pilot.press("a")
    await pilot.pause()
    size = pilot.app.screen.query_one("#size", Input)
    size.focus()
    size.value = ""
    await pilot.press(*"12X")


async def diff_tab(pilot: Pilot[None]) -> None:
    """+ on home, then the Diff tab: what the edit means for a device in the field."""
    await home_plus(pilot)
    designer(pilot).main.query_one("#tabs").active = "tab-diff"
    await pilot.pause()


def updater_tab(target: str, disk: str | None = None) -> Drive:
    """+ on home, then the Updater tab with `target` chosen (slots named by
    `disk`'s device paths when given)."""
    async def drive(pilot: Pilot[None]) -> None:
        await home_plus(pilot)
        main = designer(pilot).main
        main.query_one("#tabs").active = "tab-updater"
        await pilot.pause()
        main.query_one("#target-name", Select).value = target
        if disk is not None:
            main.query_one("#target-naming", Select).value = "disk"
            await pilot.pause()
            main.query_one("#target-disk", Input).value = disk
        await pilot.pause()
    return drive


async def light(pilot: Pilot[None]) -> None:
    await pilot.press("ctrl+t")
    await home_plus(pilot)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("main_screen", nothing, "the seed example: settings, list, table, map, diagnostics",
             picture="example"),
    Scenario("plus_on_home", home_plus, "+ on home: a third home clone, root moved down",
             picture="example-home-clone"),
    Scenario("partition_form", form, "the add form with a bad size marked in its field",
             picture="form"),
    Scenario("errors", errors, "bios (msdos) and a reserved name: the errors lead the list",
             picture="errors"),
    Scenario("light_theme", light, "the light theme after + on home", picture="light"),
    Scenario("narrow_terminal", nothing, "80x24: the settings fold away, the table stays",
             size=(80, 24), picture="narrow-80x24"),
    Scenario("narrow_terminal_settings", keys("s"),
             "80x24 after s: the settings take the place of the table", size=(80, 24)),
    Scenario("help_screen", keys("question_mark"), "the keys"),
    Scenario("diff_tab", diff_tab, "+ on home, the Diff tab: the verdict for a device in the field",
             picture="diff"),
    Scenario("updater_tab_rauc", updater_tab("rauc", "/dev/mmcblk0"),
             "+ on home, the Updater tab: RAUC's system.conf with the new slot, by device path",
             picture="updater"),
    Scenario("updater_tab_mender", updater_tab("mender"),
             "the Updater tab on Mender: no files, and the diagnostics say why"),
)
