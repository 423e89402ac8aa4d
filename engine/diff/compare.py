"""compare(old, new): partition by partition, and the verdict for a device
in the field that runs OLD.

Partitions are matched by KIWI's key (root, rootclone1, home ...); what is
left unmatched is matched by its sectors (a renamed partition). For each:

- kept: same sectors (a new number, name or type is a table edit: the data
  stays); its fate is "kept";
- grown: same start, more sectors: the data stays, the filesystem grows;
- shrunk: same start, fewer sectors: the slot must be re-flashed;
- identity changed (name, type code, role, clone origin, filesystem): a
  different filesystem means the slot must be re-flashed;
- moved (another start) or removed: the data on it is lost;
- added: a new partition.

Verdict: "rewrite" when any data is lost (or partitions are renumbered, or
the table type changes: the table must be written anew); else "reflash"
when some slot must be re-flashed; else "in-place": only free space and the
last partition change.
"""

from __future__ import annotations

from engine.diff.model import ChangeKind, Comparison, Fate, Kind, PartitionChange, Side, Verdict
from engine.plan.model import Entry, Plan
from engine.units import MIB, SECTOR_SIZE


def side_of_plan(plan: Plan, source: str, kind: Kind = "description") -> Side:
    return Side(source=source, kind=kind, table=plan.table, disk_sectors=plan.disk_sectors,
                entries=plan.entries, partids=plan.partids)


def _size(sectors: int) -> str:
    mb = sectors * SECTOR_SIZE / MIB
    return f"{mb / 1024:.1f} GiB" if mb >= 1024 else f"{mb:.1f} MiB"


def _where(e: Entry) -> str:
    return f"{e.number}: {e.start}-{e.end} ({_size(e.sectors)})"


def _pairs(old: Side, new: Side) -> list[tuple[str, Entry | None, Entry | None]]:
    """(key, old, new): by key, then the rest by sectors, then the rest alone."""
    new_by_key = {e.key: e for e in new.entries}
    used: set[int] = set()
    pairs: list[tuple[str, Entry | None, Entry | None]] = []
    unmatched: list[Entry] = []
    for o in old.entries:
        n = new_by_key.get(o.key)
        if n is not None and n.number not in used and o.role != "extended":
            used.add(n.number)
            pairs.append((o.key, o, n))
        else:
            unmatched.append(o)
    for o in unmatched:
        n = next((e for e in new.entries if e.number not in used and e.start == o.start
                  and e.end == o.end), None)
        if n is not None:
            used.add(n.number)
        pairs.append((o.key if n is None else n.key, o, n))
    pairs += [(e.key, None, e) for e in new.entries if e.number not in used]
    return pairs


def _identity(o: Entry, n: Entry) -> list[str]:
    found = []
    for what, a, b in (("name", o.name, n.name), ("type", o.code, n.code),
                       ("role", o.role, n.role), ("clone of", o.clone_of, n.clone_of)):
        if a != b:
            found.append(f"{what} {a or '-'} -> {b or '-'}")
    if o.filesystem and n.filesystem and o.filesystem != n.filesystem:
        found.append(f"filesystem {o.filesystem} -> {n.filesystem}")
    return found


def change(key: str, o: Entry | None, n: Entry | None) -> PartitionChange:
    """What happened to one partition, and what that means on the device."""
    if o is None:
        assert n is not None
        return PartitionChange(key, None, n, ("added",), "new", f"new: {_where(n)}")
    if n is None:
        return PartitionChange(key, o, None, ("removed",), "lost", f"was {_where(o)}")
    kinds: list[ChangeKind] = []
    details: list[str] = []
    if n.start != o.start:
        kinds.append("moved")
        details.append(f"start {o.start} -> {n.start}")
    if n.sectors > o.sectors:
        kinds.append("grown")
    elif n.sectors < o.sectors:
        kinds.append("shrunk")
    if n.sectors != o.sectors:
        details.append(f"{_size(o.sectors)} -> {_size(n.sectors)}")
    if n.number != o.number:
        kinds.append("renumbered")
        details.append(f"number {o.number} -> {n.number}")
    identity = _identity(o, n)
    if identity:
        kinds.append("identity")
        details += identity
    fate: Fate = "kept"
    if "moved" in kinds:
        fate = "lost"
    elif "shrunk" in kinds or (o.filesystem and n.filesystem and o.filesystem != n.filesystem):
        fate = "reflash"
    elif "grown" in kinds:
        fate = "grown"
    if not kinds:
        kinds.append("kept")
        details.append(_where(o))
    return PartitionChange(key, o, n, tuple(kinds), fate, "; ".join(details))


def _named(changes: list[PartitionChange], fate: Fate) -> str:
    picked = [c for c in changes if c.fate == fate]
    return ", ".join(f"{(c.old or c.new).number} ({c.key})"  # type: ignore[union-attr]
                     for c in picked)


def compare(old: Side, new: Side) -> Comparison:
    """OLD against NEW (see the module docstring)."""
    changes = [change(key, o, n) for key, o, n in _pairs(old, new)]
    notes: list[str] = []
    if old.table != new.table:
        notes.append(f"the table type changes: {old.table} -> {new.table}")
    if old.disk_sectors != new.disk_sectors:
        notes.append(f"the disk is {_size(old.disk_sectors)} in OLD, {_size(new.disk_sectors)}"
                     " in NEW")
        past = [c.key for c in changes if c.new is not None and c.new.end >= old.disk_sectors]
        if past:
            notes.append(f"on a device of OLD's size, {', '.join(past)} would end past the device")
    if old.partids and new.partids and old.partids != new.partids:
        a, b = dict(old.partids), dict(new.partids)
        moved = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        notes.append("/config.partids changes: " + ", ".join(
            f"{k} {a.get(k, '-')} -> {b.get(k, '-')}" for k in moved))
    renumbered = [c for c in changes if "renumbered" in c.kinds and c.fate != "lost"]
    verdict: Verdict
    if any(c.fate == "lost" for c in changes):
        verdict = "rewrite"
        summary = ("the table must be rewritten, and the data on these partitions is lost: "
                   + _named(changes, "lost"))
        kept = _named(changes, "kept")
        if kept:
            summary += f"; kept as they are: {kept}"
    elif renumbered or old.table != new.table:
        verdict = "rewrite"
        summary = ("the table must be rewritten (" + ", ".join(
            f"{c.key} {c.old.number} -> {c.new.number}"  # type: ignore[union-attr]
            for c in renumbered) + ("" if renumbered else f"{old.table} -> {new.table}")
            + "); no partition's data is lost")
    elif any(c.fate == "reflash" for c in changes):
        verdict = "reflash"
        summary = ("every partition stays where it is; these slots must be re-flashed: "
                   + _named(changes, "reflash"))
    else:
        verdict = "in-place"
        grown, added = _named(changes, "grown"), _named(changes, "new")
        what = [f"added {added}" if added else "", f"grown {grown}" if grown else ""]
        summary = "the update fits in place: only free space and the last partition change"
        if all(c.kinds == ("kept",) for c in changes):
            summary = "the update fits in place: the two tables are the same"
        elif any(what):
            summary += " (" + "; ".join(w for w in what if w) + ")"
    if any(c.fate == "grown" for c in changes) and verdict != "in-place":
        summary += "; grown in place (their filesystems grow): " + _named(changes, "grown")
    return Comparison(old, new, tuple(changes), verdict, summary, tuple(notes))
