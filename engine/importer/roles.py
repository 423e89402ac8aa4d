"""What each partition of a disk is, in KIWI's words: role, map key, clone origin.

In order of trust: /config.partids (KIWI's own map: kiwi_RootPart,
kiwi_homePartClone1 ...), KIWI's GPT names (p.legacy, p.UEFI, p.lxboot,
p.lxbootcloneN, p.swap, p.lx<name>, p.lx<name>cloneN, p.spare, p.lxreadonly,
p.lxroot, p.lxrootcloneN, p.lxlvm, p.lxraid), then, for tables KIWI did not
write or msdos tables without a partids file: the mountpoint in the root
filesystem's /etc/fstab, the type code (ESP, BIOS boot, swap, LVM, RAID, the
Discoverable Partitions types), the filesystem label KIWI gives (EFI, BOOT,
ROOT, SWAP, SPARE, the name in capitals). Clones not named as such are the
partitions inspect pairs with an origin by content; in KIWI's order a clone
comes before its origin, so the last of a group is the origin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.importer.model import DiskRead, ReadPartition
from engine.layout.names import SHELL_NAME_RE, is_reserved

FIXED_NAMES: dict[str, tuple[str, str]] = {  # GPT name -> (role, key)
    "p.legacy": ("bios_grub", "efi_csm"), "p.UEFI": ("efi", "efi"), "p.prep": ("prep", "prep"),
    "p.lxboot": ("boot", "boot"), "p.swap": ("swap", "swap"), "p.spare": ("spare", "spare"),
    "p.lxreadonly": ("readonly", "readonly"), "p.lxroot": ("root", "root"),
    "p.lxlvm": ("lvm", "root"), "p.lxraid": ("raid", "root"),
}
PARTIDS: dict[str, tuple[str, str]] = {  # /config.partids key -> (role, key)
    "kiwi_BiosGrub": ("bios_grub", "efi_csm"), "kiwi_EfiPart": ("efi", "efi"),
    "kiwi_PrepPart": ("prep", "prep"), "kiwi_BootPart": ("boot", "boot"),
    "kiwi_SwapPart": ("swap", "swap"), "kiwi_SparePart": ("spare", "spare"),
    "kiwi_ROPart": ("readonly", "readonly"), "kiwi_RootPart": ("root", "root"),
    "kiwi_RaidPart": ("raid", "root"), "kiwi_RWPart": ("root", "root"),
}
# type codes of other tools (Discoverable Partitions and friends) -> role, custom name
TYPE_ROLES: dict[str, tuple[str, str | None]] = {
    "EF02": ("bios_grub", None), "EF00": ("efi", None), "4100": ("prep", None),
    "8200": ("swap", None), "8E00": ("lvm", None), "FD00": ("raid", None),
    "EA00": ("boot", None), "8303": ("root", None), "8304": ("root", None),
    "8305": ("root", None), "8302": ("custom", "home"), "8306": ("custom", "srv"),
    "8310": ("custom", "var"), "8311": ("custom", "vartmp"),
    "82": ("swap", None), "8e": ("lvm", None), "fd": ("raid", None), "41": ("prep", None),
    "ef": ("efi", None),
}
LABEL_ROLES = {"EFI": "efi", "BOOT": "boot", "ROOT": "root", "SWAP": "swap", "SPARE": "spare"}
MOUNT_ROLES = {"/": "root", "/boot": "boot", "/boot/efi": "efi", "/efi": "efi"}
EXTENDED = ("5", "f", "85")
ROOT_ROLES = ("root", "lvm", "raid")
_CLONE_NAME = re.compile(r"^p\.lx(?P<name>.+)clone(?P<n>\d+)$")
_CUSTOM_NAME = re.compile(r"^p\.lx(?P<name>.+)$")
_CLONE_KEY = re.compile(r"^kiwi_(?P<name>.+)PartClone(?P<n>\d+)$")
_CUSTOM_KEY = re.compile(r"^kiwi_(?P<name>.+)Part$")


@dataclass(frozen=True)
class Role:
    """One partition, recognised."""

    number: int
    role: str  # one of engine.plan.model.ROLES
    key: str  # KIWI's map key: root, rootclone1, home, homeclone2 ...
    clone_of: str | None = None
    why: str = ""  # what it was recognised by
    mountpoint: str | None = None


def _root_role(part: ReadPartition) -> str:
    if part.code in ("8E00", "8e") or part.filesystem == "LVM2_member" or part.name == "p.lxlvm":
        return "lvm"
    if part.code in ("FD00", "fd") or part.filesystem == "linux_raid_member" \
            or part.name == "p.lxraid":
        return "raid"
    return "root"


def safe_name(text: str, number: int) -> str:
    """A custom partition name KIWI accepts, made from `text`."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", text.strip("/")).strip("_")
    if name and name[0].isdigit():
        name = f"p{name}"
    if not name or not SHELL_NAME_RE.match(f"kiwi_{name}Part"):
        return f"part{number}"
    return f"{name}data" if is_reserved(name) else name


def mountpoints(read: DiskRead) -> dict[int, str]:
    """Partition number -> mountpoint, from the fstab that was read."""
    found: dict[int, str] = {}
    for spec, mountpoint, _fstype in read.fstab:
        what, _, value = spec.partition("=")
        if spec.startswith("/dev/disk/by-"):
            what, value = spec.split("/")[3][3:].upper(), spec.rsplit("/", 1)[1]
        for part in read.partitions:
            hit = {"UUID": part.uuid, "LABEL": part.label, "PARTUUID": part.partuuid}
            got = hit.get(what.upper())
            if got and got.lower() == value.lower() and part.number not in found:
                found[part.number] = "swap" if mountpoint in ("none", "swap") else mountpoint
                break
    return found


def _from_partids(read: DiskRead, by_number: dict[int, Role]) -> None:
    ids = dict(read.partids)
    root = ids.get("kiwi_RootPart")
    exact = {m.group("name").lower(): m.group("name")
             for k in ids if (m := _CLONE_KEY.match(k)) is not None}
    for key, value in sorted(ids.items()):
        if not value.isdigit() or read.partition(int(value)) is None:
            continue
        number, part = int(value), read.partition(int(value))
        assert part is not None
        why = f"/config.partids {key}"
        if key == "kiwi_BootPart" and value == root:
            continue  # no boot partition: KIWI names the root
        if key in PARTIDS:
            role, mapkey = PARTIDS[key]
            if role == "root" and key != "kiwi_RWPart":
                role = _root_role(part)
                if role == "root" and "kiwi_BootPart" not in ids and "kiwi_ROPart" not in ids:
                    role = "lvm"  # KIWI names a plain root kiwi_BootPart too, an LVM root not
            by_number.setdefault(number, Role(number, role, mapkey, None, why))
        elif (m := _CLONE_KEY.match(key)) is not None:
            name = m.group("name")
            by_number[number] = Role(number, "", f"{name}clone{m.group('n')}", name, why)
        elif (m := _CUSTOM_KEY.match(key)) is not None:
            title = m.group("name")
            gpt = _CUSTOM_NAME.match(part.name or "")
            if gpt and gpt.group("name").title() == title:
                name = gpt.group("name")
            else:
                name = exact.get(title.lower(), title.lower())
            by_number.setdefault(number, Role(number, "custom", name, None, why))


def _from_names(read: DiskRead, by_number: dict[int, Role]) -> None:
    for part in read.partitions:
        if part.number in by_number or not part.name:
            continue
        why = f"GPT name {part.name}"
        if part.name in FIXED_NAMES:
            role, key = FIXED_NAMES[part.name]
            if role == "root":
                role = _root_role(part)
            by_number[part.number] = Role(part.number, role, key, None, why)
        elif (m := _CLONE_NAME.match(part.name)) is not None:
            name = m.group("name")
            by_number[part.number] = Role(part.number, "", f"{name}clone{m.group('n')}", name, why)
        elif (m := _CUSTOM_NAME.match(part.name)) is not None \
                and SHELL_NAME_RE.match(f"kiwi_{m.group('name')}Part"):
            by_number[part.number] = Role(part.number, "custom", m.group("name"), None, why)


def _from_content(read: DiskRead, by_number: dict[int, Role], mounts: dict[int, str]) -> None:
    """Partitions KIWI's names and partids left open: by fstab, type, label."""
    for part in read.partitions:
        if part.number in by_number:
            continue
        role, name, why = _guess(part, mounts.get(part.number))
        if role in ("efi", "bios_grub", "prep", "boot", "swap", "spare") and any(
                r.role == role and r.clone_of is None for r in by_number.values()):
            role, name = "custom", None  # a second one is a custom partition
        if role in ROOT_ROLES and any(r.key == "root" for r in by_number.values()):
            role = "custom"
        if role == "custom":
            key = name or safe_name(part.label or part.name or (mounts.get(part.number) or ""),
                                    part.number)
            while any(r.key == key for r in by_number.values()):
                key = f"{key}{part.number}"
        else:
            key = {"bios_grub": "efi_csm", "lvm": "root", "raid": "root"}.get(role, role)
        by_number[part.number] = Role(part.number, role, key, None, why)


def _guess(part: ReadPartition, mountpoint: str | None) -> tuple[str, str | None, str]:
    if mountpoint is not None:
        if mountpoint in MOUNT_ROLES:
            role = MOUNT_ROLES[mountpoint]
            return (_root_role(part) if role == "root" else role), None, f"/etc/fstab {mountpoint}"
        if mountpoint == "swap":
            return "swap", None, "/etc/fstab swap"
        return "custom", safe_name(mountpoint, part.number), f"/etc/fstab {mountpoint}"
    if part.code in TYPE_ROLES:
        role, name = TYPE_ROLES[part.code]
        return role, name, f"type {part.code}"
    if part.filesystem in ("swap", "LVM2_member", "linux_raid_member"):
        return {"swap": "swap", "LVM2_member": "lvm"}.get(part.filesystem, "raid"), None, \
            f"filesystem {part.filesystem}"
    label = (part.label or "").upper()
    if label in LABEL_ROLES and not (label == "EFI" and part.filesystem != "vfat"):
        return LABEL_ROLES[label], None, f"label {part.label}"
    return "custom", None, "a partition of its own"


def _clones_by_content(read: DiskRead, by_number: dict[int, Role]) -> None:
    """Groups of partitions inspect finds equal become an origin and its
    clones. The group's role and key are those of the member recognised best
    (a KIWI role before a custom one). Without GPT names (msdos, KIWI's
    tables) the origin is the last of the group, as KIWI creates clones
    first; with another tool's names, the first."""
    groups: dict[int, set[int]] = {}
    for a, b in read.clones:
        group = groups.get(a) or groups.get(b) or {a}
        group |= {a, b}
        for n in group:
            groups[n] = group
    for group in {id(g): g for g in groups.values()}.values():
        if any(by_number[n].clone_of is not None for n in group):
            continue  # KIWI's names or partids already say who is whose clone
        members = sorted(group)
        best = next((by_number[n] for n in members if by_number[n].role != "custom"),
                    by_number[members[-1]])
        named = any(getattr(read.partition(n), "name", None) for n in members)
        origin = members[0] if named and read.table == "gpt" else members[-1]
        by_number[origin] = Role(origin, best.role, best.key, None, best.why)
        for i, n in enumerate([m for m in members if m != origin], 1):
            by_number[n] = Role(n, best.role, f"{best.key}clone{i}", best.key,
                                f"the same content as partition {origin}")


def _root_by_name(read: DiskRead, by_number: dict[int, Role]) -> None:
    """No partition recognised as the root: the one whose GPT name or label
    says root (rootfs, root-a ...) and holds a root filesystem."""
    if any(r.key == "root" for r in by_number.values()):
        return
    for part in read.partitions:
        r = by_number.get(part.number)
        said = f"{part.name or ''} {part.label or ''}".lower()
        if r is not None and r.role == "custom" and "root" in said \
                and part.filesystem in ("ext2", "ext3", "ext4", "xfs", "btrfs"):
            by_number[part.number] = Role(part.number, "root", "root", None,
                                          f"{'GPT name' if 'root' in (part.name or '').lower() else 'label'}"
                                          f" {part.name if 'root' in (part.name or '').lower() else part.label}")
            return


def recognise(read: DiskRead) -> tuple[Role, ...]:
    """Every partition's role and key (see the module docstring)."""
    by_number: dict[int, Role] = {}
    for part in read.partitions:
        if read.table == "msdos" and part.code in EXTENDED:
            by_number[part.number] = Role(part.number, "extended", "extended", None, "type")
    _from_partids(read, by_number)
    _from_names(read, by_number)
    mounts = mountpoints(read)
    _from_content(read, by_number, mounts)
    _root_by_name(read, by_number)
    _clones_by_content(read, by_number)
    keys = {r.key: r for r in by_number.values() if r.clone_of is None}
    out = []
    for number in sorted(by_number):
        r = by_number[number]
        if r.clone_of == "root" and "readonly" in keys:
            r = Role(r.number, "", r.key, "readonly", r.why)  # an overlay's clones are its
        if r.clone_of is not None and not r.role:
            origin = keys.get(r.clone_of)
            r = Role(r.number, origin.role if origin else "custom", r.key, r.clone_of, r.why)
        out.append(Role(r.number, r.role, r.key, r.clone_of, r.why, mounts.get(number)))
    return tuple(out)
