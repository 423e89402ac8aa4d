"""`b`: the build screen, its worker, progress bar, cancel key and report."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, ProgressBar

from engine.errors import PartwrightError
from tests.support.seed import SEED
from tests.support.tui import SIZE, start_build, wait_until
from tui import backend
from tui.app import PartwrightApp
from tui.screens.build import BuildScreen

STEPS = ("prepare", "table", "filesystems", "clones", "verify", "finish")



class FakeBuilder:
    """Reports the engine's steps; waits at `hold` until released."""

    def __init__(self, hold: str | None = None, loop_until_cancelled: bool = False) -> None:
        self.hold = hold
        self.loop = loop_until_cancelled
        self.release = threading.Event()
        self.calls: list[dict[str, Any]] = []
        self.raised: BaseException | None = None

    def __call__(self, plan: Any, output: str, **kwargs: Any) -> dict[str, Any]:
        self.calls.append({"plan": plan, "output": output, **kwargs})
        progress = kwargs["progress"]
        try:
            for step in STEPS:
                progress(step, 0, 2)
                if step == self.hold:
                    progress(step, 1, 2)
                    while not self.release.wait(0.01):
                        if self.loop:
                            progress(step, 1, 2)
                progress(step, 2, 2)
        except BaseException as exc:
            self.raised = exc
            raise
        return {"output": output, "verified": True}


async def test_build_runs_in_a_worker_with_progress_and_report(tmp_path: Path) -> None:
    fake = FakeBuilder(hold="clones")
    app = PartwrightApp(builder=fake)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_build(pilot, tmp_path / "disk.raw")
        bar = screen.query_one("#build-progress", ProgressBar)
        await wait_until(pilot, lambda: "clones" in str(screen.query_one("#build-step").render()))
        # clones is step 4 of 6, half done: the bar is past half, not full
        await wait_until(pilot, lambda: bar.progress > 500)
        assert bar.progress < 1000 and screen.running
        assert app.is_running  # the UI is not blocked while the engine works
        fake.release.set()
        await wait_until(pilot, lambda: not screen.running)
        assert screen.error is None
        assert bar.progress == 1000
        assert "Built and verified" in str(screen.query_one("#build-step").render())
        call = fake.calls[0]
        assert call["output"] == str(tmp_path / "disk.raw")
        assert call["fmt"] == "raw" and call["seed"] == "tui" and call["root_tree"] is None
        assert call["plan"] is app.plan
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, BuildScreen)


async def test_cancel_stops_the_engine_at_its_next_step(tmp_path: Path) -> None:
    fake = FakeBuilder(hold="filesystems", loop_until_cancelled=True)
    app = PartwrightApp(builder=fake)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_build(pilot, tmp_path / "disk.raw")
        await wait_until(pilot, lambda: "filesystems" in str(screen.query_one("#build-step").render()))
        await pilot.press("escape")  # the cancel key
        await wait_until(pilot, lambda: not screen.running)
        assert screen.error is not None and "Cancelled" in screen.error
        assert fake.raised is not None  # the engine saw the cancel as an exception
        assert isinstance(app.screen, BuildScreen)  # the outcome stays on screen
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, BuildScreen)


async def test_build_says_clearly_when_the_engine_is_missing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> Any:
        raise backend.NotAvailable("the image engine (engine.image.build) is not available yet")

    monkeypatch.setattr(backend, "builder", missing)
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b")
        await pilot.pause()
        assert not isinstance(app.screen, BuildScreen)
        messages = [str(n.message) for n in app._notifications]
        assert any("not available" in m for m in messages), messages


async def test_build_refuses_a_layout_with_errors() -> None:
    fake = FakeBuilder()
    app = PartwrightApp(builder=fake)
    async with app.run_test(size=SIZE) as pilot:
        app.set_session(app.session.edit(app.layout.with_changes(efiparttable="msdos"), "x"))
        await pilot.press("b")
        await pilot.pause()
        assert not isinstance(app.screen, BuildScreen)
        assert not fake.calls


NEEDED = ("mkfs.xfs", "mkfs.ext4", "mkfs.ext3", "mkfs.vfat", "sfdisk", "blkid", "xfs_admin")


@pytest.mark.skipif(any(shutil.which(t) is None for t in NEEDED),
                    reason="the filesystem tools of the example are not installed")
async def test_build_the_example_with_the_real_engine(tmp_path: Path) -> None:
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        output = tmp_path / "example.raw"
        screen = await start_build(pilot, output)
        await wait_until(pilot, lambda: not screen.running, timeout=240)
        assert screen.error is None, screen.error
        assert output.exists() and output.stat().st_size == app.plan.disk_bytes
        assert (tmp_path / "example.raw.partids").read_text() == app.plan.partids_text()
        assert not list(tmp_path.glob("*.partial*"))
        report = screen.query_one("#build-report-text").render()
        assert report is not None


async def test_an_existing_image_is_replaced_only_when_asked_twice(tmp_path: Path) -> None:
    fake = FakeBuilder()
    target = tmp_path / "disk.raw"
    target.write_bytes(b"old")
    app = PartwrightApp(builder=fake)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_build(pilot, target)
        await pilot.pause()
        assert not fake.calls and "exists" in str(screen.query_one("#build-problem").render())
        await pilot.pause(0.6)  # not a double click
        await pilot.click("#build-start")
        await wait_until(pilot, lambda: bool(fake.calls) and not screen.running)
        assert fake.calls[0]["output"] == str(target)


def _link(kind: str, seed: Path) -> Path:
    """A name of the description itself: the path, ./relative, a symlink or a hard link."""
    if kind == "same":
        return seed
    if kind == "relative":
        return Path(os.path.relpath(seed))
    other = seed.with_name(f"{kind}.raw")
    if kind == "symlink":
        other.symlink_to(seed)
    else:
        os.link(seed, other)
    return other


@pytest.mark.parametrize("kind", ["same", "relative", "symlink", "hardlink"])
async def test_the_build_never_writes_over_the_description(tmp_path: Path, kind: str) -> None:
    seed = tmp_path / "seed.kiwi"
    shutil.copyfile(SEED, seed)
    before = seed.read_bytes()
    output = _link(kind, seed)
    fake = FakeBuilder()
    app = PartwrightApp.open(seed, builder=fake)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_build(pilot, output)
        await pilot.pause()
        await pilot.click("#build-start")  # asking twice does not make it a target
        await pilot.pause()
        problem = str(screen.query_one("#build-problem").render())
        assert "is the description this build reads" in problem and "\n" not in problem
        assert not fake.calls and not screen.running
    assert seed.read_bytes() == before


async def test_the_build_never_writes_into_the_root_tree(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    fake = FakeBuilder()
    app = PartwrightApp(builder=fake)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, BuildScreen)
        screen.query_one("#build-output", Input).value = str(tree / "etc" / "disk.raw")
        screen.query_one("#build-root", Input).value = str(tree)
        await pilot.click("#build-start")
        await pilot.pause()
        assert "inside the root tree" in str(screen.query_one("#build-problem").render())
        assert not fake.calls
    assert sorted(p.name for p in tree.rglob("*")) == ["etc"]


async def test_the_dialog_remembers_what_it_was_last_given(tmp_path: Path) -> None:
    fake = FakeBuilder()
    app = PartwrightApp(builder=fake)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_build(pilot, tmp_path / "mine.raw", seed="again")
        await wait_until(pilot, lambda: bool(fake.calls) and not screen.running)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("b")
        await pilot.pause()
        again = app.screen
        assert isinstance(again, BuildScreen)
        assert again.query_one("#build-output", Input).value == str(tmp_path / "mine.raw")
        assert again.query_one("#build-seed", Input).value == "again"


async def test_an_engine_refusal_is_one_line(tmp_path: Path) -> None:
    def refusing(plan: Any, output: str, **kwargs: Any) -> Any:
        raise PartwrightError(f"{output}: the build reads this file; choose another output")

    app = PartwrightApp(builder=refusing)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_build(pilot, tmp_path / "disk.raw")
        await wait_until(pilot, lambda: screen.error is not None)
        assert screen.error == (f"The build failed: {tmp_path / 'disk.raw'}: the build reads"
                                " this file; choose another output")
    assert list(tmp_path.iterdir()) == []
