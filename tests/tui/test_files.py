"""Saving, reloading and exporting as a user does it, with the file system
checked afterwards: a file changed on disk while the designer had it open is
never overwritten silently (by content, not by mtime), a new path starts a
new description, an export names the file it did not write."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from textual.widgets import Input

from engine.kiwi.read import load
from engine.layout.example import EXAMPLE_LAYOUT
from engine.layout.model import Partition
from tests.support.seed import SEED
from tests.support.tui import SIZE, go_to
from tui.app import PartwrightApp
from tui.screens.dialogs import ConfirmOverwrite, ConfirmQuit, PathPrompt


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    path = tmp_path / "seed.kiwi"
    shutil.copyfile(SEED, path)
    return path


def theirs(path: Path) -> bytes:
    """Someone else's edit of the file on disk: a comment and the root clones."""
    data = path.read_bytes().replace(b'root_clone="1"', b'root_clone="4"')
    data = data.replace(b"<image ", b"<!-- edited elsewhere -->\n<image ", 1)
    path.write_bytes(data)
    return data


def listing(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


async def plus_home_then_save(pilot, app: PartwrightApp) -> None:  # type: ignore[no-untyped-def]
    await go_to(pilot, "home")
    await pilot.press("+", "ctrl+s")
    await pilot.pause()


@pytest.mark.parametrize("answer", ["escape", "o", "r"])
async def test_a_file_changed_on_disk_is_not_overwritten_silently(seed: Path, answer: str) -> None:
    app = PartwrightApp.open(seed)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        changed = theirs(seed)
        await plus_home_then_save(pilot, app)
        assert isinstance(app.screen, ConfirmOverwrite)
        assert seed.read_bytes() == changed  # nothing written before the answer
        await pilot.press(answer)
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmOverwrite)
        if answer == "escape":  # cancel: their file stays, my edit stays unsaved
            assert seed.read_bytes() == changed
            assert app.layout.partition("home").clone == 3 and "[modified]" in app.title
        elif answer == "o":  # overwrite: my layout onto the file as I read it
            assert seed.read_bytes() == SEED.read_bytes().replace(b'clone="2"', b'clone="3"')
            assert "[modified]" not in app.title
        else:  # reload: theirs on screen, mine one ctrl+z away
            assert seed.read_bytes() == changed
            assert app.layout.root_clone == 4 and app.layout.partition("home").clone == 2
            assert "[modified]" not in app.title
            await pilot.press("ctrl+z")
            await pilot.pause()
            assert app.layout.partition("home").clone == 3 and app.layout.root_clone == 1
            await pilot.press("ctrl+s")  # saving now writes mine onto theirs, no question
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmOverwrite)
            written = load(seed)
            assert written.layout.partition("home").clone == 3
            assert written.raw.startswith(b"<?xml") and b"<!-- edited elsewhere -->" in written.raw
    assert listing(seed) == ["seed.kiwi"]


async def test_same_content_rewritten_is_no_conflict(seed: Path) -> None:
    app = PartwrightApp.open(seed)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        data = seed.read_bytes()
        os.unlink(seed)
        seed.write_bytes(data)  # a new inode, a new mtime, the same bytes
        os.utime(seed, (1, 1))
        await plus_home_then_save(pilot, app)
        assert not isinstance(app.screen, ConfirmOverwrite)
        assert load(seed).layout.partition("home").clone == 3


async def test_a_change_that_keeps_size_and_mtime_is_still_seen(seed: Path) -> None:
    app = PartwrightApp.open(seed)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        st = seed.stat()
        changed = seed.read_bytes().replace(b'clone="2"', b'clone="5"')
        seed.write_bytes(changed)
        os.utime(seed, ns=(st.st_atime_ns, st.st_mtime_ns))
        await plus_home_then_save(pilot, app)
        assert isinstance(app.screen, ConfirmOverwrite)
        await pilot.press("escape")
    assert seed.read_bytes() == changed


async def test_a_new_path_starts_a_new_description_there(tmp_path: Path) -> None:
    path = tmp_path / "new.kiwi"
    app = PartwrightApp.open(path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.layout == EXAMPLE_LAYOUT and not path.exists()
        assert "new.kiwi" in app.title and "new" in app.title.replace("new.kiwi", "")
        await pilot.press("q")  # nothing written yet: quitting asks
        await pilot.pause()
        assert isinstance(app.screen, ConfirmQuit)
        await pilot.press("escape")
        await go_to(pilot, "root")
        await pilot.press("+", "ctrl+s")  # no path prompt: the path is known
        await pilot.pause()
        assert not isinstance(app.screen, PathPrompt)
        assert load(path).layout == EXAMPLE_LAYOUT.with_changes(root_clone=2)
        assert "[modified]" not in app.title and " · new" not in app.title
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running
    assert listing(path) == ["new.kiwi"]


def test_a_new_path_needs_its_directory(tmp_path: Path) -> None:
    from engine.errors import DescriptionError

    with pytest.raises(DescriptionError, match="does not exist"):
        PartwrightApp.open(tmp_path / "missing" / "new.kiwi")
    with pytest.raises(DescriptionError, match="profile"):
        PartwrightApp.open(tmp_path / "new.kiwi", profile="Large")
    assert list(tmp_path.iterdir()) == []


async def test_export_refusal_names_the_target(seed: Path, tmp_path: Path) -> None:
    app = PartwrightApp.open(seed)
    async with app.run_test(size=SIZE) as pilot:
        bad = app.layout.with_changes(partitions=(*app.layout.partitions, Partition("prep", 10)))
        app.set_session(app.session.edit(bad, "bad"))
        await pilot.press("ctrl+e")
        await pilot.pause()
        target = tmp_path / "out.kiwi"
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        errors = [str(n.message) for n in app._notifications if n.severity == "error"]
        assert len(errors) == 1 and errors[0].startswith(f"{target}: ") and "reserved" in errors[0]
        assert str(seed) not in errors[0]
    assert listing(seed) == ["seed.kiwi"]


async def test_title_shows_file_profile_and_type(tmp_path: Path) -> None:
    from tests.support.paths import DATA

    path = tmp_path / "profiles.kiwi"
    shutil.copyfile(DATA / "descriptions" / "02-profiles.kiwi", path)
    app = PartwrightApp.open(path, profile="Large")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.title.startswith("partwright — profiles.kiwi · profile Large · type 2 of 3")
        assert app.sub_title == str(tmp_path)


async def test_save_writes_the_file_back_losslessly(tmp_path: Path) -> None:
    path = tmp_path / "seed.kiwi"
    shutil.copyfile(SEED, path)
    original = path.read_bytes()
    app = PartwrightApp.open(path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.layout == EXAMPLE_LAYOUT
        await go_to(pilot, "home")
        await pilot.press("+")
        assert "[modified]" in app.title
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "[modified]" not in app.title
    expected = original.replace(b'clone="2"', b'clone="3"')
    assert expected != original
    assert path.read_bytes() == expected
    assert not list(tmp_path.glob("*.partial"))


async def test_save_after_adding_a_partition(tmp_path: Path) -> None:
    path = tmp_path / "seed.kiwi"
    shutil.copyfile(SEED, path)
    original = path.read_text()
    app = PartwrightApp.open(path)
    async with app.run_test(size=SIZE) as pilot:
        await go_to(pilot, "home")
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
    home = '                <partition name="home" size="10" mountpoint="/home" filesystem="ext3" clone="2"/>\n'
    assert home in original
    data = '                <partition name="data" size="1024" mountpoint="/data" filesystem="ext4"/>\n'
    assert path.read_text() == original.replace(home, home + data)
    assert load(path).layout.partition("data").size_mb == 1024


async def test_example_save_asks_for_a_path_and_export_writes_a_full_description(
        tmp_path: Path) -> None:
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        await go_to(pilot, "home")
        await pilot.press("+", "ctrl+s")
        await pilot.pause()
        prompt = app.screen
        assert isinstance(prompt, PathPrompt)
        prompt.query_one(Input).value = str(tmp_path / "mine.kiwi")
        await pilot.press("enter")
        await pilot.pause()
        assert app.path == tmp_path / "mine.kiwi"
        assert "[modified]" not in app.title and "mine.kiwi" in app.title
        saved = load(tmp_path / "mine.kiwi").layout
        assert saved.partition("home").clone == 3
        await pilot.press("ctrl+e")
        await pilot.pause()
        app.screen.query_one(Input).value = str(tmp_path / "out.kiwi")
        await pilot.press("enter")
        await pilot.pause()
        assert app.path == tmp_path / "mine.kiwi"  # export does not change the file
    exported = (tmp_path / "out.kiwi").read_bytes()
    assert exported.startswith(b"<?xml") and b"<image" in exported
    assert load(tmp_path / "out.kiwi").layout == saved


async def test_xml_tab_shows_what_a_save_writes(tmp_path: Path) -> None:
    path = tmp_path / "seed.kiwi"
    shutil.copyfile(SEED, path)
    app = PartwrightApp.open(path)
    async with app.run_test(size=SIZE) as pilot:
        await go_to(pilot, "home")
        await pilot.press("+")
        app.main.query_one("#tabs").active = "tab-xml"
        await pilot.pause()
        xml = app.main.query_one("#xml")
        assert 'clone="3"' in xml.text
        assert xml.text.encode() == path.read_bytes().replace(b'clone="2"', b'clone="3"')
        app.main.query_one("#tabs").active = "tab-partids"
        await pilot.pause()
        assert 'kiwi_homePartClone3="7"' in app.main.query_one("#partids").text


async def test_a_refused_save_leaves_the_file_alone(tmp_path: Path) -> None:
    from engine.layout.model import Partition

    path = tmp_path / "seed.kiwi"
    shutil.copyfile(SEED, path)
    original = path.read_bytes()
    app = PartwrightApp.open(path)
    async with app.run_test(size=SIZE) as pilot:
        bad = app.layout.with_changes(
            partitions=(*app.layout.partitions, Partition("prep", 10)))  # a reserved name
        app.set_session(app.session.edit(bad, "bad"))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "[modified]" in app.title
        assert any(n.severity == "error" for n in app._notifications)
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed.kiwi"]
