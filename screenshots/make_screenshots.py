"""Regenerate the SVG screenshots in screenshots/ from the real app (`make screenshots`).

Each picture is the designer driven headless (Textual's run_test) and saved
with App.save_screenshot: the scenarios of tests/support/scenarios.py that
name a picture (the same drives the snapshot tests use), and a real build of
the example with the image engine (held at the clones step for the progress
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
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.support.scenarios import SCENARIOS, Scenario  # noqa: E402
from tests.support.tui import SIZE, freeze_cursor_blink, start_build  # noqa: E402
from tui.app import PartwrightApp  # noqa: E402


class _Patch:
    """monkeypatch's setattr, for good: this process only takes pictures."""

    setattr = staticmethod(setattr)


async def shoot(scenario: Scenario) -> None:
    app = PartwrightApp()
    async with app.run_test(size=scenario.size) as pilot:
        await pilot.pause()
        await scenario.drive(pilot)
        await pilot.pause()
        path = app.save_screenshot(f"{scenario.picture}.svg", str(HERE))
    print(f"wrote {os.path.relpath(path)}")


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
        screen = await start_build(pilot, Path(out_dir) / "example.raw", seed="screenshots")
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
    freeze_cursor_blink(_Patch)
    for scenario in SCENARIOS:
        if scenario.picture is not None:
            await shoot(scenario)
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
