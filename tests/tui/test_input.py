"""Keys as they really arrive: in a burst (a paste, fast typing) Tab still
moves to the next field first; a long reason under a field is shown whole;
the msdos extended layout is a control of its own."""

from __future__ import annotations

from textual import events
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Static

from tests.support.tui import SIZE, choose, go_to, table_keys
from tui.app import PartwrightApp
from tui.screens.form import PartitionForm


def burst(app: PartwrightApp, keys: list[str]) -> None:
    """Every key queued at once, as a terminal hands over a paste."""
    special = {"tab": "\t", "enter": "\r", "shift+tab": None}
    for key in keys:
        app.post_message(events.Key(key, special[key] if key in special else key))


def typed(text: str) -> list[str]:
    return ["tab" if ch == "\t" else ch for ch in text]


async def open_add_form(pilot: Pilot[None], app: PartwrightApp) -> PartitionForm:
    await pilot.press("a")
    await pilot.pause()
    form = app.screen
    assert isinstance(form, PartitionForm)
    for field in form.query(Input):
        field.value = ""
    form.query_one("#name", Input).focus()
    await pilot.pause()
    return form


async def test_tabs_in_a_burst_fill_three_fields() -> None:
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        await go_to(pilot, "home")
        form = await open_add_form(pilot, app)
        burst(app, typed("var\t512M\t/var"))
        await pilot.pause(0.3)
        values = {f.id: f.value for f in form.query(Input)}
        assert (values["name"], values["size"], values["mountpoint"]) == ("var", "512M", "/var")
        burst(app, ["enter"])
        await pilot.pause(0.3)
        part = app.layout.partition("var")
        assert part is not None and (part.size_mb, part.mountpoint) == (512, "/var")
        assert "var" in table_keys(app)


async def test_shift_tab_in_a_burst_goes_back() -> None:
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_add_form(pilot, app)
        burst(app, [*typed("a\t2G"), "shift+tab", *typed("b")])
        await pilot.pause(0.3)
        # back in the name field, whose text focus selects: the b replaces the a
        assert form.query_one("#name", Input).value == "b"
        assert form.query_one("#size", Input).value == "2G"


async def test_a_long_reason_under_a_field_is_not_cut_off() -> None:
    app = PartwrightApp()
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_add_form(pilot, app)
        await pilot.press(*"prep")
        await pilot.pause()
        problem = form.query_one("#name-problem", Static)
        reason = str(problem.render())
        assert "reserved" in reason and "efi_csm efi" in reason
        width = problem.content_region.width
        assert len(reason) > width  # longer than a line here: it wraps ...
        assert problem.content_region.height >= -(-len(reason) // width)  # ... onto enough lines


async def test_the_msdos_extended_layout_has_a_control() -> None:
    app = PartwrightApp()
    async with app.run_test(size=SIZE) as pilot:
        extended = app.main.query_one("#set-extended", Checkbox)
        assert extended.disabled  # gpt: nothing to choose
        await choose(pilot, "set-table", "msdos")
        assert "msdos-primaries" in [d.code for d in app.plan.diagnostics]
        assert not extended.disabled and not extended.value
        extended.focus()
        await pilot.press("space")
        await pilot.pause()
        assert app.layout.dosparttable_extended_layout is True
        assert "msdos-primaries" not in [d.code for d in app.plan.diagnostics]
        assert any(e.role == "extended" for e in app.plan.entries)
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert app.layout.dosparttable_extended_layout is None and not extended.value
