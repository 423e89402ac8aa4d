"""RAUC: `system.conf` with a `[slot.CLASS.N]` per slot, and the `grub.cfg`
fragment that boots the slot RAUC chose (its ORDER, `<bootname>_OK` and
`<bootname>_TRY` variables in the grubenv).

Slot types follow RAUC 1.8's list: ext4 and vfat as themselves, every other
filesystem (xfs, btrfs, ext2/3, squashfs) and LVM or RAID containers as
`raw`; `resize=true` only on ext4. The grubenv must live on a partition that
is no slot (the ESP, or a boot partition without clones): RAUC rewrites it on
every switch, and a copy inside a slot is overwritten by the next update.
"""

from __future__ import annotations

from engine.plan.model import Diagnostic, Entry, Plan
from engine.targets.model import Options, SlotClass, TargetFile
from engine.targets.slots import BOOT_CLASS, ROOT_CLASS, all_slots, find_class

# RAUC 1.8's slot types (src/config_file.c supported_slot_types)
SLOT_TYPES = ("raw", "nand", "nor", "ubivol", "ubifs", "ext4", "vfat", "boot-emmc",
              "boot-mbr-switch", "boot-gpt-switch", "boot-raw-fallback")
BOOTLOADERS = ("barebox", "grub", "uboot", "efi", "custom", "noop")
KEYRING = "/etc/rauc/keyring.pem"
CUSTOM_BACKEND = "/usr/lib/rauc/bootloader-custom-backend"


def slot_type(entry: Entry) -> str:
    fs = (entry.filesystem or "").lower()
    if entry.role in ("lvm", "raid"):
        return "raw"
    if fs == "ext4":
        return "ext4"
    if fs in ("fat16", "fat32", "vfat"):
        return "vfat"
    return "raw"


def holder(plan: Plan, path: str) -> Entry | None:
    """The partition a path on the running system lies on: the origin with
    the longest mountpoint that is a prefix of it."""
    best: Entry | None = None
    for e in plan.entries:
        mp = e.mountpoint
        if e.is_clone or not mp:
            continue
        if path == mp or path.startswith(mp.rstrip("/") + "/"):
            if best is None or len(mp) > len(best.mountpoint or ""):
                best = e
    return best


def _is_slot(entry: Entry, classes: tuple[SlotClass, ...]) -> bool:
    return any(s.entry.number == entry.number for s in all_slots(classes))


def default_grubenv(plan: Plan, classes: tuple[SlotClass, ...]) -> str:
    efi = plan.entry("efi")
    if efi is not None and efi.mountpoint:
        return f"{efi.mountpoint.rstrip('/')}/EFI/BOOT/grubenv"
    return "/boot/grub2/grubenv"


def grubenv_path(plan: Plan, classes: tuple[SlotClass, ...], opts: Options) -> str:
    return opts.grubenv or default_grubenv(plan, classes)


def check(plan: Plan, classes: tuple[SlotClass, ...], opts: Options) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    if classes and find_class(classes, ROOT_CLASS) is None:
        out.append(Diagnostic(
            "rauc-no-bootable", "warning",
            "no root slot carries a boot name, so RAUC cannot tell which slot group is booted",
            "root", 'clone the root (root_clone="1")'))
    if opts.bootloader == "grub":
        env = grubenv_path(plan, classes, opts)
        where = holder(plan, env)
        if where is not None and _is_slot(where, classes):
            out.append(Diagnostic(
                "grubenv-in-slot", "error",
                f"grubenv {env} lies on {where.name or where.key} (partition {where.number}),"
                " which is a slot: the next update of that slot overwrites RAUC's boot state",
                where.key, "put the grubenv on the ESP or on a partition without clones (--grubenv)"))
    data = [s for s in all_slots(classes) if s.entry.mountpoint == "/data" or s.slot_class == "data"]
    if data:
        out.append(Diagnostic(
            "data-in-slot", "warning",
            f"the data partition {data[0].entry.name or data[0].entry.key} is a slot: RAUC writes"
            " images there, so data does not persist across updates", data[0].entry.key,
            "give the data partition no clones"))
    return out


def _data_directory(plan: Plan, classes: tuple[SlotClass, ...]) -> str | None:
    for e in plan.entries:
        if e.mountpoint == "/data" and not e.is_clone and not _is_slot(e, classes):
            return "/data/rauc"
    return None


def system_conf(plan: Plan, classes: tuple[SlotClass, ...], opts: Options) -> str:
    lines = [
        f"# RAUC system.conf for {opts.name}: {len(all_slots(classes))} slots in"
        f" {len(classes)} class(es), written by partwright from the layout",
        "[system]",
        f"compatible={opts.name}",
        f"bootloader={opts.bootloader}",
    ]
    if opts.bootloader == "grub":
        env = grubenv_path(plan, classes, opts)
        where = holder(plan, env)
        if where is not None:
            lines.append(f"# the grubenv is on {where.name or where.key} (partition {where.number}),"
                         " which is no slot")
        lines.append(f"grubenv={env}")
    data_dir = _data_directory(plan, classes)
    if data_dir:
        lines.append(f"data-directory={data_dir}")
    lines += ["", "[keyring]", f"path={KEYRING}"]
    if opts.bootloader == "custom":
        lines += ["", "[handlers]", f"bootloader-custom-backend={CUSTOM_BACKEND}"]
    for cls in classes:
        for s in cls.slots:
            e = s.entry
            role = "origin" if s.index == 0 else f"clone {s.index}"
            lines += ["", f"# {e.name or e.key}, partition {e.number}, {role},"
                          f" {e.filesystem or 'no filesystem'}",
                      f"[slot.{s.name}]", f"device={s.device}", f"type={slot_type(e)}"]
            if s.bootname:
                lines.append(f"bootname={s.bootname}")
            if s.parent:
                lines.append(f"parent={s.parent}")
            if slot_type(e) == "ext4":
                lines.append("resize=true")
    return "\n".join(lines) + "\n"


def _grub_part(plan: Plan, entry: Entry) -> str:
    return f"(hd0,{'gpt' if plan.table == 'gpt' else 'msdos'}{entry.number})"


def _root_arg(plan: Plan, opts: Options, entry: Entry, device: str) -> str:
    uuid = opts.naming.partuuid(entry.number)
    if uuid:
        return f"root=PARTUUID={uuid.lower()}"
    if opts.naming.scheme == "partlabel" and entry.name:
        return f"root=PARTLABEL={entry.name}"
    return f"root={device}"


def grub_cfg(plan: Plan, classes: tuple[SlotClass, ...], opts: Options) -> str:
    root = find_class(classes, ROOT_CLASS)
    if root is None:
        return ""
    boot = find_class(classes, BOOT_CLASS)
    env = grubenv_path(plan, classes, opts)
    where = holder(plan, env)
    env_file = env
    if where is not None and where.mountpoint:
        rel = env[len(where.mountpoint.rstrip("/")):] or "/grubenv"
        env_file = f"{_grub_part(plan, where)}{rel}"
    names = [s.bootname or "" for s in root.slots]
    flags = " ".join(f"{n}_TRY {n}_OK" for n in names)
    out = [
        f"# RAUC slot selection for {opts.name}, written by partwright: boots the first",
        "# slot in ORDER that is OK and not being tried, as RAUC's grub backend expects.",
        f"# grubenv: {env}",
        f'set ORDER="{" ".join(names)}"',
    ]
    for n in names:
        out += [f"set {n}_OK=0", f"set {n}_TRY=0"]
    out += [f"load_env --file={env_file}", "set default=0", "", "for SLOT in $ORDER; do"]
    for i, n in enumerate(names):
        out += [f'    if [ "$SLOT" = "{n}" ]; then',
                f"        INDEX={i}", f"        OK=${n}_OK", f"        TRY=${n}_TRY",
                f"        {n}_TRY=1", "    fi"]
    out += ['    if [ "$OK" -eq 1 -a "$TRY" -eq 0 ]; then', "        default=$INDEX",
            "        break", "    fi", "done", ""]
    for i, n in enumerate(names):
        out += [f'if [ "$default" -eq {i} ]; then',
                f'    if [ "${n}_OK" -eq 1 -a "${n}_TRY" -eq 1 ]; then', f"        {n}_TRY=0",
                "    fi", "fi"]
    out += [f"save_env --file={env_file} {flags} ORDER", ""]
    shared_boot = plan.entry("boot")
    for s in root.slots:
        kernel_on, prefix = s.entry, "/boot"
        paired = boot.slots[s.index] if boot is not None and s.index < len(boot.slots) else None
        if paired is not None:
            kernel_on, prefix = paired.entry, ""
        elif shared_boot is not None:
            kernel_on, prefix = shared_boot, ""
        part = _grub_part(plan, kernel_on)
        out += [f'menuentry "Slot {s.bootname} (OK=${s.bootname}_OK TRY=${s.bootname}_TRY)" {{',
                f"    linux {part}{prefix}/vmlinuz {_root_arg(plan, opts, s.entry, s.device)}"
                f" rauc.slot={s.bootname}",
                f"    initrd {part}{prefix}/initrd", "}"]
    return "\n".join(out) + "\n"


def render(plan: Plan, classes: tuple[SlotClass, ...], opts: Options) -> tuple[TargetFile, ...]:
    files = [TargetFile("system.conf", system_conf(plan, classes, opts))]
    if opts.bootloader == "grub":
        cfg = grub_cfg(plan, classes, opts)
        if cfg:
            files.append(TargetFile("grub.cfg", cfg))
    return tuple(files)
