"""Reading back the table KIWI's tools wrote into the oracle's disk file
(test-only): sfdisk's JSON for the label and the msdos rows, sgdisk's listing
for the GPT codes and names, the MBR slots decoded from sector 0 (a hybrid
MBR, a failed force_mbr)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from typing import Any

SECTOR = 512


def which(tool: str) -> str | None:
    found = shutil.which(tool)
    if found:
        return found
    for extra in ("/usr/sbin", "/sbin"):
        if os.access(os.path.join(extra, tool), os.X_OK):
            return os.path.join(extra, tool)
    return None


# ---------------------------------------------------------------------------
# child side
# ---------------------------------------------------------------------------


def tool(name: str) -> str:
    return which(name) or name


def read_table(disk_file: str) -> dict[str, Any]:
    """Read the table back: label, partitions, hybrid MBR entries."""
    out: dict[str, Any] = {"table": None, "partitions": [], "mbr": None}
    proc = subprocess.run(
        [tool("sfdisk"), "--json", disk_file], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        return out
    pt = json.loads(proc.stdout)["partitiontable"]
    label = pt.get("label")
    if label == "dos":
        out["table"] = "msdos"
        for p in pt.get("partitions", []):
            number = int(re.search(r"(\d+)$", p["node"]).group(1))  # type: ignore[union-attr]
            start = int(p["start"])
            out["partitions"].append(
                {
                    "number": number,
                    "start": start,
                    "end": start + int(p["size"]) - 1,
                    "code": format(int(p["type"], 16), "x"),
                    "name": None,
                    "bootable": bool(p.get("bootable", False)),
                }
            )
        return out
    if label != "gpt":
        out["table"] = label
        return out
    out["table"] = "gpt"
    guids = {
        int(re.search(r"(\d+)$", p["node"]).group(1)): p["type"].upper()  # type: ignore[union-attr]
        for p in pt.get("partitions", [])
    }
    proc = subprocess.run(
        [tool("sgdisk"), "-p", disk_file], capture_output=True, text=True, check=False
    )
    row = re.compile(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+[\d.]+\s+\S+\s+([0-9A-Fa-f]{4})\s{2}(.*)$")
    for line in proc.stdout.splitlines():
        m = row.match(line)
        if m:
            out["partitions"].append(
                {
                    "number": int(m.group(1)),
                    "start": int(m.group(2)),
                    "end": int(m.group(3)),
                    "code": m.group(4).upper(),
                    "name": m.group(5).rstrip(),
                    "type_guid": guids.get(int(m.group(1))),
                }
            )
    # a hybrid MBR (gpt_hybrid_mbr) or a failed force_mbr: decode the MBR itself
    mbr = read_mbr(disk_file)
    if mbr is not None and not (len(mbr) == 1 and mbr[0]["code"] == "ee" and mbr[0]["start"] == 1):
        out["mbr"] = mbr
    return out


def read_mbr(disk_file: str) -> list[dict[str, Any]] | None:
    """The four primary MBR slots, decoded from sector 0 (no tool guesses)."""
    with open(disk_file, "rb") as fh:
        sector0 = fh.read(SECTOR)
    if len(sector0) < SECTOR or sector0[510:512] != b"\x55\xaa":
        return None
    entries = []
    for slot in range(4):
        raw = sector0[446 + 16 * slot : 446 + 16 * (slot + 1)]
        ptype = raw[4]
        if ptype == 0:
            continue
        start = int.from_bytes(raw[8:12], "little")
        size = int.from_bytes(raw[12:16], "little")
        entries.append(
            {
                "slot": slot + 1,
                "start": start,
                "end": start + size - 1,
                "code": format(ptype, "x"),
                "bootable": raw[0] == 0x80,
            }
        )
    return entries

