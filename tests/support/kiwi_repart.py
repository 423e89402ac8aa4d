"""KIWI's first-boot repartition (dracut kiwi-repart) replayed on a device
file with the real sfdisk and sgdisk: the oracle of the first-boot tests.

Each step is the one kiwi-repart-disk.sh and 59kiwi-lib take, in their
order, written out here so a test can show how it knows: the measurements
come from the device file (its size is what `blockdev --getsize64` gives;
the partitions' sizes from `sfdisk --json`, the msdos extended partition
counting the 2 sectors the kernel gives its device), the decisions are the
script's arithmetic, and the table changes are made by the tools themselves.
The kernel is the one piece not run: loop devices here do not scan
partitions, so "the last partition" is the highest-numbered one, as the
kernel lists them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field

MIB = 1024 * 1024
DOS_MAX_BYTES = 4294967295 * 512


@dataclass
class Replay:
    """What the replay did and found."""

    table: list[dict[str, object]]  # sfdisk --json partitions after the boot
    label: str
    ran: list[str] = field(default_factory=list)  # the table-changing commands, in order
    outcome: str = ""  # "repart", "no-unallocated", "systemsize-smaller", "no-room"


def _sh(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), input=stdin, capture_output=True, text=True, check=False)


def _table(device: str) -> tuple[str, list[dict[str, object]]]:
    data = json.loads(_sh("sfdisk", "--json", device).stdout)["partitiontable"]
    parts = []
    for p in data.get("partitions", []):
        number = int(re.sub(r"^.*?(\d+)$", r"\1", str(p["node"])))
        parts.append({**p, "number": number})
    return str(data["label"]), sorted(parts, key=lambda p: int(str(p["number"])))


def _unallocated(device: str, label: str) -> bool:
    """disk_has_unallocated_space."""
    out = _sh("sfdisk", "--list-free", device)
    text = out.stdout + out.stderr
    if label == "gpt" and "GPT PMBR size mismatch" in text:
        return True
    line = next((ln for ln in text.splitlines() if "unpartitioned" in ln.lower()), "")
    fields = line.split(",")
    digits = re.findall(r"[0-9]+", fields[1]) if len(fields) > 1 else []
    return bool(digits) and digits[0] != "0"


def replay(device: str, partids: dict[str, str], systemsize: int | None, lvm: bool,
           resize: bool = True) -> Replay:
    """Boot once: what kiwi-repart does to the table in `device`."""
    label, parts = _table(device)
    rec = Replay(table=parts, label=label)
    if not resize:  # oem-resize false: KIWI does not put kiwi-repart into the initrd
        rec.outcome = "no-module"
        return rec
    if not _unallocated(device, label):  # resize_wanted
        rec.outcome = "no-unallocated"
        return rec
    if label == "gpt":  # relocate_gpt_at_end_of_disk
        assert _sh("sfdisk", "--relocate", "gpt-bak-std", device).returncode == 0
        rec.ran.append("sfdisk --relocate gpt-bak-std")
    # initialize: the disk and the last partition, as blockdev sizes them
    disk_bytes = os.path.getsize(device)
    if label == "dos":
        disk_bytes = min(disk_bytes, DOS_MAX_BYTES)
    part_bytes = sum((2 if str(p["type"]) in ("5", "f", "85") else int(str(p["size"]))) * 512
                     for p in parts)
    disk_free_mbytes = (disk_bytes - part_bytes) // MIB
    last = parts[-1]
    disk_root_mbytes = int(str(last["size"])) * 512 // 1024 // 1024
    # get_last_partition_id_from_config_file: the highest number, from 1
    resize_part = 1
    for value in partids.values():
        if value.isdigit() and int(value) > resize_part:
            resize_part = int(value)
    # repart_standard_disk / repart_lvm_disk, check_repart_possible
    if systemsize is None:
        have = disk_root_mbytes + disk_free_mbytes
        min_additional = 10
    else:
        have = systemsize
        min_additional = systemsize - disk_root_mbytes
    min_additional = max(min_additional, 10)
    if systemsize is not None and systemsize < disk_root_mbytes:
        rec.outcome = "systemsize-smaller"
        return rec
    if min_additional > disk_free_mbytes:
        rec.outcome = "no-room"
        return rec
    raid = "kiwi_RaidDev" in partids
    size = f"+{have}M" if systemsize is not None else "."
    if label == "gpt":
        name = _sh("sfdisk", "--part-label", device, str(resize_part)).stdout.strip()
        end = "0" if size == "." else size
        # the script calls sgdisk once per change; one call with the same
        # options in the same order writes the same table (sgdisk applies
        # them in turn) and sleeps its 1 s after syncing once, not 3 times
        cmd = ["sgdisk", "--delete", str(resize_part), "--new", f"{resize_part}:0:{end}",
               "--change-name", f"{resize_part}:{name}"]
        if lvm or raid:
            cmd += ["--typecode", f"{resize_part}:{'8e00' if lvm else 'fd00'}"]
        cmds = [[*cmd, device]]
    else:
        dump = _sh("sfdisk", "--dump", device).stdout
        start = next(ln.split(",")[0].split("=")[1].strip() for ln in dump.splitlines()
                     if f"{resize_part} :" in ln)
        cmds = [["sfdisk", "--force", "--delete", device, str(resize_part)],
                ["sfdisk", "--force", "-N", str(resize_part), device,
                 f"<<< {start},{'-' if size == '.' else size}"]]
        if lvm or raid:
            cmds.append(["sfdisk", "--force", "--change-id", device, str(resize_part),
                         "8e" if lvm else "fd"])
    for cmd in cmds:
        stdin = None
        if cmd[-1].startswith("<<< "):
            stdin = cmd.pop()[4:] + "\n"
        proc = _sh(*cmd, stdin=stdin)
        rec.ran.append(" ".join(cmd[:-1] if cmd[-1] == device else cmd))
        if proc.returncode != 0:
            rec.outcome = f"failed: {' '.join(cmd)}: {proc.stderr.strip()}"
            break
    else:
        rec.outcome = "repart"
    rec.label, rec.table = _table(device)
    return rec
