"""Partition tables saved as text: `sfdisk --dump` and `sfdisk --json`.

A dump holds the table and nothing else: no filesystems, labels or files.
Its disk size is known on gpt (last-lba plus the 33 sectors of the backup
table and header); an msdos dump does not say it, so the disk is taken to
end where the last partition ends, and the read says so. Every fault is a
one-line DumpError naming the file and the line.
"""

from __future__ import annotations

import json
import re
from typing import Any

from engine.errors import PartwrightError
from engine.image.gpt import code_of as gpt_code
from engine.importer.model import DiskRead, ReadPartition
from engine.units import GPT_TAIL, SECTOR_SIZE

_LINE = re.compile(r"^(?P<node>\S+)\s*:\s*(?P<fields>.*)$")
_FIELD = re.compile(r'\s*(?P<key>[a-z-]+)\s*=\s*(?P<value>"(?:[^"\\]|\\.)*"|[^,]*)\s*(?:,|$)')


class DumpError(PartwrightError):
    """A table dump that cannot be read (exit status 2)."""


def looks_like_dump(head: bytes) -> bool:
    """The first bytes of a file are a dump's (not an image's)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text.startswith(b"label:") or (text.startswith(b"{") and b"partitiontable" in head)


def code_of(label: str, ptype: str) -> str:
    if label == "gpt":
        return gpt_code(ptype)
    return ptype.lower().removeprefix("0x") or "0"


def _number(node: str, device: str | None) -> int | None:
    if device and node.startswith(device):
        rest = node[len(device):].lstrip("p")
        return int(rest) if rest.isdigit() else None
    match = re.search(r"(\d+)$", node)
    return int(match.group(1)) if match else None


def _finish(source: str, label: str, rows: list[ReadPartition], last_lba: int | None,
            fmt: str) -> DiskRead:
    if label not in ("gpt", "dos"):
        raise DumpError(f"{source}: a {label!r} table (gpt and dos are read)")
    if not rows:
        raise DumpError(f"{source}: the partition table holds no partitions")
    notes: list[str] = [f"{fmt}: the table only (no filesystems, labels or /etc/fstab)"]
    end = max(p.end for p in rows)
    if label == "gpt" and last_lba is not None:
        if end > last_lba:
            raise DumpError(f"{source}: partition {max(rows, key=lambda p: p.end).number} ends at"
                            f" sector {end}, past last-lba {last_lba} (a truncated or damaged table)")
        disk, known = last_lba + 1 + GPT_TAIL, True
    else:
        disk, known = end + 1, False
        notes.append(f"the dump does not give the disk size: taken as {end + 1} sectors, where"
                     " the last partition ends")
    numbers = [p.number for p in rows]
    if len(set(numbers)) != len(numbers):
        raise DumpError(f"{source}: partition numbers repeat ({numbers})")
    return DiskRead(source=source, kind="dump", format=fmt,
                    table="gpt" if label == "gpt" else "msdos", disk_sectors=disk,
                    disk_size_known=known, partitions=tuple(sorted(rows, key=lambda p: p.number)),
                    notes=tuple(notes))


def parse_dump(text: str, source: str) -> DiskRead:
    """`sfdisk --dump` output."""
    header: dict[str, str] = {}
    rows: list[ReadPartition] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match and "=" in match.group("fields"):
            rows.append(_dump_row(match.group("node"), match.group("fields"), header, source,
                                  lineno))
        elif ":" in line and not rows:
            key, _, value = line.partition(":")
            header[key.strip()] = value.strip()
        else:
            raise DumpError(f"{source} line {lineno}: not a line of sfdisk --dump: {raw[:60]!r}")
    if "label" not in header:
        raise DumpError(f"{source}: no 'label:' line (not an sfdisk --dump file)")
    if header.get("sector-size", str(SECTOR_SIZE)) != str(SECTOR_SIZE):
        raise DumpError(f"{source}: sector-size {header['sector-size']} (512 is read)")
    last = header.get("last-lba")
    return _finish(source, header["label"], rows, int(last) if last and last.isdigit() else None,
                   "sfdisk --dump")


def _dump_row(node: str, fields: str, header: dict[str, str], source: str,
              lineno: int) -> ReadPartition:
    where = f"{source} line {lineno}"
    values: dict[str, str] = {}
    pos = 0
    while pos < len(fields):
        match = _FIELD.match(fields, pos)
        if not match or match.end() == pos:
            flag = fields[pos:].split(",")[0].strip()  # "bootable" has no value
            if flag and re.fullmatch(r"[a-z-]+", flag):
                values[flag] = ""
                pos += len(fields[pos:].split(",")[0]) + 1
                continue
            raise DumpError(f"{where}: cannot read {fields[pos:pos + 40]!r}")
        value = match.group("value").strip()
        if value.startswith('"'):
            value = value[1:-1].replace('\\"', '"')
        values[match.group("key")] = value
        pos = match.end()
    for key in ("start", "size", "type"):
        if key not in values:
            raise DumpError(f"{where}: partition {node} has no {key}= (a truncated line?)")
    if not values["start"].isdigit() or not values["size"].isdigit() or values["size"] == "0":
        raise DumpError(f"{where}: partition {node}: start={values['start']!r}"
                        f" size={values['size']!r} are not sector counts")
    number = _number(node, header.get("device"))
    if number is None:
        raise DumpError(f"{where}: {node!r} names no partition number")
    start, size = int(values["start"]), int(values["size"])
    label = header.get("label", "")
    return ReadPartition(number=number, start=start, end=start + size - 1,
                         code=code_of(label, values["type"]), name=values.get("name"),
                         partuuid=values.get("uuid", "").lower() or None)


def parse_json(text: str, source: str) -> DiskRead:
    """`sfdisk --json` output."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DumpError(f"{source} line {exc.lineno} column {exc.colno}: not a complete sfdisk"
                        f" --json dump ({exc.msg})") from None
    table = data.get("partitiontable") if isinstance(data, dict) else None
    if not isinstance(table, dict) or "label" not in table:
        raise DumpError(f"{source}: no \"partitiontable\" with a \"label\" (not sfdisk --json)")
    if int(table.get("sectorsize", SECTOR_SIZE)) != SECTOR_SIZE:
        raise DumpError(f"{source}: sectorsize {table['sectorsize']} (512 is read)")
    label = str(table["label"])
    rows = []
    for i, item in enumerate(table.get("partitions", []), 1):
        try:
            start, size = int(item["start"]), int(item["size"])
            node, ptype = str(item["node"]), str(item["type"])
        except (KeyError, TypeError, ValueError):
            raise DumpError(f"{source}: partition {i} lacks node, start, size or type"
                            " (a truncated dump?)") from None
        number = _number(node, table.get("device"))
        if number is None or size <= 0 or start < 0:
            raise DumpError(f"{source}: partition {i} ({node}) has no number or no sectors")
        rows.append(ReadPartition(number=number, start=start, end=start + size - 1,
                                  code=code_of(label, ptype), name=item.get("name"),
                                  partuuid=str(item.get("uuid", "")).lower() or None))
    last = table.get("lastlba")
    return _finish(source, label, rows, int(last) if last is not None else None, "sfdisk --json")
