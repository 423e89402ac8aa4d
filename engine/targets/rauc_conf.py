"""Reading a `system.conf` back (one written by hand, or edited after an
export) and checking it as RAUC 1.8 loads it, with RAUC's own reasons, plus
what RAUC only finds out at install time: a slot type that does not fit the
partition's filesystem, `resize` on a slot that is not ext4.

The file is a GLib key file: `[group]` lines, `key=value` lines, `#`
comments. A second group of the same name continues the first, as GLib
merges them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.plan.model import Diagnostic, Entry, Plan
from engine.targets.model import Naming
from engine.targets.rauc import BOOTLOADERS, SLOT_TYPES, slot_type
from engine.targets.slots import device_path


@dataclass
class KeyFile:
    groups: dict[str, dict[str, str]] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)  # group -> first line


def parse(text: str) -> KeyFile:
    kf = KeyFile()
    group: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1]
            kf.groups.setdefault(group, {})
            kf.lines.setdefault(group, number)
        elif "=" in line and group is not None:
            key, value = line.split("=", 1)
            kf.groups[group][key.strip()] = value.strip()
    return kf


def _refuse(reason: str, where: str | None = None) -> Diagnostic:
    return Diagnostic("rauc-refuses", "error", reason, where,
                      "write the slot as partwright exports it (partwright export --target rauc)")


def check_text(text: str, plan: Plan | None = None, naming: Naming | None = None) -> list[Diagnostic]:
    """RAUC's load-time refusals (its messages, word for word), then the
    checks against the plan when one is given."""
    kf = parse(text)
    out: list[Diagnostic] = []
    system = kf.groups.get("system")
    if system is None:
        return [_refuse("Key file does not have group “system”")]
    for key in ("compatible", "bootloader"):
        if key not in system:
            out.append(_refuse(f"Key file does not have key “{key}” in group “system”"))
    loader = system.get("bootloader")
    if loader is not None and loader not in BOOTLOADERS:
        out.append(_refuse(f"Unsupported bootloader '{loader}' selected in system config"))
    if loader == "custom" and "bootloader-custom-backend" not in kf.groups.get("handlers", {}):
        out.append(_refuse("No custom bootloader backend defined"))
    slots: dict[str, dict[str, str]] = {}
    for group, keys in kf.groups.items():
        if not group.startswith("slot."):
            continue
        parts = group.split(".")
        if len(parts) != 3 or not all(parts):
            out.append(_refuse(f"Invalid slot name format: {group}"))
            continue
        name = f"{parts[1]}.{parts[2]}"
        if "device" not in keys:
            out.append(_refuse(f"Key file does not have key “device” in group “{group}”", name))
            continue
        kind = keys.get("type", "raw")
        if kind not in SLOT_TYPES:
            out.append(_refuse(
                f"Unsupported slot type '{kind}' for slot {name} selected in system config", name))
        slots[name] = keys
    seen: dict[str, str] = {}
    for name, keys in slots.items():
        parent = keys.get("parent")
        if parent is not None:
            if parent not in slots:
                out.append(_refuse(f"Parent slot '{parent}' not found!", name))
            elif "bootname" in keys:
                out.append(_refuse(f"Child slot '{name}' has bootname set", name))
        boot = keys.get("bootname")
        if boot is not None:
            if boot in seen:
                out.append(_refuse(f"Bootname '{boot}' is set on more than one slot", name))
            seen[boot] = name
    for name, keys in slots.items():
        kind = keys.get("type", "raw")
        if keys.get("resize", "false").lower() == "true" and kind != "ext4":
            out.append(Diagnostic(
                "rauc-resize", "warning",
                f"slot {name} has resize=true but type={kind}: RAUC resizes only ext4", name,
                "drop resize= or make the slot ext4"))
    if plan is not None:
        out += _against_plan(slots, plan, naming or Naming())
    return out


def _against_plan(slots: dict[str, dict[str, str]], plan: Plan, naming: Naming) -> list[Diagnostic]:
    by_device: dict[str, Entry] = {}
    for e in plan.entries:
        for scheme in (naming, Naming("partlabel")):
            path = device_path(e, scheme)
            if path:
                by_device.setdefault(path, e)
    out: list[Diagnostic] = []
    for name, keys in slots.items():
        entry = by_device.get(keys["device"])
        kind = keys.get("type", "raw")
        if entry is None or kind not in SLOT_TYPES:
            continue
        want = slot_type(entry)
        if kind in ("ext4", "vfat") and kind != want:
            out.append(Diagnostic(
                "rauc-type-fs", "error",
                f"slot {name} is type={kind} but {entry.name or entry.key} holds"
                f" {entry.filesystem or 'no filesystem'}", entry.key, f"use type={want}"))
    return out
