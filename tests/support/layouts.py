"""Hypothesis strategies for Layouts within layout.md's rules (shared by tests)."""

from __future__ import annotations

from hypothesis import strategies as st

from engine.layout.model import Layout, Partition

NAMES = ("home", "data", "var", "srv", "opt", "log", "images", "db", "cache", "work")


@st.composite
def partitions(draw: st.DrawFn, max_parts: int = 4) -> tuple[Partition, ...]:
    names = draw(st.lists(st.sampled_from(NAMES), max_size=max_parts, unique=True))
    out = []
    for name in names:
        out.append(Partition(
            name=name,
            size_mb=draw(st.integers(1, 600)),
            mountpoint=draw(st.sampled_from([None, f"/{name}"])),
            filesystem=draw(st.sampled_from([None, "ext4", "xfs", "ext3"])),
            clone=draw(st.integers(0, 3)),
        ))
    return tuple(out)


@st.composite
def layouts(draw: st.DrawFn, msdos_ok: bool = True) -> Layout:
    firmware = draw(st.sampled_from(["efi", "uefi", "bios"] if msdos_ok else ["efi", "uefi"]))
    arch = draw(st.sampled_from(["x86_64", "x86_64", "aarch64"]))
    if arch == "aarch64" and firmware == "bios":
        firmware = "efi"
    parts = draw(partitions())
    root_clone = draw(st.integers(0, 3))
    resize = draw(st.sampled_from([None, True, False]))
    systemsize = draw(st.sampled_from([None, 512, 1024, 2048, 3000]))
    spare = draw(st.sampled_from([None, None, 100, 500]))
    return Layout(
        arch=arch,
        firmware=firmware,
        filesystem=draw(st.sampled_from(["ext4", "xfs", "btrfs"])),
        efiparttable=draw(st.sampled_from([None, None, "msdos"])) if msdos_ok else None,
        eficsm=draw(st.sampled_from([None, True, False])),
        bootpartition=draw(st.sampled_from([None, True, False])),
        bootpartsize=draw(st.sampled_from([None, 200, 500])),
        efipartsize=draw(st.sampled_from([None, 64])),
        root_clone=root_clone,
        boot_clone=draw(st.integers(0, 2)),
        partitions=parts,
        oem_systemsize=systemsize,
        oem_resize=resize,
        oem_swap=draw(st.sampled_from([None, True])),
        oem_swapsize=draw(st.sampled_from([None, 256])),
        size_mb=draw(st.sampled_from([None, 4096, 10240, 20480, 102400])),
        spare_part_mb=spare,
        spare_part_is_last=draw(st.sampled_from([None, True])) if spare else None,
        dosparttable_extended_layout=draw(st.sampled_from([None, True])),
        root_mbytes=draw(st.sampled_from([None, 300, 2000])),
    )


@st.composite
def wide_layouts(draw: st.DrawFn) -> Layout:
    """Layouts over more of KIWI's attributes: LVM and RAID roots, start
    sectors, explicit part_ids, small disks that do not fit."""
    from engine.layout.model import SystemDisk, Volume

    base = draw(layouts())
    role = draw(st.sampled_from(["plain", "plain", "lvm", "raid"]))
    changes: dict[str, object] = {}
    if role == "lvm":
        vols = draw(st.lists(st.sampled_from(["home", "var", "srv"]), max_size=2, unique=True))
        changes["systemdisk"] = SystemDisk(volumes=tuple(
            Volume(v, draw(st.sampled_from([None, 100, 500])), mountpoint=f"/{v}") for v in vols))
    elif role == "raid":
        changes["mdraid"] = draw(st.sampled_from(["mirroring", "striping"]))
    if draw(st.booleans()):
        changes["disk_start_sector"] = draw(st.sampled_from([None, None, 2048, 4096, 1048576]))
    if draw(st.booleans()) and base.partitions:
        changes["size_mb"] = draw(st.sampled_from([512, 1500, 3000]))
    extra = draw(st.sampled_from(["none", "dps", "force_mbr", "hybrid", "part_id", "rootpart_id",
                                  "overlay"]))
    if extra == "dps":
        changes["apply_dps_codes"] = True
    elif extra == "force_mbr":
        changes["force_mbr"] = True
    elif extra == "hybrid":
        changes["gpt_hybrid_mbr"] = True
    elif extra == "part_id" and base.partitions:
        first = base.partitions[0]
        changes["partitions"] = (first.__class__(**{**first.__dict__, "part_id": 20}),
                                 *base.partitions[1:])
    elif extra == "rootpart_id":
        changes["rootpart_id"] = draw(st.sampled_from([1, 9, 30]))
    elif extra == "overlay" and role == "plain":
        changes["overlayroot"] = True
        changes["overlayroot_readonly_partsize"] = draw(st.sampled_from([300, 900]))
        changes["overlayroot_write_partition"] = draw(st.sampled_from([None, False]))
    return base.with_changes(**changes)
