"""Configurations for the software that uses the clones: RAUC, SWUpdate,
Mender, systemd-repart and systemd-sysupdate.

- `model`: slots, device naming, options, the files of an export
- `slots`: a plan's slot classes (origin = slot A/0, clone N = slot N) and
  each partition's device path under the chosen naming
- `checks`: the rules every target shares
- `rauc`, `swupdate`, `mender`, `repart`, `sysupdate`: one module per target,
  its own checks and its files; `rauc_conf` reads a system.conf back and
  checks it as RAUC loads it
- `export`: `export_target(plan, options)`, the one entry point

Pure: text from a Plan, no I/O (the caller writes the files atomically).
"""

from engine.targets.export import export_target
from engine.targets.model import (
    BOOTLOADERS,
    SCHEMES,
    TARGETS,
    Bootloader,
    Naming,
    Options,
    Scheme,
    Slot,
    SlotClass,
    TargetExport,
    TargetFile,
    TargetName,
)

__all__ = [
    "BOOTLOADERS",
    "SCHEMES",
    "TARGETS",
    "Bootloader",
    "Naming",
    "Options",
    "Scheme",
    "Slot",
    "SlotClass",
    "TargetExport",
    "TargetFile",
    "TargetName",
    "export_target",
]
