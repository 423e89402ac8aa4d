"""Images KIWI did not make: one by systemd-repart 252, one made with sgdisk
by hand. Each imports to the closest KIWI layout, and every way that
layout's plan differs from the image (read here on its own, with sfdisk)
is named by a diagnostic for that partition; no diagnostic names a
difference that is not there."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.image import gpt
from engine.importer import Imported, description, import_disk
from engine.kiwi.read import loads
from engine.plan.planner import plan

ATTRS = {"number": "import-number", "start": "import-start", "end": "import-size",
         "code": "import-type", "name": "import-name"}


def _sh(*args: str) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, check=True).stdout


def _disk_rows(image: Path) -> dict[int, dict[str, object]]:
    table = json.loads(_sh("sfdisk", "--json", str(image)))["partitiontable"]
    out = {}
    for p in table["partitions"]:
        number = int(str(p["node"])[len(str(image)):])
        out[number] = {"number": number, "start": p["start"], "end": p["start"] + p["size"] - 1,
                       "code": gpt.code_of(p["type"]), "name": p.get("name")}
    return out


def every_difference_named(image: Path, imported: Imported) -> set[str]:
    """Check the claim; return the diagnostic codes found."""
    disk = _disk_rows(image)
    planned = {e.key: e for e in imported.plan.entries}
    keys = {e.number: e.key for e in imported.entries}
    said = {(d.code, d.partition) for d in imported.diagnostics if d.code.startswith("import-")}
    expected: set[tuple[str, str | None]] = set()
    for number, row in disk.items():
        key = keys[number]
        e = planned.get(key)
        if e is None:
            expected.add(("import-missing", key))
            continue
        for attr, code in ATTRS.items():
            mine = e.sectors if attr == "end" else getattr(e, attr)
            theirs = int(str(row["end"])) - int(str(row["start"])) + 1 if attr == "end" else row[attr]
            if mine != theirs:
                expected.add((code, key))
    for key in planned:
        if key not in keys.values():
            expected.add(("import-extra", key))
    differences = {s for s in said if s[0] in (*ATTRS.values(), "import-missing", "import-extra")}
    assert differences == expected
    assert not imported.exact and expected
    # the description it writes is one KIWI's schema takes, and plans as the import did
    layout = loads(description(imported)).layout
    assert plan(layout).entries == imported.plan.entries
    return {code for code, _ in said}


@pytest.mark.skipif(shutil.which("systemd-repart") is None, reason="systemd-repart missing")
def test_an_image_made_by_systemd_repart(tmp_path: Path) -> None:
    root = tmp_path / "root.ext4"
    with open(root, "wb") as fh:
        fh.truncate(64 << 20)
    _sh("mkfs.ext4", "-q", "-L", "root-x86-64", str(root))
    defs = tmp_path / "repart.d"
    defs.mkdir()
    confs = {
        "00-esp": "Type=esp\nFormat=vfat\nSizeMinBytes=64M\nSizeMaxBytes=64M",
        "10-root-a": f"Type=root\nLabel=root-a\nCopyBlocks={root}",
        "11-root-b": f"Type=root\nLabel=root-b\nCopyBlocks={root}",
        "20-home": "Type=home\nFormat=ext4\nSizeMinBytes=100M",
        "30-swap": "Type=swap\nFormat=swap\nSizeMinBytes=32M\nSizeMaxBytes=32M",
    }
    for name, body in confs.items():
        (defs / f"{name}.conf").write_text(f"[Partition]\n{body}\n")
    image = tmp_path / "repart.img"
    proc = subprocess.run(["systemd-repart", f"--definitions={defs}", "--empty=create",
                           "--size=512M", "--dry-run=no",
                           "--seed=e2b3e9c6-1c25-4c8f-9e4a-6ab6f9b7a0f1", str(image)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"systemd-repart could not run here: {proc.stderr.strip().splitlines()[-1:]}")
    imported = import_disk(str(image))
    roles = [(e.number, e.role, e.key, e.clone_of) for e in imported.entries]
    assert roles == [(1, "efi", "efi", None), (2, "root", "root", None),
                     (3, "root", "rootclone1", "root"), (4, "custom", "home", None),
                     (5, "swap", "swap", None)]
    lay = imported.layout
    assert (lay.firmware, lay.eficsm, lay.apply_dps_codes, lay.root_clone) == ("efi", False, True, 1)
    assert lay.oem_swap and lay.oem_swapsize == 32 and lay.efipartsize == 64
    assert lay.partitions[0].name == "home" and lay.partitions[0].partition_name == "home"
    codes = every_difference_named(image, imported)
    assert {"import-start", "import-size", "import-type", "import-name"} <= codes


def test_an_image_made_with_sgdisk_by_hand(tmp_path: Path) -> None:
    image = tmp_path / "hand.img"
    with open(image, "wb") as fh:
        fh.truncate(800 << 20)
    _sh("sgdisk", "-n", "1:2048:+100M", "-t", "1:EF00", "-c", "1:EFI system",
        "-n", "2:0:+200M", "-t", "2:8300", "-c", "2:rootfs",
        "-n", "3:0:+320M", "-t", "3:8300", "-c", "3:data",
        "-n", "5:0:+50M", "-t", "5:0700", "-c", "5:shared", str(image))
    rows = _disk_rows(image)
    for number, fs, label in ((1, "vfat", "ESP"), (2, "ext4", "rootfs"), (3, "xfs", "data")):
        offset = int(str(rows[number]["start"])) * 512
        size = (int(str(rows[number]["end"])) - int(str(rows[number]["start"])) + 1) * 512
        part = tmp_path / f"p{number}"
        with open(part, "wb") as fh:
            fh.truncate(size)
        cmd = {"vfat": ["mkfs.vfat", "-n", label], "ext4": ["mkfs.ext4", "-q", "-L", label],
               "xfs": ["mkfs.xfs", "-q", "-L", label]}[fs]
        _sh(*cmd, str(part))
        _sh("dd", f"if={part}", f"of={image}", "bs=1M", f"seek={offset}", "oflag=seek_bytes",
            "conv=notrunc,sparse", "status=none")
    imported = import_disk(str(image))
    roles = {e.number: (e.role, e.key) for e in imported.entries}
    assert roles[1] == ("efi", "efi") and roles[5][0] == "custom"
    codes = every_difference_named(image, imported)
    assert "import-size" not in codes  # whole MiB, and the root keeps its size
    assert [p.part_id for p in imported.layout.partitions] == [3, 5]  # KIWI numbers in a row
