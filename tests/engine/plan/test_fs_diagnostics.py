"""Filesystem and mountpoint diagnostics: each case the preview used to
accept and the build (or KIWI) then refused, or built wrong."""

from __future__ import annotations

import pytest

from engine.kiwi.read import loads
from engine.layout.model import Layout, Partition, SystemDisk, Volume
from engine.plan.fs_diagnostics import CODES, entry_kind
from engine.plan.fs_limits import MIB
from engine.plan.model import Plan
from engine.plan.planner import plan

BASE = Layout(firmware="efi", filesystem="ext4", size_mb=4096)


def codes(p: Plan, severity: str = "error") -> list[str]:
    return [d.code for d in p.diagnostics if d.severity == severity]


def part(name: str, mb: int, fs: str | None, mp: str | None = None, **kw: object) -> Partition:
    return Partition(name=name, size_mb=mb, mountpoint=mp or f"/{name}", filesystem=fs, **kw)  # type: ignore[arg-type]


CASES: list[tuple[str, Layout, str, str]] = [
    ("xfs under 300 MiB", BASE.with_changes(partitions=(part("data", 299, "xfs"),)),
     "fs-too-small", "300 MiB"),
    ("btrfs under 114294784 bytes", BASE.with_changes(partitions=(part("data", 108, "btrfs"),)),
     "fs-too-small", "114294784"),
    ("fat16 of 1 MiB", BASE.with_changes(partitions=(part("fw", 1, "fat16"),)),
     "fs-too-small", "fat16"),
    ("fat32 read as FAT16", BASE.with_changes(partitions=(part("fw", 32, "fat32"),)),
     "fat-type", "read it as FAT16"),
    ("ext3 of 1 MiB is ext2", BASE.with_changes(partitions=(part("log", 1, "ext3"),)),
     "fs-no-journal", "makes ext2"),
    ("xfs root under 300 MiB", Layout(firmware="efi", filesystem="xfs", size_mb=256),
     "fs-too-small", "partition 3 (p.lxroot), xfs"),
    ("xfs label of 13 bytes", BASE.with_changes(
        partitions=(part("data", 400, "xfs", label="THIRTEENBYTES"),)), "fs-label", "12"),
    ("swap label of 16 bytes", BASE.with_changes(
        partitions=(part("sw", 16, "swap", label="SIXTEENBYTESLONG"),)), "fs-label", "15"),
    ("vfat label with a dot", BASE.with_changes(partitions=(part("fw", 64, "fat32", label="FW.1"),)),
     "fs-label", "'.'"),
    ("two partitions on /srv", BASE.with_changes(
        partitions=(part("srv", 32, "ext4"), part("data", 32, "ext4", "/srv"))),
     "mountpoint-duplicate", "/srv"),
    ("a custom partition on /", BASE.with_changes(partitions=(part("sys", 32, "ext4", "/"),)),
     "mountpoint-kiwi", "root partition"),
    ("a custom partition on /boot beside the boot partition", BASE.with_changes(
        bootpartition=True, partitions=(part("kernel", 32, "ext4", "/boot"),)),
     "mountpoint-kiwi", "boot partition"),
    ("a custom partition on /boot/efi beside the ESP", BASE.with_changes(
        partitions=(part("esp2", 32, "fat16", "/boot/efi/"),)), "mountpoint-kiwi", "efi"),
    ("a relative mountpoint", BASE.with_changes(partitions=(part("data", 32, "ext4", "data"),)),
     "mountpoint-relative", "'data'"),
    ("a mountpoint with a blank", BASE.with_changes(
        partitions=(part("data", 32, "ext4", "/my data"),)), "mountpoint-invalid", "blank"),
    ("a squashfs partition without a mountpoint", BASE.with_changes(
        partitions=(Partition("ro", 32, None, "squashfs"),)), "squashfs-mountpoint", "mountpoint"),
    ("a squashfs root without overlay", Layout(firmware="efi", filesystem="squashfs",
                                               size_mb=2048), "squashfs-root", "overlayroot"),
    ("ext2 of 17 TiB", BASE.with_changes(size_mb=18 * 1024 * 1024, partitions=(
        part("big", 17 * 1024 * 1024, "ext2"),)), "fs-too-large", "32 bits"),
    ("fat16 of 5 GiB", BASE.with_changes(size_mb=8192, partitions=(part("fw", 5120, "fat16"),)),
     "fs-too-large", "outside what mkfs.vfat 4.2 makes as FAT16"),
    ("an xfs LVM volume of 100 MiB", Layout(firmware="efi", filesystem="xfs", size_mb=4096,
                                            systemdisk=SystemDisk(volumes=(Volume("home", 100),))),
     "fs-too-small", "LVM volume home"),
]


@pytest.mark.parametrize("name,layout,code,words", CASES, ids=[c[0] for c in CASES])
def test_each_case_is_an_error_naming_the_partition_and_the_fix(
        name: str, layout: Layout, code: str, words: str) -> None:
    p = plan(layout)
    found = [d for d in p.diagnostics if d.code == code]
    assert found, (name, [d.code for d in p.diagnostics])
    d = found[0]
    assert words in d.message, d.message
    assert d.partition and d.fix
    assert code in CODES
    if code == "fs-no-journal":
        assert d.severity == "error"  # ext3 (ext4 without a journal is a warning)
    elif code != "mountpoint-nested-clone":
        assert d.severity == "error"


def test_ext4_without_a_journal_is_a_warning() -> None:
    p = plan(BASE.with_changes(partitions=(part("tiny", 1, "ext4"),)))
    assert "fs-no-journal" in codes(p, "warning") and "fs-no-journal" not in codes(p)


def test_a_type_without_filesystem_is_an_error_in_preview_as_in_export() -> None:
    layout = loads('<type image="oem" firmware="efi"/>').layout
    assert layout.filesystem is None
    p = plan(layout)
    assert "no-filesystem" in codes(p)
    d = next(d for d in p.errors if d.code == "no-filesystem")
    assert d.partition == "root" and "filesystem=" in (d.fix or "")


def test_limits_are_exact_at_the_edge() -> None:
    ok = BASE.with_changes(partitions=(part("data", 300, "xfs"), part("bt", 109, "btrfs"),
                                       part("fw", 9, "fat16"), part("f32", 33, "fat32"),
                                       part("log", 2, "ext3")))
    assert not plan(ok).errors, plan(ok).errors
    assert entry_kind("custom", "vfat", 511 * MIB) == "fat16"
    assert entry_kind("custom", "vfat", 512 * MIB) == "fat32"


def test_squashfs_clones_are_plain_copies() -> None:
    p = plan(BASE.with_changes(partitions=(part("sq", 64, "squashfs", clone=2),)))
    assert not p.errors
    note = next(d for d in p.diagnostics if d.code == "squashfs-clones")
    assert note.severity == "info" and "nothing to re-identify" in note.message


def test_nested_below_a_cloned_partition_is_noted() -> None:
    p = plan(BASE.with_changes(partitions=(part("home", 64, "ext4", clone=1),
                                           part("cache", 32, "ext4", "/home/cache"))))
    assert "mountpoint-nested-clone" in codes(p, "info")
    # the seed layout's ESP below its cloned /boot is KIWI's own design: no note
    from engine.layout.example import EXAMPLE_LAYOUT
    assert "mountpoint-nested-clone" not in [d.code for d in plan(EXAMPLE_LAYOUT).diagnostics]


def test_clones_are_not_checked_twice() -> None:
    p = plan(BASE.with_changes(partitions=(part("data", 200, "xfs", clone=3),)))
    assert [d.code for d in p.errors] == ["fs-too-small"]


def test_every_code_is_triggered_here() -> None:
    seen = {code for _, _, code, _ in CASES} | {"squashfs-clones", "mountpoint-nested-clone",
                                               "no-filesystem"}
    assert seen == CODES
