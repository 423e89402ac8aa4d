"""Regenerate the SVG screenshots in screenshots/ from the real app (`make screenshots`).

Each picture is the designer driven headless (Textual's run_test) and saved
with App.save_screenshot: the seed example, a layout with errors, the
partition form, the light theme, an 80x24 terminal, and a real build of the
example with the image engine (held at the clones step for the progress
picture, then its verify report). The build writes to a temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from textual.pilot import Pilot  # noqa: E402
from textual.widgets import Input  # noqa: E402

from tui.app import PartwrightApp  # noqa: E402
from tui.screens.build import BuildScreen  # noqa: E402
from tui.widgets.partition_list import PartitionList  # noqa: E402

SIZE = (120, 40)


def steady_cursor() -> None:
    """No blinking cursor: the same input gives the same picture."""

    def steady(self: Input) -> None:
        self._cursor_visible = True

    Input._toggle_cursor = steady  # type: ignore[method-assign]


async def shoot(name: str, app: PartwrightApp, drive: Callable[[Pilot[None]], Awaitable[None]],
                size: tuple[int, int] = SIZE) -> None:
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await drive(pilot)
        await pilot.pause()
        path = app.save_screenshot(f"{name}.svg", str(HERE))
    print(f"wrote {os.path.relpath(path)}")


async def nothing(pilot: Pilot[None]) -> None:
    return None


async def home_plus(pilot: Pilot[None]) -> None:
    plist = pilot.app.main.query_one(PartitionList)  # type: ignore[attr-defined]
    plist.focus()
    plist.move_to(plist.keys.index("home"))
    await pilot.press("+")


async def errors(pilot: Pilot[None]) -> None:
    """bios firmware (an msdos table) and a partition named with a reserved word."""
    app: Any = pilot.app
    from engine.layout.model import Partition

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


async def light(pilot: Pilot[None]) -> None:
    await pilot.press("ctrl+t")
    await home_plus(pilot)


class Held:
    """The real engine, held at one step so the progress can be pictured."""

    def __init__(self, step: str) -> None:
        from engine.image.build import build

        self.build = build
        self.step = step
        self.reached = threading.Event()
        self.release = threading.Event()

    def __call__(self, plan: Any, output: str, **kwargs: Any) -> Any:
        progress = kwargs.pop("progress")

        def report(step: str, done: int, total: int) -> None:
            progress(step, done, total)
            if step == self.step and done == 1 and not self.reached.is_set():
                self.reached.set()
                self.release.wait(60)

        return self.build(plan, output, progress=report, **kwargs)


async def build_pictures(out_dir: str) -> None:
    held = Held("clones")
    app = PartwrightApp(builder=held)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("b")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, BuildScreen)
        screen.query_one("#build-output", Input).value = os.path.join(out_dir, "example.raw")
        screen.query_one("#build-seed", Input).value = "screenshots"
        await pilot.click("#build-start")
        while not held.reached.is_set():
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        print(f"wrote {os.path.relpath(app.save_screenshot('build-progress.svg', str(HERE)))}")
        held.release.set()
        deadline = time.monotonic() + 240
        while screen.running and time.monotonic() < deadline:
            await pilot.pause(0.1)
        if screen.error:
            raise SystemExit(f"the build failed: {screen.error}")
        await pilot.pause()
        print(f"wrote {os.path.relpath(app.save_screenshot('build-report.svg', str(HERE)))}")


async def main() -> None:
    steady_cursor()
    await shoot("example", PartwrightApp(), nothing)
    await shoot("example-home-clone", PartwrightApp(), home_plus)
    await shoot("errors", PartwrightApp(), errors)
    await shoot("form", PartwrightApp(), form)
    await shoot("light", PartwrightApp(), light)
    await shoot("narrow-80x24", PartwrightApp(), nothing, size=(80, 24))
    # a fixed scratch path, so the report picture does not change with it
    out_dir = Path(tempfile.gettempdir()) / "partwright-screenshots"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir()
    try:
        await build_pictures(str(out_dir))
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
