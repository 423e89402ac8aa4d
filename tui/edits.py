"""Edits of a Layout, addressed by the rows the user sees.

Rows of the partition table carry the planner's keys (`root`, `bootclone1`,
`home`, `homeclone2`, `efi` ...). These pure functions turn "the user pressed
+ on that row" into a new Layout, or refuse with an `EditRefused` whose
message the app shows as it is. No Textual, no sector arithmetic: the new
Layout goes back through the planner.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from engine.layout.model import Layout, Partition
from engine.plan.model import Plan
from engine.plan.planner import plan as make_plan

ROOT_KEYS = ("root", "readonly")  # root_clone clones the read-only part with overlayroot
FormKind = Literal["custom", "boot", "root"]


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


def keep_unset(layout: Layout, saved: Layout, changes: dict[str, object]) -> dict[str, object]:
    """`changes` with a field kept unset when the description had it unset and
    the value set is what KIWI does anyway (so a save does not add it)."""
    out = dict(changes)
    for field, value in changes.items():
        if value is None or getattr(saved, field, None) is not None:
            continue
        explicit = make_plan(layout.with_changes(**{**out, field: value}))
        unset = make_plan(layout.with_changes(**{**out, field: None}))
        if (explicit.entries, explicit.partids, explicit.disk_sectors) == (
                unset.entries, unset.partids, unset.disk_sectors):
            out[field] = None
    return out


# --- the partition form ------------------------------------------------------------
@dataclass(frozen=True)
class FormRequest:
    """What the partition form opens with, and what its result edits: a new
    custom partition (after `after`), the custom partition `editing`, or the
    boot or root partition."""

    kind: FormKind
    title: str
    values: dict[str, object]
    taken: frozenset[str] = frozenset()  # names a custom partition cannot take
    editing: Partition | None = None
    after: str | None = None


@dataclass(frozen=True)
class FormResult:
    """What the form gives back: a custom Partition, or the boot or root fields."""

    kind: FormKind
    partition: Partition | None = None  # custom
    size_mb: int | None = None  # boot: bootpartsize, root: oem-systemsize
    filesystem: str | None = None
    clones: int = 0


def add_request(layout: Layout, plan: Plan, key: str) -> FormRequest:
    """The form for a new custom partition after the row `key`'s (if custom)."""
    name = new_partition_name(layout)
    values: dict[str, object] = {"name": name, "size": "1G", "mountpoint": f"/{name}",
                                 "filesystem": "ext4", "clones": 0}
    return FormRequest("custom", "Add a partition", values,
                       frozenset(p.name for p in layout.partitions),
                       after=custom_name(layout, plan, key))


def edit_request(layout: Layout, plan: Plan, key: str) -> FormRequest:
    """The form for the partition of the row `key` (EditRefused: it has none)."""
    origin = origin_key(plan, key)
    part = layout.partition(origin)
    if part is not None:
        values: dict[str, object] = {
            "name": part.name, "size": part.size_mb, "mountpoint": part.mountpoint,
            "filesystem": part.filesystem, "clones": part.clone,
            "partition_name": part.partition_name, "label": part.label}
        taken = frozenset(p.name for p in layout.partitions) - {part.name}
        return FormRequest("custom", f"Edit {part.name}", values, taken, editing=part)
    if origin == "boot":
        return FormRequest("boot", "The boot partition", {
            "size": layout.bootpartsize, "filesystem": layout.bootfilesystem,
            "clones": layout.boot_clone})
    if origin in ROOT_KEYS:
        return FormRequest("root", "The root partition", {
            "size": layout.oem_systemsize, "filesystem": layout.filesystem,
            "clones": layout.root_clone})
    raise EditRefused(f"{row_title(plan, key)} follows the type settings"
                      " (firmware, swap, spare): change it there (key s)")


def form_edit(layout: Layout, request: FormRequest, result: FormResult) -> Edit:
    """The edit the form's result makes (EditRefused: a name taken meanwhile)."""
    if result.kind == "boot":
        return edit_boot(layout, result.size_mb, result.filesystem, result.clones)
    if result.kind == "root":
        return edit_root(layout, result.size_mb, result.filesystem, result.clones)
    assert result.partition is not None
    if request.editing is None:
        return add_partition(layout, result.partition, request.after)
    new = keep_partition_fields(request.editing, result.partition)
    return replace_partition(layout, request.editing.name, new)
