"""Whether IMAGE.partids (KIWI's /config.partids, written next to an image)
agrees with the image: every key names a partition the image has, with the
name KIWI gives it, and every clone key names a clone of its origin that
does not share the origin's identifiers."""

from __future__ import annotations

import re

from engine.image.inspect.model import ClonePair, InspectedPartition

KIWI_NAMES = {
    "kiwi_BiosGrub": ("p.legacy",), "kiwi_EfiPart": ("p.UEFI",), "kiwi_PrepPart": ("p.prep",),
    "kiwi_BootPart": ("p.lxboot", "p.lxroot"), "kiwi_SwapPart": ("p.swap",),
    "kiwi_SparePart": ("p.spare",), "kiwi_ROPart": ("p.lxreadonly",),
    "kiwi_RootPart": ("p.lxroot", "p.lxlvm", "p.lxraid", "p.lxreadonly"),
}
CLONE_KEY = re.compile(r"^kiwi_(?P<name>.+)PartClone(?P<n>\d+)$")


def partids_problems(found: dict[str, str], parts: list[InspectedPartition],
                     clones: tuple[ClonePair, ...], label: str) -> list[str]:
    """Where IMAGE.partids and the image disagree."""
    problems: list[str] = []
    by_number = {p.number: p for p in parts}
    clone_sets: dict[int, set[int]] = {}
    for pair in clones:
        clone_sets.setdefault(pair.origin, {pair.origin}).add(pair.clone)
    for members in list(clone_sets.values()):
        for member in members:
            clone_sets[member] = members
    for key, value in sorted(found.items()):
        if key == "kiwi_RaidDev":
            continue
        if not value.isdigit() or int(value) not in by_number:
            problems.append(f"{key}={value}: the image has no partition {value}")
            continue
        part = by_number[int(value)]
        names = KIWI_NAMES.get(key)
        if label == "gpt" and names and part.name not in names:
            problems.append(f"{key}={value}: partition {value} is named {part.name!r}")
        match = CLONE_KEY.match(key)
        if match:
            origin_key = f"kiwi_{match['name'][:1].upper()}{match['name'][1:].lower()}Part"
            origin = found.get(origin_key)
            if origin is None or not origin.isdigit():
                problems.append(f"{key}={value}: no {origin_key} for its origin")
            elif origin == value:
                problems.append(f"{key}={value}: names the same partition as {origin_key}={origin},"
                                " not a clone of it")
            elif int(value) not in clone_sets.get(int(origin), set()):
                problems.append(f"{key}={value}: partition {value} is not a clone of partition {origin}")
            elif not any(p.clone == int(value) and not p.identical and not p.shared
                         for p in clones):
                problems.append(f"{key}={value}: partition {value} shares its identifiers with {origin}")
    return problems
