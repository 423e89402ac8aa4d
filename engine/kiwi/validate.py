"""Which Layouts can be written as a KIWI description KIWI accepts.

`name_problems` lists partition names KIWI rejects (reserved substrings,
`partition_name` over 32 characters or outside `[a-zA-Z0-9_.-]`, duplicates)
and names that make invalid shell variables in /config.partids;
`value_problems` lists values KIWI's schema refuses. `refuse` turns the first
problem into a one-line DescriptionError. The writer and the exporter call
these before writing anything.
"""

from __future__ import annotations

from engine.errors import DescriptionError
from engine.kiwi.schema import (
    OEM_ELEMENTS,
    PARTITION_ATTRS,
    TYPE_ATTRS,
    VOLUME_ATTRS,
    Spec,
    ValueProblem,
    check_value,
    shown,
)
from engine.layout import names
from engine.layout.model import Layout


def name_problems(layout: Layout, only: set[str] | None = None) -> list[str]:
    """Partition names KIWI would reject or that break /config.partids, as
    one-line messages (all partitions, or only those named in `only`)."""
    problems: list[str] = []
    seen: set[str] = set()
    for part in layout.partitions:
        if part.name in seen:
            problems.append(f"partition name {shown(part.name)} is used twice")
        seen.add(part.name)
        if only is not None and part.name not in only:
            continue
        problems += [f"<partition name>: {p}" for p in names.name_problems(part.name)]
        if part.partition_name is not None:
            problems += [f"<partition name={shown(part.name)}>: {p}" for p in names.partition_name_problems(part.partition_name)]
    return problems


def value_problems(layout: Layout) -> list[str]:
    """Layout values that cannot be written as KIWI attributes."""
    problems: list[str] = []

    def check(spec: Spec, value: object, where: str) -> None:
        try:
            check_value(spec, value)
        except ValueProblem as exc:
            shown_exc = "not valid" if spec.kind == "secret" else str(exc)
            problems.append(f"{where} {spec.xml}: {shown_exc}")

    for spec in TYPE_ATTRS:
        check(spec, getattr(layout, spec.field), "<type>")
    for spec in OEM_ELEMENTS:
        check(spec, getattr(layout, spec.field), "<oemconfig>")
    for part in layout.partitions:
        for spec in PARTITION_ATTRS:
            check(spec, getattr(part, spec.field), f"<partition name={shown(part.name)}>")
    if layout.systemdisk is not None:
        check(Spec("name", "", "text"), layout.systemdisk.name, "<systemdisk>")
        check(Spec("preferlvm", "", "bool"), layout.systemdisk.preferlvm, "<systemdisk>")
        for vol in layout.systemdisk.volumes:
            for spec in VOLUME_ATTRS:
                check(spec, getattr(vol, spec.field), f"<volume name={shown(vol.name)}>")
            if vol.all_free and vol.size_mb is not None:
                problems.append(f"<volume name={shown(vol.name)}>: size_mb is set and all_free is true")
    for what, value in (("<size>", layout.size_mb), ("<size> unpartitioned", layout.unpartitioned_mb)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            problems.append(f"{what}: {shown(value)} is not a whole number of MiB >= 0")
    if layout.size_mb is None and (layout.unpartitioned_mb is not None or layout.size_additive is not None):
        problems.append("<size>: additive or unpartitioned is set without a size")
    if layout.unpartitioned_mb is not None and layout.size_mb is not None and layout.unpartitioned_mb > layout.size_mb:
        problems.append("<size> unpartitioned: larger than the size; KIWI refuses it")
    return problems


def refuse(source: str, problems: list[str]) -> None:
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise DescriptionError(f"{source}: cannot write: {problems[0]}{more}")
