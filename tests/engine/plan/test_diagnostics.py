"""Every diagnostic code fires on the layout it is about, with its severity,
the partition it concerns and numbers in the message."""

from __future__ import annotations

import pytest

from engine.layout.example import EXAMPLE_LAYOUT as SEED
from engine.layout.model import Layout, Partition, SystemDisk
from engine.plan.planner import plan

EFI = Layout(firmware="efi", filesystem="ext4", size_mb=8192)
BIOS = Layout(firmware="bios", filesystem="ext4", size_mb=8192)

CASES: dict[str, tuple[Layout, str, str | None, str | None]] = {
    # code: (layout, severity, partition key or None, a text the message holds)
    "gpt-entries": (SEED.with_partition("home", clone=200), "error", "homeclone125", "207"),
    "msdos-primaries": (SEED.with_changes(efiparttable="msdos"), "error", "homeclone1", "9 partitions"),
    "msdos-2tib": (BIOS.with_changes(size_mb=3 * 1024 * 1024), "error", None, "3072.0 GiB"),
    "msdos-logical-id": (BIOS.with_changes(
        dosparttable_extended_layout=True, rootpart_id=30,
        partitions=(Partition("a1", 10), Partition("b1", 10), Partition("c1", 10))),
        "error", "root", "30"),
    "msdos-last-sector": (BIOS.with_changes(size_mb=1001, oem_systemsize=1000, oem_resize=False),
                          "error", "root", "Value out of range"),
    "msdos-partition-missing": (EFI.with_changes(efiparttable="msdos", size_mb=23), "error",
                                "efi", "kiwi_EfiPart=\"2\""),
    "msdos-first-recreated": (BIOS.with_changes(oem_swap=True), "warning", "swap", "83"),
    "kiwi-crash": (BIOS.with_changes(bootpartition=True, disk_start_sector=8192), "error",
                   "boot", "TypeError"),
    "force-mbr-ignored": (SEED.with_changes(force_mbr=True), "warning", None, "9 partitions"),
    "force-mbr": (EFI.with_changes(force_mbr=True), "info", None, "msdos"),
    "force-mbr-unpartitioned": (EFI.with_changes(force_mbr=True, unpartitioned_mb=100), "error",
                                None, "unpartitioned=\"100\""),
    "force-mbr-msdos": (EFI.with_changes(force_mbr=True, efiparttable="msdos"), "error", None,
                        "NotImplementedError"),
    "hybrid-mbr-3": (SEED.with_changes(gpt_hybrid_mbr=True), "warning", None, "p.lxbootclone1"),
    "hybrid-mbr-msdos": (EFI.with_changes(gpt_hybrid_mbr=True, efiparttable="msdos"), "error",
                         None, "set_hybrid_mbr"),
    "sd-minors": (SEED.with_partition("home", clone=10), "info", None, "17 partitions"),
    "part-id-collision": (EFI.with_changes(root_clone=1, oem_systemsize=1000, oem_resize=False,
                                           partitions=(Partition("home", 10, clone=2, part_id=10),)),
                          "error", "rootclone1", "number 11"),
    "root-clone-overrun": (SEED.with_changes(oem_systemsize=None), "error", "root",
                           "1 custom partition"),
    "root-clone-resize": (EFI.with_changes(root_clone=1, oem_systemsize=1000), "warning", "root",
                          "root_clone=1"),
    "root-clone-no-size": (EFI.with_changes(root_clone=1, oem_resize=False), "warning", "root",
                           "root_clone=1"),
    "clone-labels": (SEED.with_changes(devicepersistency="by-label"), "warning", "boot",
                     "by-label"),
    "clone-no-size": (EFI.with_changes(partitions=(Partition("home", 0, clone=1),)), "error",
                      "home", "0 MiB"),
    "luks-clone-inner": (EFI.with_changes(root_clone=1, oem_systemsize=1000, oem_resize=False,
                                          luks="x"), "warning", "root", "LUKS"),
    "lvm-clone-inner": (EFI.with_changes(root_clone=1, oem_systemsize=1000, oem_resize=False,
                                         systemdisk=SystemDisk()), "warning", "root", "systemVG1"),
    "raid-clone-inner": (EFI.with_changes(root_clone=1, oem_systemsize=1000, oem_resize=False,
                                          mdraid="mirroring"), "warning", "root", "mdadm"),
    "disk-too-small": (SEED.with_changes(size_mb=10), "error", "efi", "10 MiB"),
    "unpartitioned": (SEED, "info", None, "95.4 GiB"),
    "disk-size-estimated": (EFI.with_changes(size_mb=None, root_mbytes=2000), "info", None,
                            "2000 MiB"),
    "size-below-estimate": (EFI.with_changes(size_mb=1000), "warning", None, "1558 MiB"),
    "reserved-name": (EFI.with_changes(partitions=(Partition("ot", 10),)), "error", "ot",
                      "reserved"),
    "shell-name": (EFI.with_changes(partitions=(Partition("my-data", 10),)), "error", "my-data",
                   "shell"),
    "partition-name": (EFI.with_changes(partitions=(Partition("home", 10, partition_name="a b"),)),
                       "error", "home", "a b"),
    "duplicate-name": (EFI.with_changes(partitions=(Partition("home", 10), Partition("home", 20))),
                       "error", "home", "home"),
    "gpt-name-length": (EFI.with_changes(partitions=(Partition("a" * 30, 10, clone=1),)),
                        "warning", "a" * 30 + "clone1", "40 characters"),
    "partuuid-msdos": (BIOS.with_changes(devicepersistency="by-partuuid"), "error", None,
                       "msdos"),
    "esp-msdos": (EFI.with_changes(efiparttable="msdos"), "info", "efi", "83"),
    "start-sector": (EFI.with_changes(disk_start_sector=100), "error", None, "100"),
    "start-sector-unaligned": (EFI.with_changes(disk_start_sector=3000), "warning", None, "3000"),
    "unknown-firmware": (EFI.with_changes(firmware="coreboot"), "error", None, "coreboot"),
    "unknown-filesystem": (EFI.with_changes(filesystem="zfs"), "error", "root", "zfs"),
    "unknown-persistency": (EFI.with_changes(devicepersistency="by-id"), "error", None, "by-id"),
    "negative-clones": (EFI.with_changes(root_clone=-1), "error", None, "negative"),
    "bad-size": (EFI.with_changes(size_mb=-5), "error", None, "-5"),
    "partition-too-small": (EFI.with_changes(partitions=(Partition("home", 10, "/home"),),
                                             partition_data_mb=(("/home", 30),)),
                            "error", "home", "30 MiB"),
    "swap-clone": (EFI.with_changes(partitions=(Partition("data", 64, filesystem="swap", clone=1),)),
                   "warning", "data", "never clones swap"),
    "overlay-size-assumed": (EFI.with_changes(overlayroot=True), "info", "readonly", "1024"),
}


@pytest.mark.parametrize("code", sorted(CASES))
def test_diagnostic_fires(code: str) -> None:
    layout, severity, partition, text = CASES[code]
    found = [d for d in plan(layout).diagnostics if d.code == code]
    assert found, [d.code for d in plan(layout).diagnostics]
    d = found[0]
    assert d.severity == severity
    if partition is not None:
        assert d.partition == partition
    if text is not None:
        assert text in d.message, d.message


def test_errors_come_first() -> None:
    severities = [d.severity for d in plan(SEED.with_changes(efiparttable="msdos")).diagnostics]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)


def test_a_clean_layout_has_no_errors_or_warnings() -> None:
    p = plan(EFI.with_changes(root_clone=1, oem_systemsize=2000, oem_resize=False))
    assert not p.errors and not p.warnings


def test_first_recreated_only_for_the_active_or_typed_partition() -> None:
    boot_first = plan(BIOS.with_changes(bootpartition=True))
    assert "msdos-first-recreated" in [d.code for d in boot_first.diagnostics]
    clone_first = plan(BIOS.with_changes(bootpartition=True, boot_clone=1))
    assert "msdos-first-recreated" not in [d.code for d in clone_first.diagnostics]
