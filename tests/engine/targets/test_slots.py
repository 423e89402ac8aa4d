"""The slot model and the device naming, on the seed and on small layouts."""

from __future__ import annotations

from dataclasses import replace

import pytest

from engine.errors import PartwrightError
from engine.targets import Naming
from engine.targets.slots import check_disk, partition_path, slot_classes, udev_escape
from tests.support.targets import seed_plan


def test_seed_slots_origin_is_a_clone_n_is_n_and_boot_is_the_roots_child() -> None:
    classes = {c.name: c for c in slot_classes(seed_plan(), Naming("partlabel"))}
    assert sorted(classes) == ["boot", "home", "rootfs"]
    root = classes["rootfs"]
    assert [(s.index, s.entry.name, s.bootname, s.parent) for s in root.slots] == [
        (0, "p.lxroot", "A", None), (1, "p.lxrootclone1", "B", None)]
    assert [(s.name, s.parent, s.bootname) for s in classes["boot"].slots] == [
        ("boot.0", "rootfs.0", None), ("boot.1", "rootfs.1", None)]
    assert [(s.name, s.entry.number) for s in classes["home"].slots] == [
        ("home.0", 7), ("home.1", 5), ("home.2", 6)]
    assert root.slots[1].device == "/dev/disk/by-partlabel/p.lxrootclone1"


def test_slot_numbers_are_the_plans_clone_index_not_a_name_suffix() -> None:
    p = seed_plan()
    swap = {"homeclone1": "homeclone2", "homeclone2": "homeclone1"}
    renamed = replace(p, entries=tuple(replace(e, key=swap.get(e.key, e.key)) for e in p.entries))
    home = {c.name: c for c in slot_classes(renamed, Naming("partlabel"))}["home"]
    assert [(s.name, s.entry.key, s.entry.clone_index) for s in home.slots] == [
        ("home.0", "home", 0), ("home.1", "homeclone2", 1), ("home.2", "homeclone1", 2)]


@pytest.mark.parametrize(("disk", "number", "path"), [
    ("/dev/sda", 9, "/dev/sda9"),
    ("/dev/mmcblk0", 8, "/dev/mmcblk0p8"),
    ("/dev/nvme0n1", 12, "/dev/nvme0n1p12"),
    ("/dev/loop3", 1, "/dev/loop3p1"),
    ("/dev/disk/by-id/ata-X_123", 2, "/dev/disk/by-id/ata-X_123-part2"),
])
def test_partition_paths_follow_the_kernel(disk: str, number: int, path: str) -> None:
    assert partition_path(check_disk(disk), number) == path


@pytest.mark.parametrize("disk", ["sda", "/dev/", "/tmp/disk.img", "/dev/sd a", "", "/dev/../etc"])
def test_a_disk_that_is_no_device_path_is_one_line_error(disk: str) -> None:
    with pytest.raises(PartwrightError, match="is not a device path"):
        check_disk(disk)


def test_partlabels_are_escaped_as_udev_does() -> None:
    assert udev_escape("p.lxroot") == "p.lxroot"
    assert udev_escape("my root/x") == "my\\x20root\\x2fx"
