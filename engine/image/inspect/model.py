"""What inspect reports: the image, its partitions, the containers in them,
clone pairs, identifiers used twice, and where IMAGE.partids disagrees."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ContainerKind = Literal["crypto_LUKS", "LVM2_member", "linux_raid_member"]
PairBasis = Literal["content", "luks", "lvm", "md"]


@dataclass(frozen=True)
class InnerFilesystem:
    """A filesystem inside a container: in an LVM logical volume or an md
    member's data area."""

    where: str  # the LV name, or "data" for an md member
    offset: int  # bytes into the image
    size: int  # bytes
    filesystem: str | None  # blkid TYPE
    uuid: str | None
    label: str | None
    first_extent: int | None = None  # LVM: the volume's extents
    extents: int | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ContainerInfo:
    """What a LUKS, LVM or md RAID partition says about itself."""

    kind: ContainerKind
    uuid: str  # the LUKS UUID, the PV UUID or the md array UUID
    version: str | None = None  # LUKS: "1" or "2"; md: "1.2"
    cipher: str | None = None  # LUKS
    data_offset: int | None = None  # LUKS payload, md data area: bytes from the partition start
    vg_name: str | None = None  # LVM (None: not read)
    vg_uuid: str | None = None
    extent_size: int | None = None
    pe_start: int | None = None
    level: int | None = None  # md
    raid_disks: int | None = None
    device_uuid: str | None = None
    data_size: int | None = None  # md
    checksum_ok: bool | None = None  # md superblock
    inner: tuple[InnerFilesystem, ...] = ()
    note: str | None = None  # what could not be read, and why

    def identifiers(self) -> list[tuple[str, str, str]]:
        """(what, value, where) of every identifier no clone may share."""
        found: list[tuple[str, str, str]] = []
        if self.kind == "crypto_LUKS":
            found.append(("LUKS UUID", self.uuid, ""))
        elif self.kind == "LVM2_member":
            found.append(("PV UUID", self.uuid, ""))
            if self.vg_uuid:
                found.append(("VG UUID", self.vg_uuid, ""))
            if self.vg_name:
                found.append(("VG name", self.vg_name, ""))
        elif self.kind == "linux_raid_member":
            found.append(("md array UUID", self.uuid, ""))
            if self.device_uuid:
                found.append(("md device UUID", self.device_uuid, ""))
        for fs in self.inner:
            if fs.uuid:
                found.append(("filesystem UUID", fs.uuid, fs.where))
        return found

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "inner": [fs.to_json() for fs in self.inner]}


@dataclass(frozen=True)
class InspectedPartition:
    number: int
    start: int
    end: int
    type: str  # GPT type GUID or msdos id
    code: str  # sgdisk code when known ("8300"), else the type itself
    name: str | None
    partuuid: str | None
    filesystem: str | None  # blkid TYPE
    version: str | None
    uuid: str | None
    label: str | None
    data_bytes: int  # allocated data inside the partition
    container: ContainerInfo | None = None  # a LUKS, LVM or md RAID partition
    uuid_sub: str | None = None  # blkid UUID_SUB: a btrfs device UUID

    @property
    def sectors(self) -> int:
        return self.end - self.start + 1

    def identifiers(self) -> list[tuple[str, str, str]]:
        """(what, value, where) of every identifier no other partition may share."""
        found: list[tuple[str, str, str]] = []
        if self.container is not None:
            found += self.container.identifiers()
        elif self.uuid:
            found.append(("filesystem UUID", self.uuid, ""))
        if self.uuid_sub and self.container is None:
            found.append(("device UUID (UUID_SUB)", self.uuid_sub, ""))
        if self.partuuid:
            found.append(("PARTUUID", self.partuuid, ""))
        return found

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "sectors": self.sectors,
                "container": None if self.container is None else self.container.to_json()}


@dataclass(frozen=True)
class ClonePair:
    origin: int  # partition number
    clone: int
    identical: bool  # byte for byte (and same size): the identifiers are shared too
    differing_blocks: int
    compared_bytes: int
    basis: PairBasis = "content"  # what the pairing rests on
    note: str = ""  # for containers: what was compared
    shared: tuple[str, ...] = ()  # identifiers origin and clone share ("LUKS UUID" ...)

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "shared": list(self.shared)}


@dataclass(frozen=True)
class InspectReport:
    path: str
    format: str
    table: str  # gpt | dos
    disk_id: str
    disk_bytes: int
    allocated_bytes: int
    partitions: tuple[InspectedPartition, ...]
    clones: tuple[ClonePair, ...]
    duplicates: tuple[str, ...]  # "UUID x: partitions 3, 4"
    partids_path: str | None
    partids: tuple[tuple[str, str], ...]
    partids_problems: tuple[str, ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())  # the image was read, but see these

    @property
    def partids_agree(self) -> bool | None:
        return None if self.partids_path is None else not self.partids_problems

    def partition(self, number: int) -> InspectedPartition | None:
        return next((p for p in self.partitions if p.number == number), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "format": self.format, "table": self.table,
            "disk_id": self.disk_id, "disk_bytes": self.disk_bytes,
            "allocated_bytes": self.allocated_bytes,
            "partitions": [p.to_json() for p in self.partitions],
            "clones": [c.to_json() for c in self.clones],
            "duplicates": list(self.duplicates),
            "partids": None if self.partids_path is None else {
                "path": self.partids_path, "entries": dict(self.partids),
                "agree": self.partids_agree, "problems": list(self.partids_problems),
            },
            "warnings": list(self.warnings),
        }
