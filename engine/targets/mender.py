"""Mender: the `MENDER_*` variables of an image built outside Mender's own
builder (Yocto's and mender-convert's names, as a shell file), the client's
`mender.conf` (`RootfsPartA`/`RootfsPartB`), and the bootloader variables it
starts from (`mender_boot_part` and its hex form, as `fw_setenv -s` reads
them, plus the GRUB integration's `mender_rootfsa_part` ...).

Mender's model is narrow: exactly two root filesystems (A and B), each with
its own kernel in /boot, one boot partition (the ESP or /boot) that is never
updated, and a persistent /data partition that is no slot. A layout outside
it is refused with the reason.
"""

from __future__ import annotations

import json

from engine.plan.model import Diagnostic, Entry, Plan
from engine.targets.model import Options, SlotClass, TargetFile
from engine.targets.slots import ROOT_CLASS, all_slots, device_path, find_class
from engine.units import MIB, SECTOR_SIZE

ALIGNMENT = 1048576  # KIWI aligns every partition to 1 MiB


def data_entry(plan: Plan) -> Entry | None:
    for e in plan.entries:
        if e.mountpoint == "/data" and not e.is_clone:
            return e
    return None


def boot_entry(plan: Plan) -> Entry | None:
    return plan.entry("efi") or plan.entry("boot")


def check(plan: Plan, classes: tuple[SlotClass, ...], opts: Options) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    root = find_class(classes, ROOT_CLASS)
    if root is None or len(root.slots) != 2:
        have = len(root.slots) if root else 1
        out.append(Diagnostic(
            "mender-root-ab", "error",
            f"Mender updates exactly two root filesystems (A and B); this layout has {have}",
            "root", 'set root_clone="1"'))
    if plan.layout.boot_clone > 0:
        out.append(Diagnostic(
            "mender-boot-clone", "error",
            "Mender keeps the kernel inside each root filesystem and never updates a boot"
            " partition, so boot clones are never used", "boot",
            'set boot_clone="0" (and bootpartition="false" to keep /boot inside the root)'))
    data = data_entry(plan)
    if data is None:
        out.append(Diagnostic(
            "mender-no-data", "error",
            "Mender needs a persistent /data partition (its state and the copy of mender.conf"
            " live there)", None,
            'add <partition name="data" size="..." mountpoint="/data" filesystem="ext4"/>'))
    elif plan.clones_of(data.key):
        out.append(Diagnostic(
            "mender-data-cloned", "error",
            f"the /data partition {data.name or data.key} has clones: Mender's data must not be"
            " a slot", data.key, "give the data partition no clones"))
    elif data.number != max(e.number for e in plan.entries):
        out.append(Diagnostic(
            "mender-data-not-last", "info",
            f"/data is partition {data.number}, not the last one: mender-growfs-data can only"
            " grow the last partition", data.key, "only if /data should grow on first boot:"
            " make it the last partition"))
    if boot_entry(plan) is None:
        out.append(Diagnostic(
            "mender-no-boot", "error",
            "Mender needs a boot partition (the ESP or /boot) for the bootloader and its"
            " environment; this layout has neither", None,
            'use firmware="efi" or bootpartition="true"'))
    others = [c for c in classes if c.name != ROOT_CLASS and c.name != "boot"]
    if others:
        out.append(Diagnostic(
            "mender-extra-slots", "warning",
            f"Mender updates only the root: the clones of {', '.join(c.key for c in others)}"
            " are not used", others[0].key, "drop those clones, or update them another way"))
    return out


def _slot_devices(classes: tuple[SlotClass, ...]) -> tuple[Entry, Entry, str, str]:
    root = find_class(classes, ROOT_CLASS)
    assert root is not None and len(root.slots) == 2
    a, b = root.slots
    return a.entry, b.entry, a.device, b.device


def _device(plan: Plan, entry: Entry, opts: Options, classes: tuple[SlotClass, ...]) -> str:
    for s in all_slots(classes):
        if s.entry.number == entry.number:
            return s.device
    return device_path(entry, opts.naming) or ""


def variables(plan: Plan, classes: tuple[SlotClass, ...], opts: Options) -> str:
    a, b, dev_a, dev_b = _slot_devices(classes)
    boot = boot_entry(plan)
    data = data_entry(plan)
    assert boot is not None and data is not None
    disk = opts.naming.disk or "/dev/sda"
    rows = [
        ("MENDER_STORAGE_DEVICE", disk),
        ("MENDER_STORAGE_TOTAL_SIZE_MB", str(plan.disk_sectors * SECTOR_SIZE // MIB)),
        ("MENDER_PARTITION_ALIGNMENT", str(ALIGNMENT)),
        ("MENDER_BOOT_PART", _device(plan, boot, opts, classes)),
        ("MENDER_BOOT_PART_NUMBER", str(boot.number)),
        ("MENDER_BOOT_PART_SIZE_MB", str(boot.size_bytes // MIB)),
        ("MENDER_ROOTFS_PART_A", dev_a),
        ("MENDER_ROOTFS_PART_A_NUMBER", str(a.number)),
        ("MENDER_ROOTFS_PART_B", dev_b),
        ("MENDER_ROOTFS_PART_B_NUMBER", str(b.number)),
        ("MENDER_DATA_PART", _device(plan, data, opts, classes)),
        ("MENDER_DATA_PART_NUMBER", str(data.number)),
        ("MENDER_DATA_PART_SIZE_MB", str(data.size_bytes // MIB)),
    ]
    if opts.naming.scheme == "partuuid":
        rows.append(("MENDER_ENABLE_PARTUUID", "y"))
    head = [
        f"# Mender variables for {opts.name}, written by partwright from the layout:",
        "# an image partitioned outside Mender's builder. Source it (mender-convert's",
        "# configuration is bash) or copy the lines into local.conf (Yocto: KEY = \"value\").",
    ]
    return "\n".join(head + [f'{k}="{v}"' for k, v in rows]) + "\n"


def mender_conf(classes: tuple[SlotClass, ...]) -> str:
    _, _, dev_a, dev_b = _slot_devices(classes)
    return json.dumps({"RootfsPartA": dev_a, "RootfsPartB": dev_b}, indent=2) + "\n"


def bootenv(classes: tuple[SlotClass, ...], opts: Options) -> str:
    a, b, _, _ = _slot_devices(classes)
    rows = [
        ("mender_boot_part", str(a.number)),
        ("mender_boot_part_hex", format(a.number, "x")),
        ("upgrade_available", "0"),
        ("bootcount", "0"),
        ("mender_rootfsa_part", str(a.number)),
        ("mender_rootfsb_part", str(b.number)),
    ]
    for slot, entry in (("a", a), ("b", b)):
        uuid = opts.naming.partuuid(entry.number)
        if uuid:
            rows.append((f"mender_rootfs{slot}_uuid", uuid.lower()))
    head = ["# The boot environment Mender starts from (slot A is booted): fw_setenv -s FILE,",
            "# or grub-mender-grubenv-set for GRUB; one 'name value' per line."]
    return "\n".join(head + [f"{k} {v}" for k, v in rows]) + "\n"


def render(plan: Plan, classes: tuple[SlotClass, ...], opts: Options) -> tuple[TargetFile, ...]:
    return (
        TargetFile("mender.conf", mender_conf(classes)),
        TargetFile("mender-variables.sh", variables(plan, classes, opts)),
        TargetFile("bootenv.txt", bootenv(classes, opts)),
    )
