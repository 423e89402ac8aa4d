"""What the importer read from a disk, and what it made of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from engine.layout.model import Layout
from engine.plan.model import Diagnostic, Entry, Plan

SourceKind = Literal["image", "device", "dump"]


@dataclass(frozen=True)
class Volume:
    """An LVM logical volume read from a PV partition."""

    name: str
    size_mb: int
    filesystem: str | None
    label: str | None


@dataclass(frozen=True)
class ReadPartition:
    """One partition as the disk holds it."""

    number: int
    start: int
    end: int
    code: str  # sgdisk code on gpt ("8300", or the GUID), hex id on msdos ("83")
    name: str | None  # GPT name
    partuuid: str | None = None
    filesystem: str | None = None  # blkid TYPE (inside LUKS/md: the container's kind)
    version: str | None = None  # blkid VERSION (FAT16, FAT32, 1.0 ...)
    uuid: str | None = None
    label: str | None = None
    container: str | None = None  # crypto_LUKS | LVM2_member | linux_raid_member
    luks_version: str | None = None
    md_level: int | None = None
    inner_filesystem: str | None = None  # the filesystem inside an md member
    inner_label: str | None = None
    vg_name: str | None = None
    volumes: tuple[Volume, ...] = ()

    @property
    def sectors(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class DiskRead:
    """A disk's table, filesystems and KIWI files, as read (nothing inferred)."""

    source: str
    kind: SourceKind
    format: str  # raw, qcow2, block device, sfdisk --dump, sfdisk --json
    table: str  # gpt | msdos
    disk_sectors: int
    disk_size_known: bool  # an msdos dump does not say how large its disk is
    partitions: tuple[ReadPartition, ...]
    clones: tuple[tuple[int, int], ...] = ()  # (origin, clone) by content
    partids: tuple[tuple[str, str], ...] = ()
    partids_from: str | None = None
    fstab: tuple[tuple[str, str, str], ...] = ()  # (device spec, mountpoint, type)
    fstab_from: str | None = None
    hybrid_mbr: bool = False  # a GPT whose MBR also lists partitions
    notes: tuple[str, ...] = ()  # what could not be read, and why

    def partition(self, number: int) -> ReadPartition | None:
        return next((p for p in self.partitions if p.number == number), None)


@dataclass(frozen=True)
class Imported:
    """The layout whose plan reproduces the disk, or the closest one."""

    read: DiskRead
    layout: Layout
    plan: Plan
    entries: tuple[Entry, ...]  # the table as read, with KIWI's keys and roles
    exact: bool  # the plan's table and partids are the disk's
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    recognised_by: tuple[tuple[int, str], ...] = ()  # (number, what said its role)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.read.source, "kind": self.read.kind, "format": self.read.format,
            "table": self.read.table, "disk_sectors": self.read.disk_sectors,
            "exact": self.exact,
            "partitions": [{**e.to_json(), "key": e.key, "recognised_by": dict(
                self.recognised_by).get(e.number)} for e in self.entries],
            "partids": dict(self.read.partids), "partids_from": self.read.partids_from,
            "fstab_from": self.read.fstab_from,
            "diagnostics": [d.to_json() for d in self.diagnostics],
            "plan": self.plan.to_json(),
        }
