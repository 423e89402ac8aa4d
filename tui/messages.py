"""Messages the widgets post; the app owns the state and answers them."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class PartitionChosen(Message):
    """The user moved to a partition (a table row, a map segment, a diagnostic)."""

    def __init__(self, key: str, focus_table: bool = False) -> None:
        super().__init__()
        self.key = key
        self.focus_table = focus_table


class EditRequested(Message):
    """Enter (or a double click) on a row: open its form."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key


class SettingsChanged(Message):
    """A type setting changed: the Layout fields to change, a history label, and
    a tag under which consecutive changes of one field coalesce into one step."""

    def __init__(self, changes: dict[str, Any], label: str, tag: str) -> None:
        super().__init__()
        self.changes = changes
        self.label = label
        self.tag = tag

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SettingsChanged) and message.tag == self.tag
