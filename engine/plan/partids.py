"""/config.partids: KIWI's map from partition roles to numbers.

One `key="value"` line per entry, keys in plain ASCII order (KIWI sorts
them, so capitalised keys come before the lower-case clone keys). Values are
partition numbers, except kiwi_RaidDev, the md device node.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from engine.layout.model import Layout

if TYPE_CHECKING:
    from engine.plan.kiwi_order import Request
    from engine.plan.placement import Slot

RAID_DEVICE = "/dev/md0"  # the first md node, which KIWI's build takes


def partids_for(
    placed: Iterable[tuple[Request | None, Slot]], layout: Layout
) -> tuple[tuple[str, str], ...]:
    """The partids of the partitions KIWI created (in creation order)."""
    ids: dict[str, str] = {}
    for req, slot in placed:
        if req is None:  # the msdos extended partition has no id
            continue
        ids[req.id_name] = str(slot.number)
        if req.key == "root":
            if req.role == "root":
                if "kiwi_ROPart" in ids:
                    ids["kiwi_RWPart"] = str(slot.number)
                ids.setdefault("kiwi_BootPart", str(slot.number))
            elif req.role == "raid":
                ids["kiwi_RaidPart"] = str(slot.number)
    if "kiwi_RaidPart" in ids:
        ids["kiwi_RaidDev"] = RAID_DEVICE
    if layout.overlayroot and layout.overlayroot_write_partition is False and "kiwi_ROPart" in ids:
        ids["kiwi_RootPart"] = ids["kiwi_ROPart"]
    return tuple(sorted(ids.items()))
