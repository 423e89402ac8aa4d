"""SWUpdate: a `sw-description` with one software collection (`stable`) and
a mode per slot index (`copy-1` writes every slot A, `copy-2` every slot B
...), each setting the boot environment variables that tell the board which
root (and boot) partition to boot; and, with `--disk`, a `factory`
collection whose `diskpart` mode creates the whole planned table on a blank
disk (start sectors, sizes, names and type GUIDs as the plan says).

The running system picks the other mode (`swupdate -e stable,copy-2`);
SWUpdate leaves that choice to its caller. Images are written raw; their
`sha256` is left as meta-swupdate's `$swupdate_get_sha256(FILE)` for the
step that packs and signs the .swu.
"""

from __future__ import annotations

from engine.plan.model import Diagnostic, Entry, Plan
from engine.targets.model import Options, SlotClass, TargetFile
from engine.targets.slots import BOOT_CLASS, ROOT_CLASS, type_guid
from engine.units import MIB

COLLECTION = "stable"
FACTORY = "factory"
HARDWARE = "1.0"  # the revision every board of this image reports (-H BOARD:1.0)
BOOTENV = {ROOT_CLASS: "rootpart", BOOT_CLASS: "bootpart"}


def mode(index: int) -> str:
    return f"copy-{index + 1}"


def image_file(cls: SlotClass) -> str:
    return f"{cls.name}.img"


def _size(nbytes: int) -> str:
    if nbytes % MIB == 0:
        return f"{nbytes // MIB}M"
    if nbytes % 1024 == 0:
        return f"{nbytes // 1024}K"
    return str(nbytes)


def check(plan: Plan, classes: tuple[SlotClass, ...], opts: Options) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    if opts.naming.disk is None:
        out.append(Diagnostic(
            "swupdate-no-diskpart", "info",
            "no --disk given, so sw-description has no diskpart section (it must name the disk"
            " it partitions)", None, "give --disk /dev/... to add the factory,diskpart mode"))
    if plan.table == "gpt":
        for e in plan.entries:
            if type_guid(e.code) is None:
                out.append(Diagnostic(
                    "swupdate-type", "error", f"partition {e.number} has type {e.code}, which has"
                    " no GPT type GUID partwright knows", e.key, "use a GUID as the type"))
    return out


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _diskpart_entry(plan: Plan, e: Entry) -> str:
    props = [f"size={_size(e.size_bytes)}", f"start={e.start}"]
    if plan.table == "gpt":
        if e.name:
            props.append(f"name={e.name}")
        props.append(f"type={type_guid(e.code)}")
    else:
        props.append(f"type={e.code.lower()}")
    return f"partition-{e.number} = [ {', '.join(_quote(p) for p in props)} ];"


def sw_description(plan: Plan, classes: tuple[SlotClass, ...], opts: Options) -> str:
    count = max((len(c.slots) for c in classes), default=0)
    out = [
        "software =",
        "{",
        f"\tversion = {_quote(opts.version)};",
        f"\tdescription = {_quote(f'{opts.name}: slots written by partwright from the layout')};",
        f"\thardware-compatibility = [ {_quote(HARDWARE)} ];",
        "",
        f"\t{COLLECTION} = {{",
    ]
    for index in range(count):
        slots = [(c, c.slots[index]) for c in classes if index < len(c.slots)]
        out.append(f"\t\t{mode(index)} = {{")
        out.append("\t\t\timages: (")
        items = []
        for cls, s in slots:
            where = f"{s.entry.name or s.entry.key}, partition {s.entry.number}"
            items.append("\n".join([
                f"\t\t\t\t{{ /* {s.name}: {where} */",
                f"\t\t\t\t\tfilename = {_quote(image_file(cls))};",
                f"\t\t\t\t\tdevice = {_quote(s.device)};",
                '\t\t\t\t\ttype = "raw";',
                f"\t\t\t\t\tsha256 = {_quote(f'$swupdate_get_sha256({image_file(cls)})')};",
                "\t\t\t\t}",
            ]))
        out.append(",\n".join(items))
        out.append("\t\t\t);")
        env = [(BOOTENV[c.name], s.entry.number) for c, s in slots if c.name in BOOTENV]
        if env:
            out.append("\t\t\tbootenv: (")
            out.append(",\n".join(f"\t\t\t\t{{ name = {_quote(n)}; value = {_quote(str(v))}; }}"
                                  for n, v in env))
            out.append("\t\t\t);")
        out.append("\t\t};")
    out.append("\t};")
    if opts.naming.disk is not None:
        label = "gpt" if plan.table == "gpt" else "dos"
        out += [
            "",
            f"\t/* the whole table on a blank {opts.naming.disk}: swupdate -e {FACTORY},diskpart */",
            f"\t{FACTORY} = {{",
            "\t\tdiskpart = {",
            "\t\t\tpartitions: (",
            "\t\t\t\t{",
            '\t\t\t\t\ttype = "diskpart";',
            f"\t\t\t\t\tdevice = {_quote(opts.naming.disk)};",
            "\t\t\t\t\tproperties: {",
            f"\t\t\t\t\t\tlabeltype = {_quote(label)};",
            *(f"\t\t\t\t\t\t{_diskpart_entry(plan, e)}"
              for e in sorted(plan.entries, key=lambda e: e.number)),
            "\t\t\t\t\t};",
            "\t\t\t\t}",
            "\t\t\t);",
            "\t\t};",
            "\t};",
        ]
    out.append("}")
    return "\n".join(out) + "\n"


def render(plan: Plan, classes: tuple[SlotClass, ...], opts: Options) -> tuple[TargetFile, ...]:
    return (TargetFile("sw-description", sw_description(plan, classes, opts)),)
