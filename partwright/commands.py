"""The command line's commands and their one-line help, by the module that
implements them, in the order `partwright --help` lists them.

Built-in modules only: `partwright --help`, an unknown command and the
top-level parser are answered from this table without importing any
command module (and with it the engine, lxml or rich). Each command module
takes its commands' help from here, so the list and the commands cannot
disagree.
"""

from __future__ import annotations

AREAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cmd_layout", ("preview", "partids")),
    ("cmd_export", ("export", "example")),
    ("cmd_edit", ("edit",)),
    ("cmd_build", ("build", "inspect")),
    ("cmd_cow", ("cow",)),
    ("cmd_import", ("import",)),
    ("cmd_diff", ("diff",)),
)

HELP: dict[str, str] = {
    "preview": "print the partition table KIWI would build",
    "partids": "print /config.partids",
    "export": "write the description (a bare <type> becomes a full, valid one)",
    "example": "write the built-in example description",
    "edit": "design a layout interactively (the default command)",
    "build": "write the disk image a description gives",
    "inspect": "read an image back: table, filesystems, clones, partids",
    "cow": "copy-on-write overlays: create, merge, re-share, check",
    "import": "the KIWI description of an image, device or table dump",
    "diff": "compare two layouts: what changes for a device running OLD",
}

COMMANDS: tuple[str, ...] = tuple(name for _, names in AREAS for name in names)


def area_of(command: str) -> str | None:
    """The module (`cmd_layout` ...) that implements `command`, if any."""
    for area, names in AREAS:
        if command in names:
            return area
    return None
