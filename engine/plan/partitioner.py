"""KIWI's partitioners driving the table tools: its numbering, its type changes.

KIWI's PartitionerGpt and PartitionerMsDos keep their own partition counter
(`part_id` when given, else the last one + 1) and hand it to sgdisk or fdisk;
the partids it writes are that counter. sgdisk takes the number; fdisk takes
it for primary partitions and ignores it for logical ones (it numbers them
itself, 5, 6 ...), after which KIWI's `sfdisk -c DISK N TYPE` types whichever
partition has KIWI's number N, and fails when there is none. This module
replays that over the tool emulators of engine.plan.placement.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from engine.layout.model import Layout
from engine.plan.kiwi_order import Request, Resolved
from engine.plan.placement import GptTable, MsdosTable, PlacementError, Slot
from engine.units import GRAIN, MIB, SECTOR_SIZE

GPT_CODES = {
    "t.csm": "EF02", "t.efi": "EF00", "t.linux": "8300", "t.swap": "8200",
    "t.lvm": "8E00", "t.raid": "FD00", "t.prep": "4100",
}
# sfdisk -c values of KIWI's msdos flag map; t.efi and t.csm have none (fdisk's 83 stays)
MSDOS_TYPES = {"t.linux": "83", "t.swap": "82", "t.lvm": "8e", "t.raid": "fd", "t.prep": "41"}
FDISK_DEFAULT_TYPE = "83"
EXTENDED_TYPE = "5"
# fdisk's refusals of a size (past, or onto, the last sector it offers): it
# writes nothing and KIWI goes on to its type change
FDISK_REFUSALS = ("does-not-fit", "last-sector")

FirstSector = Literal["untouched", "recreated", "lost"]


@dataclass(frozen=True)
class Placed:
    """A partition the tools created for a request (None: the msdos extended one)."""

    req: Request | None
    slot: Slot
    kiwi_id: int  # KIWI's counter for it: what /config.partids says
    refusal: str | None = None  # fdisk refused it (why), and KIWI, noticing nothing, went on

    @property
    def made(self) -> bool:
        return self.refusal is None


@dataclass
class Placement:
    placed: list[Placed] = field(default_factory=list)
    failure: PlacementError | None = None
    codes: dict[int, str] = field(default_factory=dict)  # msdos type by partition number
    first: FirstSector = "untouched"  # what KIWI's msdos start-sector step did to partition 1

    @property
    def in_table(self) -> list[Placed]:
        """The partitions the table holds at the end (not a lost partition 1,
        nor one fdisk refused)."""
        made = [p for p in self.placed if p.made]
        if self.first != "lost":
            return made
        return [p for p in made if p.slot.number != 1]

    @property
    def refused(self) -> list[Placed]:
        """Partitions fdisk refused while KIWI went on (it has their partids)."""
        return [p for p in self.placed if not p.made]


def place(reqs: list[Request], r: Resolved, layout: Layout, disk_sectors: int) -> Placement:
    """Run the requests through the table emulators as KIWI drives them. On a
    failure the placement holds what was created up to it."""
    out = Placement()
    try:
        if r.table == "gpt":
            _gpt(reqs, r, disk_sectors, out)
        else:
            _msdos(reqs, r, layout, disk_sectors, out)
    except PlacementError as exc:
        out.failure = exc
    return out


def _gpt(reqs: list[Request], r: Resolved, disk_sectors: int, out: Placement) -> None:
    gpt = GptTable(disk_sectors)
    number = 0
    for i, req in enumerate(reqs):
        number = req.part_id if req.part_id else number + 1
        start = r.start_sector if i == 0 else 0
        out.placed.append(Placed(req, gpt.add(number, req.mbsize, start), number))


def _msdos(reqs: list[Request], r: Resolved, layout: Layout, disk_sectors: int,
           out: Placement) -> None:
    dos = MsdosTable(disk_sectors)
    extended = bool(layout.dosparttable_extended_layout)
    first_mb_extra = 0
    if r.start_sector > GRAIN:
        first_mb_extra = int((r.start_sector - GRAIN) * SECTOR_SIZE / MIB)
    counter = 0
    for i, req in enumerate(reqs):
        if extended and i == 3:
            counter += 1
            slot = dos.add_extended(counter)
            out.codes[slot.number] = EXTENDED_TYPE
            out.placed.append(Placed(None, slot, counter))
        counter = req.part_id if req.part_id else counter + 1
        refused: PlacementError | None = None
        try:
            if extended and i >= 3:
                slot = dos.add_logical(req.mbsize)
            else:
                mb = req.mbsize
                if counter == 1 and mb is not None and r.start_sector > GRAIN:
                    if req.size_is_text:
                        raise PlacementError(
                            "text-size", counter,
                            f"KIWI crashes: TypeError adding the start-sector offset to"
                            f" the size of {req.gpt_name}, which it holds as text")
                    mb += first_mb_extra
                slot = dos.add_primary(counter, mb)
        except PlacementError as exc:
            if exc.kind not in FDISK_REFUSALS:
                raise
            # fdisk says "Value out of range" and writes nothing; KIWI does not
            # look, only its type change below can fail on the missing number
            refused = exc
            slot = Slot(exc.number, 0, -1, logical=extended and i >= 3)
        else:
            out.codes[slot.number] = FDISK_DEFAULT_TYPE
            out.placed.append(Placed(req, slot, counter))
        code = MSDOS_TYPES.get(req.type_name)
        if code is not None:  # sfdisk -c DISK counter code
            if counter not in out.codes:
                missing = (f"sfdisk: partition {counter}: partition table contains only"
                           f" {len(out.codes)} partitions (KiwiCommandError)" if out.codes
                           # fdisk wrote nothing yet, not even the DOS label
                           else "sfdisk: no partition table found (KiwiCommandError)")
                if refused is not None:  # KIWI fails on what fdisk refused
                    raise PlacementError(refused.kind, refused.number,
                                         f"{refused}; then KIWI's type change fails: {missing}")
                raise PlacementError("type-target-missing", counter, missing)
            if out.codes[counter] == EXTENDED_TYPE and dos.logical_count:
                raise PlacementError(
                    "type-target-missing", counter,
                    f"sfdisk: Cannot change type of the extended partition {counter} which is"
                    " already used by logical partitions (KiwiCommandError)")
            out.codes[counter] = code
        if refused is not None:  # KIWI goes on, and registers its partid
            typed = (f"its type change lands on partition {counter}" if code is not None
                     else "it has no type to set on msdos")
            out.placed.append(Placed(req, slot, counter, f"{refused}; {typed}"))
    out.first = dos.move_first_start(r.start_sector)
    if out.first == "recreated":
        out.codes[1] = FDISK_DEFAULT_TYPE
    slots = {s.number: s for s in dos.slots}
    # partition 1 when "lost" stays listed: KIWI's partids still name it
    out.placed = [replace(p, slot=slots.get(p.slot.number, p.slot)) if p.made else p
                  for p in out.placed]
