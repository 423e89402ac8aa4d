"""Edits of a Layout, addressed by the rows the user sees.

Rows of the partition table carry the planner's keys (`root`, `bootclone1`,
`home`, `homeclone2`, `efi` ...). These pure functions turn "the user pressed
+ on that row" into a new Layout, or refuse with an `EditRefused` whose
message the app shows as it is. No Textual, no sector arithmetic: the new
Layout goes back through the planner.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from engine.layout.model import Layout, Partition
from engine.plan.model import Plan

ROOT_KEYS = ("root", "readonly")  # root_clone clones the read-only part with overlayroot


class EditRefused(Exception):
    """An edit that makes no sense for the chosen row (one line for the user)."""


@dataclass(frozen=True)
class Edit:
    """A new Layout, a label for the history, and the row to keep selected."""

    layout: Layout
    label: str
    select: str | None = None


def origin_key(plan: Plan, key: str) -> str:
    """The key of the partition a row belongs to: a clone's origin, else itself
    (the plan knows the partitions KIWI fails before creating too)."""
    return plan.origin_key(key)


def row_title(plan: Plan, key: str) -> str:
    entry = plan.entry(key)
    if entry is not None and entry.name:
        return entry.name
    if entry is not None:
        return f"partition {entry.number} ({entry.role})"
    return key


def clone_count(layout: Layout, origin: str) -> int | None:
    """How many clones the partition `origin` has, or None when it cannot have any."""
    if origin in ROOT_KEYS:
        return layout.root_clone
    if origin == "boot":
        return layout.boot_clone
    part = layout.partition(origin)
    if part is not None:
        return part.clone
    return None


def change_clones(layout: Layout, plan: Plan, key: str, delta: int) -> Edit:
    """`+`/`-` on a row: the clone count of its partition (root and boot included)."""
    origin = origin_key(plan, key)
    count = clone_count(layout, origin)
    if count is None:
        entry = plan.entry(origin)
        what = row_title(plan, origin)
        if entry is not None and entry.role == "swap":
            raise EditRefused(f"{what}: swap is never cloned (KIWI has no swap clones)")
        raise EditRefused(
            f"{what} cannot be cloned: KIWI clones the root, the boot partition and"
            " custom <partition>s"
        )
    new = count + delta
    if new < 0:
        raise EditRefused(f"{origin} has no clones to remove")
    if origin in ROOT_KEYS:
        changed = layout.with_changes(root_clone=new)
        name = "root"
    elif origin == "boot":
        changed = layout.with_changes(boot_clone=new)
        name = "boot"
    else:
        changed = layout.with_partition(origin, clone=new)
        name = origin
    select = key if plan.entry(key) is not None else origin
    if delta < 0 and key != origin:
        select = origin  # the clone row may be the one that goes away
    return Edit(changed, f"{name} clones {count} → {new}", select)


def custom_name(layout: Layout, plan: Plan, key: str) -> str | None:
    """The custom partition a row belongs to, or None."""
    origin = origin_key(plan, key)
    return origin if layout.partition(origin) is not None else None


def delete_partition(layout: Layout, name: str) -> Edit:
    names = [p.name for p in layout.partitions]
    if name not in names:
        raise EditRefused(f"{name} is not a custom partition")
    index = names.index(name)
    parts = tuple(p for p in layout.partitions if p.name != name)
    if parts:
        select = parts[min(index, len(parts) - 1)].name
    else:
        select = "root"
    return Edit(layout.with_changes(partitions=parts), f"delete {name}", select)


def move_partition(layout: Layout, name: str, delta: int) -> Edit:
    parts = list(layout.partitions)
    names = [p.name for p in parts]
    if name not in names:
        raise EditRefused(f"{name} is not a custom partition: only those can be reordered")
    index = names.index(name)
    target = index + delta
    if not 0 <= target < len(parts):
        where = "first" if delta < 0 else "last"
        raise EditRefused(f"{name} is already the {where} custom partition")
    parts.insert(target, parts.pop(index))
    return Edit(layout.with_changes(partitions=tuple(parts)),
                f"move {name} {'up' if delta < 0 else 'down'}", name)


def add_partition(layout: Layout, part: Partition, after: str | None = None) -> Edit:
    if layout.partition(part.name) is not None:
        raise EditRefused(f"there is already a partition named {part.name}")
    parts = list(layout.partitions)
    names = [p.name for p in parts]
    index = names.index(after) + 1 if after in names else len(parts)
    parts.insert(index, part)
    return Edit(layout.with_changes(partitions=tuple(parts)), f"add {part.name}", part.name)


def replace_partition(layout: Layout, name: str, part: Partition) -> Edit:
    if layout.partition(name) is None:
        raise EditRefused(f"{name} is not a custom partition")
    if part.name != name and layout.partition(part.name) is not None:
        raise EditRefused(f"there is already a partition named {part.name}")
    parts = tuple(part if p.name == name else p for p in layout.partitions)
    label = f"edit {name}" if part.name == name else f"rename {name} → {part.name}"
    return Edit(layout.with_changes(partitions=parts), label, part.name)


def edit_boot(layout: Layout, size_mb: int | None, filesystem: str | None, clones: int) -> Edit:
    changed = layout.with_changes(bootpartsize=size_mb, bootfilesystem=filesystem,
                                  boot_clone=clones)
    return Edit(changed, "edit boot", "boot")


def edit_root(layout: Layout, systemsize: int | None, filesystem: str | None,
              clones: int) -> Edit:
    changed = layout.with_changes(oem_systemsize=systemsize, filesystem=filesystem,
                                  root_clone=clones)
    return Edit(changed, "edit root", "root")


def new_partition_name(layout: Layout) -> str:
    """A free name to suggest in the add form."""
    taken = {p.name for p in layout.partitions}
    for name in ("data", "var", "srv", "opt", "work", "cache"):
        if name not in taken:
            return name
    n = 1
    while f"data{n}" in taken:
        n += 1
    return f"data{n}"


def keep_partition_fields(old: Partition, new: Partition) -> Partition:
    """`new` with the fields the form does not show taken from `old`."""
    return replace(new, partition_type=old.partition_type, part_id=old.part_id)
