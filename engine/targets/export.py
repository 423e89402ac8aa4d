"""One entry point for every target: the plan's slots, the shared checks,
the target's own checks, and its files only when no check is an error."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from engine.plan.model import Diagnostic, Plan
from engine.targets import checks, mender, rauc, repart, swupdate, sysupdate
from engine.targets.model import Options, SlotClass, TargetExport, TargetFile, TargetName
from engine.targets.slots import naming_diagnostics, slot_classes

MODULES: dict[TargetName, ModuleType] = {
    "rauc": rauc, "swupdate": swupdate, "mender": mender, "repart": repart, "sysupdate": sysupdate,
}
# targets that need slots (repart describes the whole table, slots or not)
NEEDS_SLOTS: tuple[TargetName, ...] = ("rauc", "swupdate", "mender", "sysupdate")
# targets whose output is a folder of files; the others write one file
FOLDERS: tuple[TargetName, ...] = ("rauc", "mender", "repart", "sysupdate")

Renderer = Callable[[Plan, tuple[SlotClass, ...], Options], tuple[TargetFile, ...]]
Checker = Callable[[Plan, tuple[SlotClass, ...], Options], list[Diagnostic]]


def export_target(plan: Plan, opts: Options) -> TargetExport:
    """The files of `opts.target` for `plan`, or none and the errors that say why."""
    module = MODULES[opts.target]
    classes = slot_classes(plan, opts.naming)
    diags: list[Diagnostic] = checks.plan_errors(plan)
    if opts.target in NEEDS_SLOTS:
        diags += checks.no_slots(classes, opts.target)
        diags += naming_diagnostics(plan, opts.naming, classes)
        diags += checks.common_checks(plan, classes)
    elif opts.naming.scheme != "partlabel" or plan.table == "gpt":
        diags += [d for d in naming_diagnostics(plan, opts.naming, classes)
                  if d.severity == "error"]
    check: Checker = module.check
    if not any(d.code == "layout-errors" for d in diags):
        diags += check(plan, classes, opts)
    folder = opts.target in FOLDERS
    if any(d.severity == "error" for d in diags):
        return TargetExport(opts.target, (), tuple(diags), folder)
    render: Renderer = module.render
    return TargetExport(opts.target, render(plan, classes, opts), tuple(diags), folder)
