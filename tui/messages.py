"""Messages that several widgets post (a table row, a map segment, a
diagnostic all choose a partition); the app owns the state and answers them.
A message only one widget posts is nested in that widget (Settings.Changed,
BuildScreen.Progress)."""

from __future__ import annotations

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
