"""The data of a comparison: the two tables and what changed between them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from engine.plan.model import Entry

ChangeKind = Literal["kept", "moved", "grown", "shrunk", "added", "removed", "renumbered",
                     "identity"]
# what becomes of a partition on a device that runs OLD when it takes NEW
Fate = Literal["kept", "grown", "reflash", "lost", "new"]
# kept in place / re-flash these slots / rewrite the table, losing these partitions' data
Verdict = Literal["in-place", "reflash", "rewrite"]
Kind = Literal["description", "image", "dump", "device"]


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a partition table, each entry with KIWI's key."""

    source: str
    kind: Kind
    table: str  # gpt | msdos
    disk_sectors: int
    entries: tuple[Entry, ...]
    partids: tuple[tuple[str, str], ...] = ()

    def entry(self, key: str) -> Entry | None:
        return next((e for e in self.entries if e.key == key), None)


def entry_json(e: Entry | None) -> dict[str, Any] | None:
    if e is None:
        return None
    return {"number": e.number, "start": e.start, "end": e.end, "sectors": e.sectors,
            "code": e.code, "name": e.name, "role": e.role, "clone_of": e.clone_of,
            "filesystem": e.filesystem}


@dataclass(frozen=True)
class PartitionChange:
    """One partition, matched by its key across the two tables."""

    key: str
    old: Entry | None
    new: Entry | None
    kinds: tuple[ChangeKind, ...]
    fate: Fate
    detail: str  # what changed, in numbers

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "changes": list(self.kinds), "fate": self.fate,
                "detail": self.detail, "old": entry_json(self.old), "new": entry_json(self.new)}


@dataclass(frozen=True)
class Comparison:
    """OLD against NEW, partition by partition, and the verdict for the field."""

    old: Side
    new: Side
    changes: tuple[PartitionChange, ...]
    verdict: Verdict
    summary: str  # the verdict in one sentence, naming the partitions
    notes: tuple[str, ...] = ()  # table type, disk size, partids

    def keys(self, fate: Fate) -> tuple[str, ...]:
        return tuple(c.key for c in self.changes if c.fate == fate)

    @property
    def lost(self) -> tuple[str, ...]:
        return self.keys("lost")

    @property
    def reflash(self) -> tuple[str, ...]:
        return self.keys("reflash")

    def to_json(self) -> dict[str, Any]:
        return {
            "old": {"source": self.old.source, "kind": self.old.kind, "table": self.old.table,
                    "disk_sectors": self.old.disk_sectors},
            "new": {"source": self.new.source, "kind": self.new.kind, "table": self.new.table,
                    "disk_sectors": self.new.disk_sectors},
            "verdict": self.verdict, "summary": self.summary,
            "kept": list(self.keys("kept")), "grown": list(self.keys("grown")),
            "reflash": list(self.reflash), "lost": list(self.lost),
            "added": list(self.keys("new")),
            "partitions": [c.to_json() for c in self.changes], "notes": list(self.notes),
        }
