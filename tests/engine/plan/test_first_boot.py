"""The first-boot prediction equals what KIWI's kiwi-repart does.

How we know: tests/support/kiwi_repart.py replays kiwi-repart-disk.sh step
by step (its measurements, its arithmetic, its sfdisk and sgdisk commands,
run for real) on a device file that holds the image's table, written by the
build's own table writer; the table sfdisk reads back afterwards must equal
`first_boot`'s, case by case. The seed example is a 100 GiB image: it does
not fit 8 or 32 GiB devices (shown on the GPT header's bytes, the field the
kernel checks), and with oem-resize on KIWI builds no image from it at all.
"""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import pytest

from engine.image import gpt
from engine.image.identity import make_identity
from engine.image.table import write_table
from engine.layout.example import EXAMPLE_LAYOUT as SEED
from engine.layout.model import Layout, Partition, SystemDisk
from engine.plan.first_boot import first_boot
from engine.plan.model import Plan
from engine.plan.planner import plan
from tests.support.kiwi_repart import replay

G = 1 << 30
M = 1 << 20
needs_tools = pytest.mark.skipif(
    any(shutil.which(t, path="/usr/sbin:/sbin:/usr/bin") is None for t in ("sfdisk", "sgdisk")),
    reason="sfdisk or sgdisk missing (run make)")

EFI = Layout(firmware="uefi", filesystem="ext4", size_mb=2048)
BIOS = Layout(firmware="bios", filesystem="ext4", size_mb=2048)
SEED_5G = SEED.with_changes(size_mb=5 * 1024)  # the seed's partitions end at 4.6 GiB

# name: (layout, device bytes, outcome of the replay, codes first_boot must give)
CASES: dict[str, tuple[Layout, int, str, set[str]]] = {
    "seed 5G resize off, 8G": (SEED_5G, 8 * G, "no-module", {"first-boot-no-repart"}),
    "seed 5G resize off, 32G": (SEED_5G, 32 * G, "no-module", {"first-boot-no-repart"}),
    # no clones, root takes the rest: grows to the device's end
    "efi all free, 8G": (EFI, 8 * G, "repart", {"first-boot-resized"}),
    "efi all free, same size": (EFI, 2 * G, "no-unallocated", {"first-boot-no-repart"}),
    # oem-systemsize is ignored at build time with resize on, used at boot
    "systemsize above root": (EFI.with_changes(oem_systemsize=3000), 8 * G, "repart",
                              {"first-boot-resized"}),
    "systemsize below root": (EFI.with_changes(oem_systemsize=1000), 8 * G, "systemsize-smaller",
                              {"first-boot-no-repart"}),
    "systemsize, too little room": (EFI.with_changes(oem_systemsize=3000), 2 * G + 500 * M,
                                    "no-room", {"first-boot-no-repart"}),
    "a few MiB more": (EFI, 2 * G + 4 * M, "no-room", {"first-boot-no-repart"}),
    "ten MiB more": (EFI, 2 * G + 8 * M, "repart", {"first-boot-resized"}),
    # the seed without its custom partition: root and clone equal, then root grows
    "seed root clones, 32G": (SEED_5G.with_changes(partitions=(), oem_resize=None,
                                                   oem_systemsize=None), 32 * G, "repart",
                              {"first-boot-resized", "first-boot-clone-unequal"}),
    "seed root clones, systemsize": (SEED_5G.with_changes(partitions=(), oem_resize=None),
                                     8 * G, "systemsize-smaller", {"first-boot-no-repart"}),
    "unpartitioned, same size": (EFI.with_changes(unpartitioned_mb=100), 2 * G, "repart",
                                 {"first-boot-resized"}),
    "spare last grows": (EFI.with_changes(spare_part_mb=200, spare_part_is_last=True), 8 * G,
                         "repart", {"first-boot-not-root"}),
    "dps root loses its type": (EFI.with_changes(apply_dps_codes=True), 4 * G, "repart",
                                {"first-boot-type-reset"}),
    "clone numbered last": (EFI.with_changes(root_clone=1, rootpart_id=3), 4 * G, "repart",
                            {"first-boot-clone-unequal"}),
    "custom part_id last: moves": (EFI.with_changes(partitions=(Partition("home", 50,
                                                                          part_id=20),),
                                                    rootpart_id=3, oem_systemsize=1000,
                                                    oem_resize=None),
                                   8 * G, "repart", {"first-boot-moves", "first-boot-not-root"}),
    "start sector gap": (EFI.with_changes(disk_start_sector=4096), 2 * G, "no-room",
                         {"first-boot-no-repart"}),
    "lvm": (EFI.with_changes(systemdisk=SystemDisk()), 8 * G, "repart", {"first-boot-resized"}),
    "raid": (EFI.with_changes(mdraid="mirroring"), 8 * G, "repart", {"first-boot-resized"}),
    "msdos all free": (BIOS, 8 * G, "repart", {"first-boot-resized"}),
    "msdos systemsize": (BIOS.with_changes(oem_systemsize=4000), 8 * G, "repart",
                         {"first-boot-resized"}),
    "msdos logical root": (BIOS.with_changes(dosparttable_extended_layout=True, oem_swap=True,
                                             bootpartition=True,
                                             partitions=(Partition("home", 20),)),
                           8 * G, "repart", {"first-boot-no-growth"}),
    "msdos over 2 TiB": (BIOS, 3 * 1024 * G, "repart", {"first-boot-resized"}),
}


def _device(tmp: Path, p: Plan, device_bytes: int) -> str:
    """The image's table as a device of `device_bytes` shows it after a
    `dd` of the image (the table writer is the build's own)."""
    path = tmp / "device.img"
    with open(path, "wb") as fh:
        fh.truncate(p.disk_bytes)
    write_table(str(path), p, make_identity("first-boot"))
    os.truncate(path, device_bytes)
    return str(path)


def _rows(table: list[dict[str, object]], label: str) -> list[tuple[object, ...]]:
    return [(p["number"], int(str(p["start"])), int(str(p["start"])) + int(str(p["size"])) - 1,
             gpt.code_of(str(p["type"])) if label == "gpt" else str(p["type"]),
             p.get("name")) for p in table]


@needs_tools
@pytest.mark.parametrize("case", sorted(CASES))
def test_first_boot_equals_kiwi_repart(case: str, tmp_path: Path) -> None:
    layout, device_bytes, outcome, codes = CASES[case]
    p = plan(layout)
    assert p.ok, [d.message for d in p.errors]
    predicted = first_boot(p, device_bytes)
    device = _device(tmp_path, p, device_bytes)
    ran = replay(device, dict(p.partids), layout.oem_systemsize,
                 lvm=layout.volume_manager == "lvm", resize=layout.oem_resize is not False)
    assert ran.outcome == outcome, (ran.outcome, ran.ran)
    label = "gpt" if p.table == "gpt" else "dos"
    names = p.table == "gpt"
    assert _rows(ran.table, label) == [
        (e.number, e.start, e.end, e.code, e.name if names else None) for e in predicted.entries]
    assert (predicted.resized is not None) == (outcome == "repart")
    found = {d.code for d in predicted.diagnostics}
    assert codes <= found, found


@pytest.mark.parametrize("device", [8 * G, 32 * G])
@pytest.mark.parametrize("resize", [False, True])
def test_the_seed_example_on_8g_and_32g(device: int, resize: bool, tmp_path: Path) -> None:
    """The seed is a 100 GiB image. resize off: it does not fit, and the
    GPT header the device holds says why (the kernel's check: the last
    usable LBA must lie on the device). resize on: KIWI's own sgdisk call
    fails at build time (root clones sized without the home partitions)."""
    layout = SEED.with_changes(oem_resize=resize)
    p = plan(layout)
    fb = first_boot(p, device)
    assert fb.entries == () and fb.resized is None
    codes = [d.code for d in fb.diagnostics]
    if resize:
        assert codes == ["first-boot-no-image"]
        assert "root-clone-overrun" in [d.code for d in p.errors]
        return
    assert codes == ["device-too-small"]
    path = _device(tmp_path, p, device)
    with open(path, "rb") as fh:
        fh.seek(512)
        header = fh.read(92)
    assert header[:8] == b"EFI PART"
    last_usable = struct.unpack_from("<Q", header, 48)[0]
    assert last_usable == p.disk_sectors - 34 > device // 512 - 1
    assert str(last_usable) in fb.diagnostics[0].message


def test_resize_off_keeps_the_table_and_names_the_unused_space() -> None:
    p = plan(SEED_5G)
    fb = first_boot(p, 32 * G)
    assert fb.entries == p.entries
    assert "27.0 GiB past the image" in fb.diagnostics[0].message


def test_msdos_image_larger_than_the_device() -> None:
    small = first_boot(plan(BIOS.with_changes(oem_systemsize=500, oem_resize=False,
                                              bootpartition=True)), G)
    assert [d.code for d in small.diagnostics][:1] == ["device-smaller-than-image"]
    cut = first_boot(plan(BIOS.with_changes(oem_systemsize=1500, oem_resize=False,
                                            bootpartition=True)), G)
    assert [d.code for d in cut.diagnostics] == ["device-too-small"]
    assert "2 (root)" in cut.diagnostics[0].message
