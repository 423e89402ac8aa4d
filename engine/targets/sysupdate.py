"""systemd-sysupdate: a `sysupdate.d/NN-CLASS.transfer` for the root slots
(and the boot slots), whose partitions sysupdate finds by type and label.

sysupdate takes a partition labelled `_empty` as a free slot and labels the
one it writes with the version (`MatchPattern=NAME_@v`); the origin must
carry the version it holds. KIWI names partitions p.lxroot, p.lxrootclone1
..., so the built image needs new labels before sysupdate can use it: the
warning gives the exact `sfdisk --part-label` commands. The root transfer
comes first, so a new kernel (boot) is only written after its root.
"""

from __future__ import annotations

from engine.layout.names import GPT_NAME_MAX
from engine.plan.model import Diagnostic, Plan
from engine.targets.model import Options, SlotClass, TargetFile
from engine.targets.slots import BOOT_CLASS, ROOT_CLASS, type_guid

UPDATED = (ROOT_CLASS, BOOT_CLASS)
SOURCE_DIR = "/var/lib/updates"
EMPTY = "_empty"


def updated(classes: tuple[SlotClass, ...]) -> tuple[SlotClass, ...]:
    return tuple(sorted((c for c in classes if c.name in UPDATED), key=lambda c: UPDATED.index(c.name)))


def label_prefix(cls: SlotClass, opts: Options) -> str:
    return opts.name if cls.name == ROOT_CLASS else f"{opts.name}_{cls.name}"


def wanted_labels(cls: SlotClass, opts: Options) -> list[tuple[int, str]]:
    """(partition number, label) sysupdate expects: the origin carries the
    version, every clone is `_empty`."""
    return [(s.entry.number, f"{label_prefix(cls, opts)}_{opts.version}" if s.index == 0 else EMPTY)
            for s in cls.slots]


def check(plan: Plan, classes: tuple[SlotClass, ...], opts: Options) -> list[Diagnostic]:
    if plan.table != "gpt":
        return [Diagnostic("sysupdate-gpt-only", "error",
                           f"sysupdate finds slots by GPT type and label; this layout is {plan.table}",
                           None, "drop efiparttable=\"msdos\" (and force_mbr) for a GPT table")]
    out: list[Diagnostic] = []
    chosen = updated(classes)
    if not chosen:
        out.append(Diagnostic("sysupdate-no-root", "error",
                              "neither the root nor the boot partition has clones: sysupdate has"
                              " no slot to write", "root", 'clone the root (root_clone="1")'))
    for cls in chosen:
        wanted = wanted_labels(cls, opts)
        long = [label for _, label in wanted if len(label) > GPT_NAME_MAX]
        if long:
            out.append(Diagnostic(
                "sysupdate-label-length", "error",
                f"label {long[0]!r} is longer than the {GPT_NAME_MAX} characters of a GPT name",
                cls.key, "use a shorter --name or version"))
            continue
        wrong = [(n, label) for (n, label), s in zip(wanted, cls.slots, strict=True)
                 if s.entry.name != label]
        if wrong:
            cmds = "; ".join(f"sfdisk --part-label IMAGE {n} {label}" for n, label in wrong)
            out.append(Diagnostic(
                "sysupdate-label", "warning",
                f"the {cls.name} slots are labelled"
                f" {', '.join(s.entry.name or '?' for s in cls.slots)}, which carry neither a"
                f" version nor {EMPTY}: sysupdate finds no slot", cls.key,
                f"relabel the built image: {cmds}"))
    types: dict[str, str] = {}
    for cls in chosen:
        for s in cls.slots:
            other = types.setdefault(s.entry.code.upper(), cls.name)
            if other != cls.name:
                out.append(Diagnostic(
                    "sysupdate-shared-type", "warning",
                    f"the {other} and {cls.name} slots share partition type {s.entry.code}:"
                    f" sysupdate may take an {EMPTY} {cls.name} slot for a {other} update",
                    cls.key, 'set apply_dps_codes="true" (root and boot get their own types)'))
                break
    return out


def transfer(cls: SlotClass, opts: Options, position: int) -> str:
    guid = (type_guid(cls.origin.entry.code) or cls.origin.entry.code).lower()
    prefix = label_prefix(cls, opts)
    names = ", ".join(f"{s.entry.name or s.entry.number} (partition {s.entry.number})"
                      for s in cls.slots)
    path = opts.naming.disk or "auto"
    return "\n".join([
        f"# {opts.name}: the {cls.name} slots {names}, written by partwright.",
        f"# sysupdate writes the newest {prefix}_VERSION image into an {EMPTY} slot (or the",
        "# oldest version) and labels it with the version.",
        "[Transfer]",
        "ProtectVersion=%A",
        "",
        "[Source]",
        "Type=regular-file",
        f"Path={SOURCE_DIR}",
        f"MatchPattern={prefix}_@v.{cls.name}.raw",
        "",
        "[Target]",
        "Type=partition",
        f"Path={path}",
        f"MatchPattern={prefix}_@v",
        f"MatchPartitionType={guid}",
        f"InstancesMax={len(cls.slots)}",
    ]) + "\n"


def render(plan: Plan, classes: tuple[SlotClass, ...], opts: Options) -> tuple[TargetFile, ...]:
    return tuple(TargetFile(f"{(i + 1) * 10}-{cls.name}.transfer", transfer(cls, opts, i))
                 for i, cls in enumerate(updated(classes)))
