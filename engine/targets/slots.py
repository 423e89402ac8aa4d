"""The slot model of a plan, and the device path of each partition.

Every cloned partition is a slot class: its origin is slot 0 (A) and its
clone N slot N, because KIWI boots the origin. The root's class carries the
boot names (A, B, C ...); with `boot_clone` each boot slot N is the child of
root slot N (RAUC's `parent`), so kernel and root are updated together.
Custom partitions with clones are their own classes; partitions without
clones are not slots.

Device paths follow the user's explicit choice (`Naming`): the disk and the
partition number (`p` between them where the kernel puts one), the GPT name
under /dev/disk/by-partlabel/, or the PARTUUID of a built image under
/dev/disk/by-partuuid/.
"""

from __future__ import annotations

import re

from engine.errors import PartwrightError
from engine.plan.model import Diagnostic, Entry, Plan
from engine.targets.model import Naming, Slot, SlotClass
from engine.units import GPT_TYPE_GUIDS

ROOT_ROLES = ("root", "lvm", "raid", "readonly")
ROOT_CLASS = "rootfs"  # RAUC's name for the root slot class
BOOT_CLASS = "boot"
# characters udev keeps in /dev/disk/by-* names; others become \xHH
_UDEV_SAFE = re.compile(r"[A-Za-z0-9#+\-.:=@_]")
_DEVICE = re.compile(r"/dev/[^\s]*[^\s/]")


def check_disk(disk: str) -> str:
    """`disk` as given, or a one-line error when it is not a device path."""
    if not _DEVICE.fullmatch(disk) or "/../" in disk or disk.endswith("/.."):
        raise PartwrightError(
            f"--disk {disk!r} is not a device path (give the whole disk, e.g. /dev/sda or /dev/mmcblk0)"
        )
    return disk


def partition_path(disk: str, number: int) -> str:
    """The kernel's (or udev's) name of partition `number` of `disk`:
    /dev/sda9, /dev/mmcblk0p9, /dev/nvme0n1p9, /dev/disk/by-id/X-part9."""
    if disk.startswith("/dev/disk/by-"):
        return f"{disk}-part{number}"
    if disk[-1].isdigit():
        return f"{disk}p{number}"
    return f"{disk}{number}"


def udev_escape(name: str) -> str:
    """A name as udev writes it into /dev/disk/by-partlabel/."""
    return "".join(c if _UDEV_SAFE.fullmatch(c) else "".join(f"\\x{b:02x}" for b in c.encode())
                   for c in name)


def device_path(entry: Entry, naming: Naming) -> str | None:
    """The device path of a partition, or None where the naming has none
    (no GPT name on msdos, no PARTUUID known)."""
    if naming.scheme == "disk":
        return partition_path(naming.disk or "/dev/sda", entry.number)
    if naming.scheme == "partlabel":
        return f"/dev/disk/by-partlabel/{udev_escape(entry.name)}" if entry.name else None
    uuid = naming.partuuid(entry.number)
    return f"/dev/disk/by-partuuid/{uuid.lower()}" if uuid else None


def type_guid(code: str) -> str | None:
    """The GPT type GUID of a plan's type code (an sgdisk code or a GUID)."""
    upper = code.upper()
    if upper in GPT_TYPE_GUIDS:
        return GPT_TYPE_GUIDS[upper]
    if len(code) == 36 and code.count("-") == 4:
        return upper
    return None


def clone_index_order(plan: Plan, key: str) -> tuple[Entry, ...]:
    """The clones of `key` in the plan's clone order (clone_index 1, 2, ...)."""
    return tuple(sorted(plan.clones_of(key), key=lambda e: e.clone_index))


def class_name(entry: Entry) -> str:
    if entry.role in ROOT_ROLES:
        return ROOT_CLASS
    if entry.role == "boot":
        return BOOT_CLASS
    return entry.key


def bootname(index: int) -> str:
    """A, B, ... Z, AA, AB ...: RAUC's customary boot names."""
    out = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(ord("A") + rem) + out
    return out


def slot_classes(plan: Plan, naming: Naming) -> tuple[SlotClass, ...]:
    """Every cloned partition as a slot class, in the table order of the
    origins. Device paths the naming cannot give are empty strings (the
    naming diagnostics say why)."""
    classes: list[SlotClass] = []
    origins = [e for e in plan.entries if not e.is_clone and plan.clones_of(e.key)]
    has_root = any(class_name(e) == ROOT_CLASS for e in origins)
    for origin in sorted(origins, key=lambda e: e.start):
        name = class_name(origin)
        members = (origin, *clone_index_order(plan, origin.key))
        slots = []
        for index, entry in enumerate(members):
            boot = parent = None
            if name == ROOT_CLASS:
                boot = bootname(index)
            elif name == BOOT_CLASS and has_root:
                parent = f"{ROOT_CLASS}.{index}"
            slots.append(Slot(name, index, entry, device_path(entry, naming) or "", boot, parent))
        classes.append(SlotClass(name, origin.key, origin.role, tuple(slots)))
    # a parent that does not exist stays named: the checks report it
    return tuple(classes)


def all_slots(classes: tuple[SlotClass, ...]) -> tuple[Slot, ...]:
    return tuple(s for c in classes for s in c.slots)


def find_class(classes: tuple[SlotClass, ...], name: str) -> SlotClass | None:
    for c in classes:
        if c.name == name:
            return c
    return None


def naming_diagnostics(plan: Plan, naming: Naming, classes: tuple[SlotClass, ...]) -> list[Diagnostic]:
    """Where the chosen naming cannot name a slot, or can name two devices."""
    out: list[Diagnostic] = []
    slots = all_slots(classes)
    if naming.scheme == "partlabel" and plan.table != "gpt":
        out.append(Diagnostic(
            "naming-no-partlabel", "error",
            f"an {plan.table} table has no partition names, so /dev/disk/by-partlabel/ names no slot",
            None, "give the disk (--disk /dev/sda) or a built image (--image IMAGE) or --seed"))
    if naming.scheme == "partuuid":
        missing = [s.entry.number for s in slots if naming.partuuid(s.entry.number) is None]
        if missing:
            out.append(Diagnostic(
                "naming-no-partuuid", "error",
                f"{naming.source or 'the image'} has no PARTUUID for partition"
                f" {', '.join(map(str, missing))}", None,
                "give the image partwright built for this layout, or its --seed"))
    if naming.scheme in ("partlabel", "partuuid") and slots:
        what = "partition names" if naming.scheme == "partlabel" else "PARTUUIDs"
        fix = ("give the disk's device path (--disk), or build each machine's image with its own"
               " --seed" if naming.scheme == "partuuid" else "give the disk's device path (--disk)")
        out.append(Diagnostic(
            "naming-can-collide", "warning",
            f"every disk written from this image has the same {what}: with two of them in one"
            f" machine (an installer stick and the disk it installs) {slots[0].device or 'a slot'}"
            " names either", None, fix))
    if naming.scheme == "disk":
        out.append(Diagnostic(
            "naming-disk-order", "info",
            f"slots name partitions of {naming.disk}: right as long as the kernel gives this disk"
            " that name on every boot", None, None))
    return out
