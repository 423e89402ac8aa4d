"""The Plan: what the planner says a Layout becomes, sector for sector.

Plain frozen dataclasses, no behaviour beyond conversions. Sector numbers are
inclusive (`end` is the last sector of a partition), as sgdisk prints them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from engine.layout.model import Layout, TableType
from engine.units import SECTOR_SIZE

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
Role = Literal[
    "bios_grub", "efi", "prep", "boot", "swap", "custom", "spare",
    "readonly", "root", "lvm", "raid", "extended",
]


@dataclass(frozen=True)
class Entry:
    """One partition table entry."""

    number: int
    start: int
    end: int
    code: str  # sgdisk code on gpt ("8300"), hex id on msdos ("83", "5")
    name: str | None  # GPT partition name; None on msdos
    role: Role
    key: str  # KIWI's map key: efi_csm, efi, boot, bootclone1, home, homeclone2, root ...
    clone_of: str | None = None  # origin's key for a clone ("root", "boot", "home")
    clone_index: int = 0  # 1..N for the clones of an origin, in creation order; 0 for an origin
    fills_rest: bool = False  # KIWI asked for "all free space", not a size
    filesystem: str | None = None
    mountpoint: str | None = None
    label: str | None = None
    logical: bool = False  # msdos logical partition (inside the extended one)

    @property
    def sectors(self) -> int:
        return self.end - self.start + 1

    @property
    def size_bytes(self) -> int:
        return self.sectors * SECTOR_SIZE

    @property
    def is_clone(self) -> bool:
        return self.clone_of is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "start": self.start,
            "end": self.end,
            "sectors": self.sectors,
            "code": self.code,
            "name": self.name,
            "role": self.role,
            "clone_of": self.clone_of,
            "filesystem": self.filesystem,
            "mountpoint": self.mountpoint,
        }


@dataclass(frozen=True)
class FreeRegion:
    """Unpartitioned sectors (usable ones: not the GPT or MBR structures)."""

    start: int
    end: int

    @property
    def sectors(self) -> int:
        return self.end - self.start + 1

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "sectors": self.sectors}


@dataclass(frozen=True)
class Wanted:
    """A partition KIWI asks for, placed or not (KIWI may fail before it)."""

    key: str
    role: Role
    clone_of: str | None = None
    clone_index: int = 0


@dataclass(frozen=True)
class Diagnostic:
    """Something the user should know: a stable code, a severity, a message."""

    code: str
    severity: Severity
    message: str
    partition: str | None = None  # the key of the partition it concerns
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "partition": self.partition,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class LogicalVolume:
    """An LVM logical volume inside the root (p.lxlvm) partition."""

    name: str
    size_mb: int | None  # None: takes what is left
    mountpoint: str | None


@dataclass(frozen=True)
class Plan:
    """The partition table a Layout becomes, and what to tell its user."""

    layout: Layout
    table: TableType
    disk_sectors: int
    disk_size_estimated: bool  # no <size>: computed from root_mbytes like KIWI
    entries: tuple[Entry, ...]
    free: tuple[FreeRegion, ...]
    partids: tuple[tuple[str, str], ...]  # sorted by key, as KIWI writes them
    diagnostics: tuple[Diagnostic, ...]
    volumes: tuple[LogicalVolume, ...] = ()
    sector_size: int = SECTOR_SIZE
    # every partition KIWI asks for, in creation order (a table's worth at most),
    # so views can name the ones KIWI fails before creating
    wanted: tuple[Wanted, ...] = ()
    boot_partition: bool = False  # KIWI makes a boot partition (p.lxboot) for this layout

    @property
    def disk_bytes(self) -> int:
        return self.disk_sectors * self.sector_size

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "warning")

    @property
    def ok(self) -> bool:
        return not self.errors

    def entry(self, key: str) -> Entry | None:
        for e in self.entries:
            if e.key == key:
                return e
        return None

    def origin_of(self, entry: Entry) -> Entry | None:
        return self.entry(entry.clone_of) if entry.clone_of else None

    def origin_key(self, key: str) -> str:
        """The key of the partition `key` belongs to: a clone's origin, else itself
        (also for a partition KIWI fails before creating)."""
        for w in self.wanted:
            if w.key == key:
                return w.clone_of or key
        entry = self.entry(key)
        return entry.clone_of or key if entry is not None else key

    @property
    def rest(self) -> Entry | None:
        """The partition KIWI gives all free space to (its size is not asked for)."""
        return next((e for e in self.entries if e.fills_rest), None)

    def clones_of(self, key: str) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.clone_of == key)

    def partids_text(self) -> str:
        """/config.partids, byte for byte as KIWI writes it: one key="value"
        line per entry, in the order of `partids` (sorted, as KIWI sorts)."""
        return "".join(f'{key}="{value}"\n' for key, value in self.partids)

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "sector_size": self.sector_size,
            "disk_sectors": self.disk_sectors,
            "disk_size_estimated": self.disk_size_estimated,
            "boot_partition": self.boot_partition,
            "partitions": [e.to_json() for e in self.entries],
            "free": [f.to_json() for f in self.free],
            "partids": dict(self.partids),
            "volumes": [
                {"name": v.name, "size_mb": v.size_mb, "mountpoint": v.mountpoint}
                for v in self.volumes
            ],
            "diagnostics": [d.to_json() for d in self.diagnostics],
        }
