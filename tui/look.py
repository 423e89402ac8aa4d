"""How things look: sizes for people, colours of partitions and severities.

The partition colours are mid-tone fills that read on light and dark
backgrounds alike; a clone is its origin's colour blended towards the
background (two alternating shades, so neighbouring clones stay apart).
Severity colours come from the active Textual theme.
"""

from __future__ import annotations

from functools import lru_cache

from textual.app import App
from textual.color import Color

from engine.plan.model import Plan
from engine.units import MIB, size_text

ROLE_COLOURS = {
    "bios_grub": "#8c8c8c",
    "efi": "#d9a21b",
    "prep": "#c98f2a",
    "boot": "#e0743a",
    "swap": "#a463c9",
    "spare": "#9c9c4a",
    "readonly": "#3f7fd9",
    "root": "#3f7fd9",
    "lvm": "#3f7fd9",
    "raid": "#3f7fd9",
    "extended": "#7a7a7a",
}
CUSTOM_COLOURS = ("#2aa6a0", "#5cae4a", "#cc5f96", "#7a6fe0", "#b8863b", "#4a9fd9")
FREE_COLOUR = "#7f7f7f"


def human_bytes(n: int) -> str:
    """1.5 GiB, 300 MiB, 512 KiB: whole units without decimals."""
    return size_text(n, smallest="KiB", trim=True)


def human_mb(mb: int) -> str:
    return human_bytes(mb * MIB)


def origin_colours(plan: Plan) -> dict[str, str]:
    """A colour for every origin key: by role, and each custom partition its
    own by its place in the layout (so a colour stays with its partition
    whether or not KIWI gets to create it)."""
    colours: dict[str, str] = {
        part.name: CUSTOM_COLOURS[i % len(CUSTOM_COLOURS)]
        for i, part in enumerate(plan.layout.partitions)
    }
    for entry in plan.entries:
        key = entry.clone_of or entry.key
        if key not in colours:
            origin = plan.entry(key) or entry
            colours[key] = ROLE_COLOURS.get(origin.role, "#7a7a7a")
    return colours


def entry_colours(plan: Plan, background: str) -> dict[str, str]:
    """A colour for every entry key: origins solid, clones shaded towards `background`."""
    base = origin_colours(plan)
    out: dict[str, str] = {}
    for entry in plan.entries:
        factor = (0.35 if entry.clone_index % 2 else 0.55) if entry.clone_of else 0.0
        out[entry.key] = _shade(base[entry.clone_of or entry.key], background, factor)
    return out


@lru_cache(maxsize=1024)
def _shade(colour: str, background: str, factor: float) -> str:
    """`colour` blended `factor` of the way towards `background`, as hex (the
    same few shades on every re-plan: cached)."""
    shade = Color.parse(colour)
    if factor:
        shade = shade.blend(Color.parse(background), factor)
    return shade.hex


def theme_colour(app: App[object], name: str, fallback: str) -> str:
    """A colour variable of the active theme ("error", "warning", "background" ...)."""
    try:
        value = app.theme_variables.get(name)
    except Exception:  # noqa: BLE001 - before the app runs there are no variables
        value = None
    if not value:
        return fallback
    try:
        return Color.parse(value).hex
    except Exception:  # noqa: BLE001
        return fallback


def severity_colour(app: App[object], severity: str) -> str:
    """The theme's text colour for a severity (the text-* variants read on
    both light and dark backgrounds)."""
    if severity == "error":
        return theme_colour(app, "text-error", "#d03030")
    if severity == "warning":
        return theme_colour(app, "text-warning", "#a86d1c")
    return theme_colour(app, "text-primary", "#3080c0")


def background(app: App[object]) -> str:
    return theme_colour(app, "background", "#1e1e1e")
