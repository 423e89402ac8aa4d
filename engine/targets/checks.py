"""Checks every updater target shares, run on the slot model before anything
is written: sizes within a class, parents, references that break after an
update. Each target module adds its consumer's own rules."""

from __future__ import annotations

from engine.plan.model import Diagnostic, Plan
from engine.targets.model import SlotClass
from engine.targets.slots import BOOT_CLASS, ROOT_CLASS, find_class


def _mib(nbytes: int) -> str:
    mib = nbytes / 1048576
    return f"{mib:.0f} MiB" if mib == int(mib) else f"{mib:.2f} MiB"


def plan_errors(plan: Plan) -> list[Diagnostic]:
    if plan.ok:
        return []
    first = plan.errors[0]
    return [Diagnostic(
        "layout-errors", "error",
        f"the layout has {len(plan.errors)} error(s), first {first.code}: {first.message}",
        first.partition, "fix the layout first (partwright preview shows every diagnostic)")]


def no_slots(classes: tuple[SlotClass, ...], target: str) -> list[Diagnostic]:
    if classes:
        return []
    return [Diagnostic(
        "no-slots", "error", f"no partition has a clone, so {target} has no slot to update",
        "root", "clone the root (root_clone=\"1\")")]


def common_checks(plan: Plan, classes: tuple[SlotClass, ...]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for cls in classes:
        sizes = {s.entry.size_bytes for s in cls.slots}
        if len(sizes) > 1:
            listed = ", ".join(f"{s.name} {_mib(s.entry.size_bytes)}" for s in cls.slots)
            out.append(Diagnostic(
                "slot-size-differs", "warning",
                f"the slots of {cls.name} differ in size ({listed}): an image for the larger"
                " one does not fit the smaller", cls.key,
                "give the partition a fixed size (oem-systemsize for the root)"))
    root = find_class(classes, ROOT_CLASS)
    boot = find_class(classes, BOOT_CLASS)
    if boot is not None:
        roots = {s.index for s in root.slots} if root else set()
        orphans = [s for s in boot.slots if s.index not in roots]
        if orphans:
            out.append(Diagnostic(
                "slot-no-parent", "error",
                f"boot slot {orphans[0].name} ({orphans[0].entry.name or orphans[0].entry.number})"
                f" has no root slot {ROOT_CLASS}.{orphans[0].index} as its parent: its kernel"
                " belongs to no root", "boot",
                "give root_clone the same count as boot_clone"))
    if root is not None and plan.entry("boot") is not None:
        boots = {s.index for s in boot.slots} if boot else {0}
        alone = [s for s in root.slots if s.index not in boots]
        if alone:
            out.append(Diagnostic(
                "slot-unpaired", "warning",
                f"root slot {alone[0].name} has no boot partition of its own: it boots the kernel"
                " of p.lxboot, which an update of the root does not change", "root",
                "give boot_clone the same count as root_clone"))
    persistency = plan.layout.devicepersistency or "by-uuid"
    if classes and persistency in ("by-uuid", "by-label"):
        what = "UUID" if persistency == "by-uuid" else "label"
        out.append(Diagnostic(
            "slot-by-fs-id", "warning",
            f"devicepersistency {persistency} makes fstab and root= name filesystems by {what}:"
            f" after an update a slot holds the image's filesystem, whose {what} is the image's,"
            " so the reference breaks or names the other slot", None,
            'set devicepersistency="by-partuuid" (or name slots by device)'))
    return out
