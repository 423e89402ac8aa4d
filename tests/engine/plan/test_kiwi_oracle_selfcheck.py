"""Self-check of the KIWI oracle (tests/support/kiwi_oracle.py) against known KIWI 11.1.6 tables.

The seed example must come out exactly as spec/layout.md gives it ("The seed
example, as KIWI 11 builds it"); the msdos and aarch64 cases pin behaviours
that the planner encodes (logical-partition gaps, the msdos start-sector
fix-up, no p.legacy on aarch64).
"""

from __future__ import annotations

import pytest

from tests.support import kiwi_oracle, paths
from tests.support.seed import SEED_PARTIDS as PLANNER_SEED_PARTIDS
from tests.support.seed import SEED_ROWS as PLANNER_SEED_ROWS

DATA = paths.DATA / "oracle"

_missing = kiwi_oracle.kiwi_available()
pytestmark = [
    pytest.mark.kiwi,
    pytest.mark.skipif(_missing is not None, reason=f"KIWI oracle unavailable: {_missing}"),
]


def _image(type_attrs: str, inner: str = "") -> str:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<image schemaversion="8.5" name="oracle-selfcheck">
  <description type="system">
    <author>partwright</author>
    <contact>partwright@example.invalid</contact>
    <specification>oracle self-check</specification>
  </description>
  <preferences>
    <version>1.0.0</version>
    <packagemanager>zypper</packagemanager>
    <type image="oem" {type_attrs}>{inner}</type>
  </preferences>
</image>
"""


def _rows(result: dict) -> list[tuple]:
    return [(p["number"], p["start"], p["end"], p["code"], p["name"]) for p in result["partitions"]]


# layout.md's seed table and partids, shared with the planner's own test
SEED_ROWS = PLANNER_SEED_ROWS
SEED_PARTIDS = dict(line.split("=", 1) for line in PLANNER_SEED_PARTIDS.splitlines())
SEED_PARTIDS = {k: v.strip('"') for k, v in SEED_PARTIDS.items()}


def test_seed_example_table_and_partids() -> None:
    result = kiwi_oracle.run_oracle((DATA / "seed.xml").read_text())
    assert result["error"] is None
    assert result["table"] == "gpt"
    assert result["disk_mbytes"] == 100 * 1024
    assert result["disk_sectors"] == 209715200
    assert _rows(result) == SEED_ROWS
    assert result["partids"] == SEED_PARTIDS
    # KIWI writes config.partids in sorted key order
    assert list(result["partids"]) == sorted(SEED_PARTIDS)
    # layout.md's "free: 199991229 sectors" is sgdisk's total free space:
    # the 2014 sectors before row 1 (34..2047) plus all after row 9
    last_usable = result["disk_sectors"] - 34
    assert (2048 - 34) + (last_usable - SEED_ROWS[-1][2]) == 199991229
    # without <size> KIWI computes 2x(1024 x 1.5) + 3x10 + 2 + 2x300 + 20 MiB
    assert result["calculated_mbytes"] == 3724


def test_msdos_extended_layout_logical_gaps() -> None:
    parts = "".join(
        f'<partition name="{n}" size="{s}"/>'
        for n, s in (("a1", 10), ("a2", 20), ("a3", 30), ("a4", 40))
    )
    result = kiwi_oracle.run_oracle(
        _image(
            'filesystem="ext4" bootpartition="true" dosparttable_extended_layout="true"',
            f'<size unit="G">4</size><partitions>{parts}</partitions>',
        )
    )
    assert result["error"] is None
    assert result["table"] == "msdos"
    assert result["disk_sectors"] == 4 * 1024 * 2048
    assert [(p["number"], p["start"], p["end"], p["code"]) for p in result["partitions"]] == [
        (1, 2048, 616447, "83"),  # p.lxboot, 300 MiB
        (2, 616448, 636927, "83"),  # a1
        (3, 636928, 677887, "83"),  # a2
        (4, 677888, 8388607, "5"),  # extended, to the last sector of the disk
        (5, 679936, 741375, "83"),  # a3: 1 MiB after the extended start (EBR)
        (6, 743424, 825343, "83"),  # a4: 1 MiB gap after a3
        (7, 827392, 8388607, "83"),  # root, all free, to the last disk sector
    ]
    assert all(p["name"] is None for p in result["partitions"])
    assert result["partids"] == {
        "kiwi_A1Part": "2",
        "kiwi_A2Part": "3",
        "kiwi_A3Part": "5",
        "kiwi_A4Part": "6",
        "kiwi_BootPart": "1",
        "kiwi_RootPart": "7",
    }
    # KIWI always re-creates msdos partition 1 at disk_start_sector (2048 by
    # default) after setting the active flag: the flag is lost
    assert not any(p["bootable"] for p in result["partitions"])


def test_msdos_swap_first_loses_its_type_in_start_sector_fixup() -> None:
    result = kiwi_oracle.run_oracle(
        _image('filesystem="xfs"', "<oemconfig><oem-swap>true</oem-swap></oemconfig>")
    )
    assert result["error"] is None
    # disk: 1024 x 1.5 + 128 MiB swap
    assert result["disk_mbytes"] == 1664
    rows = [
        (p["number"], p["start"], p["end"], p["code"], p["bootable"]) for p in result["partitions"]
    ]
    assert rows == [
        (1, 2048, 264191, "83", False),  # p.swap: 82 reset to 83 by the fix-up
        (2, 264192, 3407871, "83", True),  # root, active (no boot partition)
    ]
    assert result["partids"] == {"kiwi_BootPart": "2", "kiwi_RootPart": "2", "kiwi_SwapPart": "1"}


def test_aarch64_efi_has_no_legacy_partition() -> None:
    result = kiwi_oracle.run_oracle(_image('filesystem="ext4"'), arch="aarch64", root_mbytes=1024)
    assert result["error"] is None
    assert result["table"] == "gpt"
    # 1024 x 1.5 + 20 MiB ESP, no bios_grub
    assert result["disk_mbytes"] == 1556
    assert _rows(result) == [
        (1, 2048, 43007, "EF00", "p.UEFI"),
        # all free: ends at the last 2048-aligned boundary before the backup GPT
        (2, 43008, 3184639, "8300", "p.lxroot"),
    ]
    assert result["partids"] == {"kiwi_BootPart": "2", "kiwi_EfiPart": "1", "kiwi_RootPart": "2"}


def test_ppc64le_gets_prep() -> None:
    result = kiwi_oracle.run_oracle(_image('filesystem="ext4"'), arch="ppc64le")
    assert result["error"] is None
    assert [(r[0], r[3], r[4]) for r in _rows(result)] == [
        (1, "4100", "p.prep"),
        (2, "8300", "p.lxroot"),
    ]
    assert result["partids"]["kiwi_PrepPart"] == "1"


def test_kiwi_failure_is_reported_with_partial_table() -> None:
    # root clone + custom partition + all-free sizing overruns the disk (KIWI bug)
    result = kiwi_oracle.run_oracle(
        _image(
            'filesystem="ext4" firmware="efi" root_clone="1"',
            '<size unit="G">4</size><partitions><partition name="home" size="10"/></partitions>',
        )
    )
    assert result["error"] is not None
    assert "\n" not in result["error"]
    assert "Could not create partition 5" in result["error"]
    assert [p["name"] for p in result["partitions"]] == [
        "p.legacy",
        "p.UEFI",
        "p.lxhome",
        "p.lxrootclone1",
    ]


def test_msdos_single_fixed_root_is_grown_to_disk_end_by_fixup() -> None:
    # oem-systemsize with oem-resize false makes a 1000 MiB root, but the
    # start-sector fix-up re-creates partition 1 with fdisk's default end
    result = kiwi_oracle.run_oracle(
        _image(
            'filesystem="ext4"',
            "<size>2048</size><oemconfig><oem-systemsize>1000</oem-systemsize>"
            "<oem-resize>false</oem-resize></oemconfig>",
        )
    )
    assert result["error"] is None
    assert [(p["number"], p["start"], p["end"]) for p in result["partitions"]] == [
        (1, 2048, 4194303)
    ]
