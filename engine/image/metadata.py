"""What KIWI writes about the partitions: /config.partids and etc/fstab.

fstab follows KIWI's DiskBuilder: origin partitions only, one line each,
`<UUID=|LABEL=|PARTUUID=>value mountpoint type options dump pass`, root
`defaults 0 1`, the rest `defaults 0 0`, swap as `swap`, ordered by path
depth then name (KIWI's Path.sort_by_hierarchy).
"""

from __future__ import annotations

from engine.image.filesystems import FsSpec
from engine.image.table import TableIds
from engine.plan.model import Plan

PERSISTENCY_KEYS = {"by-uuid": "UUID", "by-label": "LABEL", "by-partuuid": "PARTUUID"}


def fstab_text(plan: Plan, specs: tuple[FsSpec, ...], ids: TableIds) -> str:
    persistency = plan.layout.devicepersistency or "by-uuid"
    key = PERSISTENCY_KEYS.get(persistency, "UUID")
    lines: dict[str, str] = {}
    for spec in specs:
        if spec.clone_of is not None:
            continue
        mountpoint = "swap" if spec.kind == "swap" else spec.mountpoint
        if not mountpoint:
            continue
        if spec.kind == "squashfs":  # no UUID, no label: KIWI mounts it by PARTUUID
            device = f"PARTUUID={ids.partuuid(spec.number)}"
        elif key == "LABEL" and spec.label:
            device = f"LABEL={spec.label}"
        elif key == "PARTUUID":
            device = f"PARTUUID={ids.partuuid(spec.number)}"
        else:
            device = f"UUID={spec.uuid}"
        check = "0 1" if mountpoint == "/" else "0 0"
        lines[mountpoint] = f"{device} {mountpoint} {spec.blkid_type} defaults {check}"
    ordered = sorted(lines, key=lambda mp: (len(mp.split("/")), mp))
    return "".join(lines[mp] + "\n" for mp in ordered)


def partids_text(plan: Plan) -> str:
    return plan.partids_text()


def parse_partids(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key:
            found[key] = value.strip().strip('"')
    return found
