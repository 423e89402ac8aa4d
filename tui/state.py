"""The undoable model of the designer: the current Layout and its history.

A `Session` is an immutable value. Every edit makes a new Session whose undo
stack holds the Layout before the edit (with a label saying what the edit
did); undo and redo move Layouts between the two stacks. Consecutive edits
carrying the same `tag` (typing into one field) coalesce into one step, so a
single ctrl+z takes back the whole value typed. No Textual here: the app keeps
a Session in a reactive and re-plans when it changes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from engine.layout.model import Layout

HISTORY_LIMIT = 500


@dataclass(frozen=True)
class Step:
    """A Layout on a history stack, with the label of the edit that left it."""

    layout: Layout
    label: str


@dataclass(frozen=True)
class Session:
    layout: Layout
    saved: Layout  # the layout as last saved (or loaded): compared for "modified"
    undo_stack: tuple[Step, ...] = ()
    redo_stack: tuple[Step, ...] = ()
    last_tag: str | None = None  # the coalescing tag of the most recent edit

    @classmethod
    def start(cls, layout: Layout) -> Session:
        return cls(layout=layout, saved=layout)

    @property
    def dirty(self) -> bool:
        return self.layout != self.saved

    @property
    def can_undo(self) -> bool:
        return bool(self.undo_stack)

    @property
    def can_redo(self) -> bool:
        return bool(self.redo_stack)

    def edit(self, layout: Layout, label: str, tag: str | None = None) -> Session:
        """The session after an edit that produced `layout`. An edit that
        changes nothing is no step; one with the tag of the previous edit
        replaces that step's result (the undo target stays the same)."""
        if layout == self.layout:
            return self
        if tag is not None and tag == self.last_tag and self.undo_stack:
            top = self.undo_stack[-1]
            if top.layout == layout:  # typed back to where the run started
                return replace(self, layout=layout, undo_stack=self.undo_stack[:-1],
                               redo_stack=(), last_tag=None)
            undo = (*self.undo_stack[:-1], Step(top.layout, label))
            return replace(self, layout=layout, undo_stack=undo, redo_stack=(), last_tag=tag)
        undo = (*self.undo_stack, Step(self.layout, label))[-HISTORY_LIMIT:]
        return replace(self, layout=layout, undo_stack=undo, redo_stack=(), last_tag=tag)

    def undo(self) -> tuple[Session, str] | None:
        """The session with the last edit taken back, and that edit's label."""
        if not self.undo_stack:
            return None
        top = self.undo_stack[-1]
        return replace(
            self,
            layout=top.layout,
            undo_stack=self.undo_stack[:-1],
            redo_stack=(*self.redo_stack, Step(self.layout, top.label)),
            last_tag=None,
        ), top.label

    def redo(self) -> tuple[Session, str] | None:
        """The session with the last undone edit made again, and its label."""
        if not self.redo_stack:
            return None
        top = self.redo_stack[-1]
        return replace(
            self,
            layout=top.layout,
            undo_stack=(*self.undo_stack, Step(self.layout, top.label)),
            redo_stack=self.redo_stack[:-1],
            last_tag=None,
        ), top.label

    def mark_saved(self, layout: Layout | None = None) -> Session:
        """The session after a save of `layout` (default: the current one)."""
        return replace(self, saved=self.layout if layout is None else layout, last_tag=None)
