"""The keymap, as data: the bindings, the help screen and the command palette
all come from this one table."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True)
class Key:
    keys: str  # Textual key names, comma separated
    display: str  # as the help screen and footer show it
    action: str
    title: str  # command palette title
    help: str
    footer: bool = True
    short: str = ""  # the footer's word (default: the title)


KEYS: tuple[Key, ...] = (
    Key("a", "a", "add", "Add partition", "Add a custom partition after the selected one",
        short="add"),
    Key("d", "d", "delete", "Delete partition", "Delete the selected custom partition",
        short="delete"),
    Key("e", "e / Enter", "edit", "Edit partition", "Edit the selected partition in a form",
        short="edit"),
    Key("plus", "+", "clones(1)", "Add a clone", "Raise the clone count of the selected partition",
        short="clone"),
    Key("minus", "-", "clones(-1)", "Remove a clone",
        "Lower the clone count of the selected partition", short="unclone"),
    Key("shift+up", "shift+↑", "move(-1)", "Move partition up",
        "Move the selected custom partition one place up", footer=False),
    Key("shift+down", "shift+↓", "move(1)", "Move partition down",
        "Move the selected custom partition one place down", footer=False),
    Key("ctrl+z", "ctrl+z", "undo", "Undo", "Take back the last edit", short="undo"),
    Key("ctrl+y", "ctrl+y", "redo", "Redo", "Make the last undone edit again", footer=False),
    Key("ctrl+s", "ctrl+s", "save", "Save", "Save the description back to its file (atomic)",
        short="save"),
    Key("ctrl+e", "ctrl+e", "export", "Export", "Write the description to a new path (atomic)",
        footer=False),
    Key("b", "b", "build", "Build image", "Build the disk image (asks for the output)",
        short="build"),
    Key("s", "s", "settings", "Settings", "Go to the type settings (show them on a narrow screen)",
        footer=False),
    Key("t", "t", "table", "Partition table", "Go to the partition table", footer=False),
    Key("x", "x", "diagnostics", "Diagnostics", "Go to the diagnostics", footer=False),
    Key("ctrl+t", "ctrl+t", "toggle_dark", "Light/dark theme", "Switch between light and dark",
        footer=False),
    Key("question_mark", "?", "help", "Help", "Show the keys", short="help"),
    Key("q", "q", "quit", "Quit", "Quit (asks when there are unsaved changes)", short="quit"),
)


def bindings() -> list[BindingType]:
    return [
        Binding(k.keys, k.action, k.short or k.title, show=k.footer,
                key_display=k.display.split(" /")[0].replace("ctrl+", "^"),
                tooltip=k.help)
        for k in KEYS
    ]


# Tab and shift+Tab move the focus before the next key is handled: as priority
# bindings they act when the app reads the key, not after the focused input
# has passed it back, so keys in a burst (a paste, fast typing) land in the
# field the Tab moved to. The screens with text fields use these.
FOCUS_KEYS: list[BindingType] = [
    Binding("tab", "app.focus_next", "Next field", show=False, priority=True),
    Binding("shift+tab", "app.focus_previous", "Previous field", show=False, priority=True),
]
