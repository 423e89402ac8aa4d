"""The data of an updater export: slots, device naming, options, files.

Plain frozen dataclasses and the vocabularies as `Literal`s. A slot is one
partition an updater writes: the origin of a cloned partition is slot A
(index 0) and its clone N is slot N, because KIWI boots the origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from engine.plan.model import Diagnostic, Entry

TargetName = Literal["rauc", "swupdate", "mender", "repart", "sysupdate"]
TARGETS: tuple[TargetName, ...] = ("rauc", "swupdate", "mender", "repart", "sysupdate")

# how slots name their devices: the disk plus the partition number, the GPT
# partition name, or the partition's unique GUID
Scheme = Literal["disk", "partlabel", "partuuid"]
SCHEMES: tuple[Scheme, ...] = ("disk", "partlabel", "partuuid")

# RAUC's bootloader backends that a KIWI disk can have
Bootloader = Literal["grub", "efi", "uboot", "custom", "noop"]
BOOTLOADERS: tuple[Bootloader, ...] = ("grub", "efi", "uboot", "custom", "noop")


@dataclass(frozen=True)
class Naming:
    """How device paths are written. `disk` is the whole disk's device
    (`/dev/sda`, `/dev/mmcblk0`); `partuuids` maps partition numbers to the
    PARTUUIDs of a built image (or of the build a seed gives); `source` says
    where they came from, for messages."""

    scheme: Scheme = "partlabel"
    disk: str | None = None
    partuuids: tuple[tuple[int, str], ...] = ()
    source: str | None = None

    def partuuid(self, number: int) -> str | None:
        return dict(self.partuuids).get(number)


@dataclass(frozen=True)
class Options:
    """What the user chooses beyond the layout."""

    target: TargetName
    naming: Naming = Naming()
    name: str = "partwright-image"  # RAUC compatible, Mender device type, sysupdate prefix
    version: str = "1.0.0"  # the version the origin carries (sysupdate labels, SWUpdate)
    bootloader: Bootloader = "grub"
    grubenv: str | None = None  # None: on the ESP, else a boot partition that is no slot


@dataclass(frozen=True)
class Slot:
    """One partition of a slot class."""

    slot_class: str  # RAUC's class name: rootfs, boot, or the custom partition's name
    index: int  # 0 for the origin, N for clone N
    entry: Entry
    device: str
    bootname: str | None = None
    parent: str | None = None  # "class.index" of the parent slot

    @property
    def name(self) -> str:
        return f"{self.slot_class}.{self.index}"


@dataclass(frozen=True)
class SlotClass:
    """The origin and the clones of one cloned partition, in index order."""

    name: str
    key: str  # the origin's key in the plan: root, boot, home ...
    role: str
    slots: tuple[Slot, ...]

    @property
    def origin(self) -> Slot:
        return self.slots[0]


@dataclass(frozen=True)
class TargetFile:
    """One file of an export; `path` is relative to the output folder."""

    path: str
    text: str


@dataclass(frozen=True)
class TargetExport:
    """The files of one target and what to tell the user about them. With
    an error diagnostic there are no files: nothing may be written."""

    target: TargetName
    files: tuple[TargetFile, ...]
    diagnostics: tuple[Diagnostic, ...]
    folder: bool  # the files go into a folder (OUT is one); else OUT is the file

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    @property
    def ok(self) -> bool:
        return not self.errors

    def file(self, path: str) -> TargetFile | None:
        for f in self.files:
            if f.path == path:
                return f
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "folder": self.folder,
            "files": {f.path: f.text for f in self.files},
            "diagnostics": [d.to_json() for d in self.diagnostics],
        }
