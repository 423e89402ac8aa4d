"""Reading an image back: the table (pyparted and `sfdisk --json`), every
filesystem (`blkid -p -O`), unique identifiers, and the filesystem checkers
(`e2fsck -fn`, `xfs_repair -n`, `fsck.vfat -n`, `btrfs check --readonly`).

`verify` compares all of it with the plan and raises a one-line ToolError on
the first disagreement; `read_table` and `check_filesystem` are also used by
inspect on images made by other tools.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from typing import Any

import parted

from engine.errors import ToolError
from engine.host import sparse
from engine.host.tools import run
from engine.image import gpt
from engine.image.clone import Region, probe
from engine.image.filesystems import FsSpec
from engine.image.table import TableIds, active_entry
from engine.layout.model import TableType
from engine.plan.model import Plan


@dataclass(frozen=True)
class TableRow:
    """One partition as read back from an image."""

    number: int
    start: int
    end: int
    type: str  # GPT type GUID (upper case) or msdos hex id ("83", "5")
    name: str | None
    partuuid: str | None
    bootable: bool = False

    @property
    def sectors(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class TableRead:
    label: TableType  # sfdisk's "dos" is called msdos here, as everywhere
    disk_id: str
    sector_size: int
    rows: tuple[TableRow, ...]


@dataclass(frozen=True)
class FsCheck:
    number: int
    tool: str
    ok: bool
    detail: str = ""


def _label(sfdisk_label: str, path: str) -> TableType:
    """sfdisk's label word as the plan spells it ("dos" is msdos)."""
    if sfdisk_label == "dos":
        return "msdos"
    if sfdisk_label == "gpt":
        return "gpt"
    raise ToolError(f"{path}: a {sfdisk_label} partition table, not gpt or msdos")


def read_table(path: str) -> TableRead:
    """The partition table by `sfdisk --json` (any image, any tool)."""
    proc = run(["sfdisk", "--json", path], check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise ToolError(f"{path}: no partition table found ({(proc.stderr or '').strip() or 'sfdisk'})")
    table: dict[str, Any] = json.loads(proc.stdout)["partitiontable"]
    label = _label(str(table["label"]), path)
    rows = []
    for item in table.get("partitions", []):
        node = str(item["node"])
        number = int(node[len(path):].lstrip("p")) if node.startswith(path) else int(
            "".join(c for c in node[-3:] if c.isdigit()))
        start, size = int(item["start"]), int(item["size"])
        ptype = str(item["type"])
        partuuid: str | None
        if label == "msdos":
            partuuid = f"{int(str(table['id']), 16):08x}-{number:02x}"
        else:
            partuuid = str(item.get("uuid", "")).lower() or None
            ptype = ptype.upper()
        name = item.get("name")
        rows.append(TableRow(number, start, start + size - 1, ptype,
                             None if name is None else str(name), partuuid, bool(item.get("bootable", False))))
    return TableRead(label, str(table.get("id", "")).lower(), int(table.get("sectorsize", 512)),
                     tuple(rows))


def read_table_parted(path: str) -> list[tuple[int, int, int, str | None]]:
    """(number, start, end, name) of every partition, read by libparted."""
    dev = parted.getDevice(path)
    dev.open()
    try:
        disk = parted.newDisk(dev)
        rows = []
        for part in disk.partitions:
            name = part.name if disk.type == "gpt" else None
            rows.append((part.number, part.geometry.start, part.geometry.end, name or None))
        return rows
    finally:
        dev.close()
        dev.removeFromCache()  # the next image at this path may have another size


def _type_matches(table: str, code: str, found: str) -> bool:
    if table == "gpt":
        return gpt.type_guid(code) == found.upper()
    return int(code, 16) == int(found, 16)


def check_filesystem(path: str, number: int, offset: int, size: int, fstype: str,
                     workdir: str) -> FsCheck:
    """Run the filesystem's checker read-only on the partition's bytes."""
    if fstype in ("ext2", "ext3", "ext4"):
        proc = run(["e2fsck", "-fn", f"{path}?offset={offset}"], check=False)
        return FsCheck(number, "e2fsck -fn", proc.returncode == 0, _last(proc.stdout + proc.stderr))
    if fstype == "squashfs":
        proc = run(["unsquashfs", "-o", str(offset), "-s", path], check=False)
        return FsCheck(number, "unsquashfs -s", proc.returncode == 0,
                       _last(proc.stderr) if proc.returncode else "superblock read")
    commands = {
        "xfs": ["xfs_repair", "-n"],
        "vfat": ["fsck.vfat", "-n"],
        "btrfs": ["btrfs", "check", "--readonly"],
    }
    if fstype not in commands:
        return FsCheck(number, "none", True, f"no checker for {fstype}")
    tmp = os.path.join(workdir, f"check{number}.img")
    with open(path, "rb") as img:
        sparse.extract(img.fileno(), offset, size, tmp)
    try:
        proc = run([*commands[fstype], tmp], check=False)
    finally:
        os.unlink(tmp)
    return FsCheck(number, " ".join(commands[fstype]), proc.returncode == 0,
                   _last(proc.stdout + proc.stderr))


def fat_read_as(path: str, offset: int) -> str:
    """FAT12, FAT16 or FAT32 as the FAT specification (and so UEFI firmware
    and mtools) decides it: by the cluster count the boot sector gives."""
    with open(path, "rb") as fh:
        boot = os.pread(fh.fileno(), 512, offset)
    per_sector, per_cluster, reserved, fats, root = struct.unpack_from("<HBHBH", boot, 11)
    total = struct.unpack_from("<H", boot, 19)[0] or struct.unpack_from("<I", boot, 32)[0]
    fat = struct.unpack_from("<H", boot, 22)[0] or struct.unpack_from("<I", boot, 36)[0]
    if not per_sector or not per_cluster:
        return "no FAT"
    data = total - reserved - fats * fat - -(-root * 32 // per_sector)
    clusters = data // per_cluster
    return "FAT12" if clusters < 4085 else "FAT16" if clusters < 65525 else "FAT32"


def _last(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def verify(path: str, plan: Plan, specs: tuple[FsSpec, ...], ids: TableIds,
           workdir: str) -> tuple[FsCheck, ...]:
    """Everything written equals the plan; raises ToolError otherwise."""
    def fail(message: str) -> ToolError:
        return ToolError(f"verify: {message}")

    # 1. libparted's view
    got = {n: (s, e, name) for n, s, e, name in read_table_parted(path)}
    for entry in plan.entries:
        if entry.number not in got:
            raise fail(f"libparted finds no partition {entry.number}")
        start, end, name = got[entry.number]
        if (start, end) != (entry.start, entry.end):
            raise fail(f"partition {entry.number} is at {start}-{end}, planned {entry.start}-{entry.end}")
        if plan.table == "gpt" and name != entry.name:
            raise fail(f"partition {entry.number} is named {name!r}, planned {entry.name!r}")
    if len(got) != len(plan.entries):
        raise fail(f"libparted finds {len(got)} partitions, the plan has {len(plan.entries)}")
    # 2. sfdisk's view: types, PARTUUIDs, disk id, active flag
    table = read_table(path)
    rows = {r.number: r for r in table.rows}
    if table.disk_id != ids.disk_id.lower():
        raise fail(f"disk identifier is {table.disk_id}, expected {ids.disk_id}")
    active = active_entry(plan)
    for entry in plan.entries:
        row = rows.get(entry.number)
        if row is None or (row.start, row.end) != (entry.start, entry.end):
            raise fail(f"sfdisk disagrees on partition {entry.number}")
        if not _type_matches(plan.table, entry.code, row.type):
            raise fail(f"partition {entry.number} has type {row.type}, planned {entry.code}")
        if row.partuuid != ids.partuuid(entry.number):
            raise fail(f"partition {entry.number} has PARTUUID {row.partuuid}, expected {ids.partuuid(entry.number)}")
        if plan.table == "msdos" and row.bootable != (active is not None and active.number == entry.number):
            raise fail(f"partition {entry.number}: active flag is {'on' if row.bootable else 'off'}")
    partuuids = [r.partuuid for r in table.rows]
    if len(set(partuuids)) != len(partuuids):
        raise fail("two partitions share a PARTUUID")
    # 3. every filesystem: type, UUID, label; no identifier twice (UUID,
    # UUID_SUB and PARTUUID alike; labels are shared by clones, as KIWI leaves them)
    seen: dict[str, str] = {f"{r.partuuid}": f"PARTUUID of partition {r.number}"
                            for r in table.rows if r.partuuid}
    checks: list[FsCheck] = []
    for spec in specs:
        found = probe(Region(path, spec.offset, spec.size))
        if found.get("TYPE") != spec.blkid_type:
            raise fail(f"partition {spec.number} holds {found.get('TYPE') or 'nothing'}, planned {spec.blkid_type}")
        if spec.kind.startswith("fat") and found.get("VERSION", spec.kind.upper()) != spec.kind.upper():
            raise fail(f"partition {spec.number} is {found.get('VERSION')}, planned {spec.kind.upper()}")
        if spec.kind.startswith("fat") and (seen_as := fat_read_as(path, spec.offset)) != spec.kind.upper():
            raise fail(f"partition {spec.number} has the clusters of {seen_as}: UEFI firmware and"
                       f" mtools read it so, not as the {spec.kind.upper()} its boot sector says")
        if spec.kind == "squashfs":  # no UUID, no label
            check = check_filesystem(path, spec.number, spec.offset, spec.size, "squashfs", workdir)
            if not check.ok:
                raise fail(f"{check.tool} finds problems on partition {spec.number}: {check.detail}")
            checks.append(check)
            continue
        if found.get("UUID", "").lower() != spec.uuid.lower():
            raise fail(f"partition {spec.number} has UUID {found.get('UUID')}, expected {spec.uuid}")
        if (found.get("LABEL") or None) != spec.label:
            raise fail(f"partition {spec.number} has label {found.get('LABEL')!r}, expected {spec.label!r}")
        for key in ("UUID", "UUID_SUB"):
            value = found.get(key, "").lower()
            if not value:
                continue
            if value in seen:
                raise fail(f"the {key} {value} of partition {spec.number} is the {seen[value]} too")
            seen[value] = f"{key} of partition {spec.number}"
        check = check_filesystem(path, spec.number, spec.offset, spec.size, spec.blkid_type, workdir)
        if not check.ok:
            raise fail(f"{check.tool} finds problems on partition {spec.number}: {check.detail}")
        checks.append(check)
    return tuple(checks)
