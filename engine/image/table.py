"""The partition table, written with pyparted at the planned sectors.

GPT: names, flags (bios_grub, esp, swap, lvm, raid, prep); then gpt.py sets
the type GUIDs libparted has no flag for, the disk GUID and every PARTUUID
(from the build's Identity) in one pass. msdos: primary, extended and logical
partitions, type ids through flags, the active flag where KIWI sets it, and
the disk identifier. Exact geometry everywhere: no alignment games.
"""

from __future__ import annotations

from dataclasses import dataclass

import _ped
import parted

from engine.errors import PartwrightError, ToolError
from engine.image import gpt
from engine.image.identity import Identity
from engine.plan.model import Entry, Plan

# flags that give the type on gpt, by sgdisk code
GPT_FLAGS: dict[str, str] = {
    "EF02": "bios_grub", "EF00": "esp", "8200": "swap", "8E00": "lvm",
    "FD00": "raid", "4100": "prep",
}
# flags that give the type id on msdos
MSDOS_FLAGS: dict[str, str] = {"82": "swap", "8E": "lvm", "FD": "raid", "41": "prep"}
MSDOS_PLAIN = ("83",)
PARTED_ERRORS: tuple[type[BaseException], ...] = tuple(
    getattr(_ped, name) for name in dir(_ped) if name.endswith("Exception")
)


@dataclass(frozen=True)
class TableIds:
    """The identifiers written into the table."""

    disk_id: str  # GPT disk GUID, or msdos "0x1234abcd"
    partuuids: tuple[tuple[int, str], ...]  # (number, PARTUUID), lower case as blkid prints

    def partuuid(self, number: int) -> str:
        return dict(self.partuuids)[number]


def active_entry(plan: Plan) -> Entry | None:
    """The partition KIWI marks active on msdos: PReP on ofw; else boot, else root."""
    if plan.table != "msdos":
        return None
    by_role = {e.role: e for e in plan.entries if not e.is_clone}
    if plan.layout.resolved_firmware in ("ofw", "opal"):
        return by_role.get("prep")
    for role in ("prep", "boot", "root", "lvm", "raid"):
        if role in by_role:
            return by_role[role]
    return None


def write_table(path: str, plan: Plan, ident: Identity) -> TableIds:
    """Write the plan's table into the (already sized) file at `path`."""
    if plan.table not in ("gpt", "msdos"):
        raise PartwrightError(f"building a {plan.table} table is not supported (gpt and msdos are)")
    try:
        numbers = _write_with_parted(path, plan)
    except PARTED_ERRORS as exc:
        raise ToolError(f"libparted could not write the {plan.table} table: {exc}") from exc
    if plan.table == "gpt":
        disk_guid = ident.uuid_str("disk-guid").upper()
        partuuids = dict(planned_ids(plan, ident).partuuids)
        types = {e.number: gpt.type_guid(e.code) for e in plan.entries}
        renumber = {got: want for got, want in numbers.items() if got != want}
        gpt.patch_gpt(
            path, disk_guid=disk_guid, part_guids=partuuids, type_guids=types,
            renumber=renumber or None, sector_size=plan.sector_size,
        )
        return TableIds(disk_guid.lower(), tuple(sorted(partuuids.items())))
    ids = planned_ids(plan, ident)
    gpt.set_mbr_disk_id(path, int(ids.disk_id, 16))
    return ids


def planned_ids(plan: Plan, ident: Identity) -> TableIds:
    """The disk identifier and every PARTUUID a build with `ident` writes,
    without writing anything (updater configurations name slots by them)."""
    if plan.table == "gpt":
        return TableIds(
            ident.uuid_str("disk-guid"),
            tuple(sorted((e.number, ident.uuid_str(f"partuuid/{e.number}")) for e in plan.entries)),
        )
    disk_id = ident.serial("msdos-disk-id")
    return TableIds(
        f"0x{disk_id:08x}",
        tuple((e.number, f"{disk_id:08x}-{e.number:02x}") for e in plan.entries),
    )


def _flag(name: str) -> int:
    return int(_ped.partition_flag_get_by_name(name))


def _write_with_parted(path: str, plan: Plan) -> dict[int, int]:
    """Returns {libparted's number: planned number}."""
    dev = parted.getDevice(path)
    dev.open()  # before anything reads maxSupportedPartitionCount (SIGABRT otherwise)
    try:
        if dev.sectorSize != plan.sector_size:
            raise PartwrightError(
                f"{path} has {dev.sectorSize}-byte sectors; the plan has {plan.sector_size}"
            )
        disk = parted.freshDisk(dev, plan.table)
        active = active_entry(plan)
        numbers: dict[int, int] = {}
        # primaries and the extended one first, logical ones after (libparted
        # needs the extended partition to exist before its logical partitions)
        ordered = sorted(plan.entries, key=lambda e: (e.logical, e.number))
        for entry in ordered:
            geom = parted.Geometry(device=dev, start=entry.start, end=entry.end)
            if entry.role == "extended":
                ptype = parted.PARTITION_EXTENDED
            elif entry.logical:
                ptype = parted.PARTITION_LOGICAL
            else:
                ptype = parted.PARTITION_NORMAL
            part = parted.Partition(disk=disk, type=ptype, geometry=geom)
            disk.addPartition(part, constraint=parted.Constraint(exactGeom=geom))
            numbers[part.number] = entry.number
            if plan.table == "gpt":
                if entry.name:
                    part.name = entry.name
                flag = GPT_FLAGS.get(entry.code.upper())
                if flag:
                    part.setFlag(_flag(flag))
            elif entry.role != "extended":
                code = entry.code.upper()
                flag = MSDOS_FLAGS.get(code)
                if flag:
                    part.setFlag(_flag(flag))
                elif code not in MSDOS_PLAIN:
                    raise PartwrightError(
                        f"partition {entry.number}: msdos type {entry.code} cannot be written"
                    )
                if active is not None and entry.number == active.number:
                    part.setFlag(_flag("boot"))
        if plan.table == "msdos" and any(g != w for g, w in numbers.items()):
            raise PartwrightError("msdos partition numbers must be 1-4 then 5, 6 ... for logical ones")
        disk.commitToDevice()
        return numbers
    finally:
        dev.close()
        dev.removeFromCache()  # libparted keeps devices by path, with the size they had


def image_ids(path: str, plan: Plan) -> TableIds:
    """The PARTUUIDs of an image built for `plan`, read from its table; a
    one-line error when the image does not hold the plan's partitions."""
    try:
        if plan.table == "gpt":
            header, found = gpt.read_gpt(path, plan.sector_size)
            by_number = {g.number: g for g in found}
            for e in plan.entries:
                g = by_number.get(e.number)
                if g is None or (g.first, g.last) != (e.start, e.end):
                    where = "no partition" if g is None else f"sectors {g.first}-{g.last}"
                    raise PartwrightError(
                        f"{path}: partition {e.number} is {where}, the plan has sectors"
                        f" {e.start}-{e.end}: not an image of this layout")
            return TableIds(header.disk_guid.lower(),
                            tuple((e.number, by_number[e.number].part_guid.lower())
                                  for e in plan.entries))
        disk_id = gpt.read_mbr_disk_id(path)
    except OSError as exc:
        raise PartwrightError(f"{path}: cannot read the image: {exc.strerror or exc}") from None
    except PartwrightError as exc:
        if exc.message.startswith(path):
            raise
        raise PartwrightError(f"{path}: {exc.message}") from None
    return TableIds(f"0x{disk_id:08x}",
                    tuple((e.number, f"{disk_id:08x}-{e.number:02x}") for e in plan.entries))
