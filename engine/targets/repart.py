"""systemd-repart: one `repart.d/NN-NAME.conf` per planned partition, in
table order, that makes the same table: the type GUID, the GPT name as
`Label=`, the exact size (`SizeMinBytes=` = `SizeMaxBytes=`), `Format=` for
an origin's filesystem and `CopyBlocks=` from the origin for each clone.

repart matches definitions to existing partitions of the same type in file
name order, so KIWI's many Linux-filesystem (8300) partitions each need
their own definition, in the order of the table. repart is GPT only, packs
partitions one after the other on a 4 KiB grain from the first usable
sector, and numbers them in that order; where the plan places or numbers a
partition otherwise (a disk_start_sector, a part_id, a gap) an info
diagnostic names the first one.
"""

from __future__ import annotations

from engine.plan.model import Diagnostic, Entry, Plan
from engine.targets.model import Options, SlotClass, TargetFile
from engine.targets.slots import device_path, type_guid

FIRST_LBA = 2048  # the first usable sector libfdisk gives a fresh GPT (1 MiB)
GRAIN_SECTORS = 8  # repart aligns starts and sizes to 4096 bytes
FORMATS = {"ext2": "ext2", "ext3": "ext3", "ext4": "ext4", "xfs": "xfs", "btrfs": "btrfs",
           "fat16": "vfat", "fat32": "vfat", "vfat": "vfat"}


def file_name(entry: Entry, position: int, width: int) -> str:
    """NN-NAME.conf, NN the partition's place on the disk (repart's number)."""
    return f"{position:0{width}d}-{entry.name or entry.key}.conf"


def ordered(plan: Plan) -> tuple[Entry, ...]:
    return tuple(sorted(plan.entries, key=lambda e: e.start))


def predicted_starts(plan: Plan) -> dict[int, int]:
    """Where repart 252 puts each partition on a blank disk of the plan's size."""
    at = FIRST_LBA
    out: dict[int, int] = {}
    for e in ordered(plan):
        out[e.number] = at
        size = -(-e.sectors // GRAIN_SECTORS) * GRAIN_SECTORS
        at += size
    return out


def check(plan: Plan, classes: tuple[SlotClass, ...], opts: Options) -> list[Diagnostic]:
    if plan.table != "gpt":
        return [Diagnostic(
            "repart-gpt-only", "error",
            f"systemd-repart writes only GPT tables; this layout is {plan.table}", None,
            "drop efiparttable=\"msdos\" (and force_mbr) for a GPT table")]
    out: list[Diagnostic] = []
    for e in plan.entries:
        if type_guid(e.code) is None:
            out.append(Diagnostic("repart-type", "error",
                                  f"partition {e.number} has type {e.code}, which has no GPT type"
                                  " GUID partwright knows", e.key, "use a GUID as the type"))
    starts = predicted_starts(plan)
    moved = [e for e in ordered(plan) if starts[e.number] != e.start]
    if moved:
        e = moved[0]
        out.append(Diagnostic(
            "repart-placement", "info",
            f"repart puts {e.name or e.key} at sector {starts[e.number]}, the plan at {e.start}:"
            " repart packs partitions from sector 2048 on a 4 KiB grain and knows no"
            " disk_start_sector or gaps", e.key, None))
    numbers = [e.number for e in ordered(plan)]
    if numbers != list(range(1, len(numbers) + 1)):
        out.append(Diagnostic(
            "repart-numbers", "info",
            f"repart numbers partitions 1 to {len(numbers)} in disk order; the plan has"
            f" {', '.join(map(str, numbers))}", None, None))
    return out


def definition(plan: Plan, e: Entry, opts: Options) -> str:
    role = f"clone of {e.clone_of}" if e.clone_of else f"{e.role}"
    lines = [f"# partition {e.number} of the plan: {e.name or e.key} ({role},"
             f" type {e.code}, sectors {e.start}-{e.end})",
             "[Partition]",
             f"Type={(type_guid(e.code) or e.code).lower()}"]
    if e.name:
        lines.append(f"Label={e.name}")
    lines += [f"SizeMinBytes={e.size_bytes}", f"SizeMaxBytes={e.size_bytes}"]
    origin = plan.origin_of(e)
    if origin is not None:
        source = device_path(origin, opts.naming)
        lines += ["# a clone copies its origin block for block when repart creates it; the",
                  "# copy keeps the origin's filesystem UUID and label (re-create them after)",
                  f"CopyBlocks={source}"]
    elif e.role == "swap":
        lines.append("Format=swap")
    elif (e.filesystem or "") in FORMATS:
        lines.append(f"Format={FORMATS[e.filesystem or '']}")
    return "\n".join(lines) + "\n"


def render(plan: Plan, classes: tuple[SlotClass, ...], opts: Options) -> tuple[TargetFile, ...]:
    width = max(2, len(str(len(plan.entries))))
    return tuple(TargetFile(file_name(e, i, width), definition(plan, e, opts))
                 for i, e in enumerate(ordered(plan), 1))
