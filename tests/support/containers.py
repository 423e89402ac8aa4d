"""Layouts with a LUKS root, an LVM <systemdisk> and md RAID roots, each with
clones, shared by the container build and inspect tests; and where a
partition's copies are."""

from __future__ import annotations

from engine.layout.model import Layout, SystemDisk, Volume
from engine.plan.model import Plan

PASSPHRASE = "Marmalade-Gyroscope-4477-luks"
COMMON = dict(firmware="efi", oem_systemsize=256, oem_resize=False, size_mb=2048)
LUKS2 = Layout(luks=PASSPHRASE, luks_version="luks2", root_clone=2, **COMMON)  # type: ignore[arg-type]
LUKS1 = Layout(luks=PASSPHRASE, luks_version="luks1", filesystem="xfs", root_clone=1,
               **{**COMMON, "oem_systemsize": 400})  # type: ignore[arg-type]
LVM = Layout(systemdisk=SystemDisk(volumes=(Volume("home", size_mb=48, mountpoint="/home"),
                                            Volume("srv/data", size_mb=16))),
             oem_swap=True, oem_swapsize=16, root_clone=2, **COMMON)  # type: ignore[arg-type]
RAID1 = Layout(mdraid="mirroring", root_clone=2, **COMMON)  # type: ignore[arg-type]
RAID0 = Layout(mdraid="striping", root_clone=1, **COMMON)  # type: ignore[arg-type]


def group(plan: Plan, key: str = "root") -> list[tuple[int, int, int]]:
    """(number, offset, size) of the origin with `key` and its clones, origin first."""
    origin = plan.entry(key)
    assert origin is not None
    return [(e.number, e.start * 512, e.size_bytes) for e in (origin, *plan.clones_of(key))]
