"""Placement: where sgdisk (gpt) and fdisk (msdos) put a partition KIWI asks for.

KIWI 11 creates partitions one at a time: on gpt with
`sgdisk --align-end -n N:START:+SIZEM` (START is `disk_start_sector` for the
first partition, 0 = "default" afterwards; `-n N:0:0` for "all free"), on
msdos by feeding fdisk `n p N <default> +SIZEM` (and an extended partition
plus logical ones with `dosparttable_extended_layout`). These classes
reproduce what those tools do on an empty disk, sector for sector, without
running them. A request that the tool would refuse raises `PlacementError`
with the tool's reason; KIWI then fails, the planner reports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from engine.units import (
    GPT_HEAD,
    GPT_MAX_ENTRIES,
    GPT_TAIL,
    GRAIN,
    MSDOS_MAX_NUMBER,
    MSDOS_PRIMARIES,
)

FailureKind = Literal[
    "table-full",  # the number is past the table's entries (GPT 128, msdos 4 primaries)
    "number-in-use",  # another partition has the number already
    "no-space",  # nothing of the disk is free any more
    "not-free",  # the requested start sector belongs to another partition
    "does-not-fit",  # the partition runs past the end of its free space
    "last-sector",  # msdos: +SIZE would end on the last sector of its free space; fdisk refuses
    "type-target-missing",  # msdos: KIWI's type change names a partition fdisk did not make
    "text-size",  # KIWI's msdos start-sector arithmetic meets a size held as text
]


class PlacementError(Exception):
    """The partitioning tool (or KIWI driving it) would refuse this request:
    `kind` says which refusal, `number` the partition number concerned, the
    message says it in the tool's words."""

    def __init__(self, kind: FailureKind, number: int, message: str) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind
        self.number = number


@dataclass(frozen=True)
class Slot:
    number: int
    start: int
    end: int
    logical: bool = False
    extended: bool = False


def _align_up(sector: int) -> int:
    return -(-sector // GRAIN) * GRAIN


def _align_down(sector: int) -> int:
    return sector // GRAIN * GRAIN


def _cut(blocks: list[tuple[int, int]], start: int, end: int) -> list[tuple[int, int]]:
    """`blocks` (disjoint, in disk order) without the sectors start..end."""
    out: list[tuple[int, int]] = []
    for lo, hi in blocks:
        if hi < start or lo > end:
            out.append((lo, hi))
            continue
        if lo < start:
            out.append((lo, start - 1))
        if hi > end:
            out.append((end + 1, hi))
    return out


class GptTable:
    """sgdisk 1.0.9 on an empty GPT with 128 entries, as KIWI 11 drives it."""

    kind = "gpt"

    def __init__(self, disk_sectors: int) -> None:
        self.disk_sectors = disk_sectors
        self.first_usable = GPT_HEAD
        self.last_usable = disk_sectors - GPT_TAIL - 1
        self.slots: list[Slot] = []
        # the free blocks and numbers of self.slots[:_counted] (that list): each
        # new slot is cut out of them once, not every slot sorted again per add
        self._counted_list: list[Slot] | None = None
        self._counted = 0
        self._blocks: list[tuple[int, int]] = []
        self._numbers: set[int] = set()

    def _free_blocks(self) -> list[tuple[int, int]]:
        """The free runs of sectors between first_usable and last_usable, in
        disk order."""
        slots = self.slots
        if self._counted_list is not slots or self._counted > len(slots):  # replaced
            self._counted_list, self._counted, self._numbers = slots, 0, set()
            usable = self.first_usable <= self.last_usable
            self._blocks = [(self.first_usable, self.last_usable)] if usable else []
        while self._counted < len(slots):
            slot = slots[self._counted]
            if not self.first_usable <= slot.start <= slot.end <= self.last_usable:
                return self._free_blocks_of_all()  # never made by add(): the slow rule
            self._blocks = _cut(self._blocks, slot.start, slot.end)
            self._numbers.add(slot.number)
            self._counted += 1
        return list(self._blocks)

    def _free_blocks_of_all(self) -> list[tuple[int, int]]:
        self._counted_list = None
        blocks: list[tuple[int, int]] = []
        cursor = self.first_usable
        for slot in sorted(self.slots, key=lambda s: s.start):
            if slot.start > cursor:
                blocks.append((cursor, slot.start - 1))
            cursor = max(cursor, slot.end + 1)
        if cursor <= self.last_usable:
            blocks.append((cursor, self.last_usable))
        return blocks

    def _in_use(self, number: int) -> bool:
        """Whether a slot has `number` (right after `_free_blocks`, which counts them)."""
        if self._counted_list is self.slots:
            return number in self._numbers
        return any(s.number == number for s in self.slots)

    def _block_of(self, sector: int) -> tuple[int, int] | None:
        for lo, hi in self._free_blocks():
            if lo <= sector <= hi:
                return lo, hi
        return None

    def _align_start(self, sector: int) -> int:
        """sgdisk's Align(): move down to the grain if that is still free in
        the same block, else up."""
        if sector % GRAIN == 0:
            return sector
        block = self._block_of(sector)
        down = _align_down(sector)
        if block is not None and down >= block[0]:
            return down
        return _align_up(sector)

    def add(self, number: int, mbsize: int | None, start: int = 0) -> Slot:
        """`sgdisk --align-end -n number:start:(+mbsizeM | 0)`."""
        if number < 1 or number > GPT_MAX_ENTRIES:
            raise PlacementError("table-full", number, f"Could not create partition {number}:"
                                 f" the table has {GPT_MAX_ENTRIES} entries")
        blocks = self._free_blocks()
        if self._in_use(number):
            raise PlacementError("number-in-use", number,
                                 f"Could not create partition {number}: the number is in use")
        if not blocks:
            raise PlacementError("no-space", number,
                                 f"Could not create partition {number}: no free space")
        if start:
            requested = start
            first = self._align_start(start)
            block = self._block_of(first)
            if block is None:
                raise PlacementError("not-free", number,
                                     f"Could not create partition {number}: sector {start} is not free")
        else:
            # the default start: the first sector of the largest free block
            block = max(blocks, key=lambda b: (b[1] - b[0], -b[0]))
            first = _align_up(block[0])
            requested = first
        if mbsize is None:
            # --align-end: the end of the block, end+1 rounded down to the
            # grain while that keeps the partition non-empty
            last = block[1]
            if (last + 1) % GRAIN:
                aligned = _align_down(last + 1) - 1
                if aligned > first:
                    last = aligned
        else:
            # +SIZE counts from the requested start, even when sgdisk moved
            # the start down to the grain; --align-end leaves it alone
            last = requested + mbsize * GRAIN - 1
        if first > block[1] or last > block[1] or last < first:
            raise PlacementError(
                "does-not-fit", number, f"Could not create partition {number} from {first} to {last}"
            )
        slot = Slot(number, first, last)
        self.slots.append(slot)
        return slot


def _refuse_last_sector(number: int, mbsize: int | None, first: int, end: int, high: int) -> None:
    """fdisk's size prompt takes `+SIZE` only while first + SIZE <= high (the
    last sector it offers), so a partition of a given size can end at
    high - 1 at most, never on the last sector itself: "Value out of range",
    and the rest of KIWI's scripted dialogue goes to the same prompt; fdisk
    writes nothing. (The default end, KIWI's "all free", does reach it.)"""
    if mbsize is not None and end == high:
        raise PlacementError(
            "last-sector", number,
            f"fdisk refuses +{mbsize}M from sector {first} for partition {number}: it would end"
            f" on sector {end}, the last one it offers (\"Value out of range\"), and makes no"
            f" partition {number}")


class MsdosTable:
    """fdisk on an empty DOS label, as KIWI's msdos partitioner feeds it."""

    kind = "msdos"

    def __init__(self, disk_sectors: int) -> None:
        self.disk_sectors = disk_sectors
        self.last = disk_sectors - 1
        self.slots: list[Slot] = []
        self.extended: Slot | None = None

    def _next_free(self, lo: int, hi: int, taken: list[Slot], reserve: int) -> int:
        """First aligned sector >= lo (after `reserve` sectors of each used
        range) not inside any of `taken`."""
        cursor = lo
        for slot in sorted(taken, key=lambda s: s.start):
            if slot.end < cursor:
                continue
            if _align_up(cursor + reserve) <= slot.start - 1:
                break
            cursor = max(cursor, slot.end + 1)
        return _align_up(cursor + reserve)

    def _primaries(self) -> list[Slot]:
        return [s for s in self.slots if not s.logical]

    def _only_free_slot(self, number: int) -> int:
        """fdisk selects the last free primary slot itself without asking for
        a number (the number KIWI typed goes to the first-sector prompt, out of
        range, and is asked again): `number` unless one slot is left."""
        used = {s.number for s in self._primaries()}
        free = [n for n in range(1, MSDOS_PRIMARIES + 1) if n not in used]
        return free[0] if len(free) == 1 else number

    def add_primary(self, number: int, mbsize: int | None) -> Slot:
        number = self._only_free_slot(number)
        if number > MSDOS_PRIMARIES or len(self._primaries()) >= MSDOS_PRIMARIES:
            raise PlacementError(
                "table-full", number,
                f"partition {number}: a DOS table holds {MSDOS_PRIMARIES} primary partitions"
            )
        if any(s.number == number for s in self.slots):
            raise PlacementError("number-in-use", number, f"partition {number} exists already")
        first = self._next_free(GRAIN, self.last, self._primaries(), 0)
        end = self.last if mbsize is None else first + mbsize * GRAIN - 1
        if first > self.last or end > self.last or end < first:
            raise PlacementError(
                "does-not-fit", number,
                f"partition {number} ({mbsize} MiB) does not fit: sectors {first}-{end},"
                f" the disk ends at {self.last}"
            )
        _refuse_last_sector(number, mbsize, first, end, self.last)
        slot = Slot(number, first, end)
        self.slots.append(slot)
        return slot

    def add_extended(self, number: int) -> Slot:
        number = self._only_free_slot(number)
        first = self._next_free(GRAIN, self.last, self._primaries(), 0)
        if first > self.last:
            raise PlacementError("no-space", number,
                                 f"no space left for the extended partition {number}")
        slot = Slot(number, first, self.last, extended=True)
        self.slots.append(slot)
        self.extended = slot
        return slot

    @property
    def logical_count(self) -> int:
        return sum(1 for s in self.slots if s.logical)

    def add_logical(self, mbsize: int | None) -> Slot:
        """fdisk `n`: a logical partition, numbered by fdisk (5, 6 ...), whatever
        number KIWI typed at the prompt (it lands on the first-sector prompt,
        out of range, and is asked again)."""
        assert self.extended is not None
        logicals = [s for s in self.slots if s.logical]
        number = 5 + len(logicals)
        if number > MSDOS_MAX_NUMBER:
            raise PlacementError(
                "table-full", number,
                f"fdisk makes no partition {number} (a DOS label holds {MSDOS_MAX_NUMBER}),"
                f" so KIWI's sfdisk finds no partition {number} to type (KiwiCommandError)")
        # each logical partition is preceded by its EBR: one grain
        cursor = self.extended.start if not logicals else logicals[-1].end + 1
        first = _align_up(cursor + 1)
        end = self.extended.end if mbsize is None else first + mbsize * GRAIN - 1
        if first > self.extended.end or end > self.extended.end or end < first:
            raise PlacementError(
                "does-not-fit", number,
                f"logical partition {number} ({mbsize} MiB) does not fit: sectors"
                f" {first}-{end}, the disk ends at {self.extended.end}"
            )
        _refuse_last_sector(number, mbsize, first, end, self.extended.end)
        slot = Slot(number, first, end, logical=True)
        self.slots.append(slot)
        return slot

    def move_first_start(self, start_sector: int) -> Literal["untouched", "recreated", "lost"]:
        """KIWI's set_start_sector: fdisk deletes partition 1 and re-creates
        it at `start_sector` with the default end: the end of the free space
        it starts in (up to the next primary or extended partition). When
        that sector belongs to another partition fdisk refuses it and writes
        nothing. With the label full (60 partitions) fdisk deletes partition 1,
        refuses the new one ("maximum number of partitions") and writes the
        table without it."""
        others = [s for s in self.slots if s.number != 1 and not s.logical]
        if any(s.start <= start_sector <= s.end for s in others):
            return "untouched"
        for i, slot in enumerate(self.slots):
            if slot.number == 1:
                if len(self.slots) >= MSDOS_MAX_NUMBER:
                    del self.slots[i]
                    return "lost"
                nxt = min((s.start for s in others if s.start > start_sector),
                          default=self.last + 1)
                self.slots[i] = Slot(1, start_sector, nxt - 1)
                return "recreated"
        return "untouched"
