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
    from engine.plan.partitioner import Placed

RAID_DEVICE = "/dev/md0"  # the first md node, which KIWI's build takes


def partids_for(placed: Iterable[Placed], layout: Layout) -> tuple[tuple[str, str], ...]:
    """The partids of the partitions KIWI created (in creation order), by
    KIWI's own partition counter (on msdos logical partitions it can differ
    from the number fdisk gave)."""
    ids: dict[str, str] = {}
    for p in placed:
        req = p.req
        if req is None:  # the msdos extended partition has no id
            continue
        number = str(p.kiwi_id)
        ids[req.id_name] = number
        if req.key == "root":
            if req.role == "root":
                if "kiwi_ROPart" in ids:
                    ids["kiwi_RWPart"] = number
                ids.setdefault("kiwi_BootPart", number)
            elif req.role == "raid":
                ids["kiwi_RaidPart"] = number
    # DiskBuilder.create_disk, after partitioning
    if layout.overlayroot and layout.overlayroot_write_partition is False and "kiwi_ROPart" in ids:
        ids["kiwi_RootPart"] = ids["kiwi_ROPart"]
    if layout.mdraid and "kiwi_RootPart" in ids:
        # _map_raid makes a RAID of whatever the root partition is (LVM, read-only ...)
        ids["kiwi_RaidPart"] = ids["kiwi_RootPart"]
        ids["kiwi_RaidDev"] = RAID_DEVICE
    return tuple(sorted(ids.items()))
