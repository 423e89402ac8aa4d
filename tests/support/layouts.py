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


FAMILIES = ("volumes", "msdos", "refusals")


def _disk_ending_near(draw: st.DrawFn, layout: Layout, fill: int) -> Layout:
    """`layout` on a disk cut at the end of one of its partitions, + `fill`
    MiB: 0 ends it on the last sector (which fdisk refuses a sized partition),
    -1 runs it past, 1 just fits; partitions after it find no room."""
    from engine.plan.planner import plan
    from engine.units import GRAIN

    if draw(st.booleans()):  # a root of a given size, not "all free"
        layout = layout.with_changes(oem_systemsize=draw(st.sampled_from([100, 300])),
                                     oem_resize=False)
    p = plan(layout.with_changes(size_mb=8192, root_mbytes=1024))
    ends = sorted(e.end for e in p.entries if e.role != "extended")
    if not ends:
        return layout
    end = draw(st.sampled_from(ends))
    return layout.with_changes(size_mb=max((end + 1) // GRAIN + fill, 1))


@st.composite
def kiwi_layouts(draw: st.DrawFn, family: str) -> Layout:
    """Layouts over what KIWI refuses or quietly builds wrong, by family:
    "volumes": LVM volumes (sizes, all, freespace, labels), mdraid over every
    root kind, overlayroot with and without write partition;
    "msdos": 1-60 partitions, part_ids on primaries and logicals;
    "refusals": firmware per architecture, duplicate names, KIWI's
    RuntimeChecker refusals, additive sizes with root data."""
    from engine.layout.model import SystemDisk, Volume

    if family == "volumes":
        base = draw(layouts(msdos_ok=False))
        changes: dict[str, object] = {"size_mb": draw(st.sampled_from([4096, 8192, 20480]))}
        root = draw(st.sampled_from(["lvm", "lvm-prefer", "raid", "raid-lvm", "overlay",
                                     "overlay-ro", "raid-overlay-ro"]))
        if "lvm" in root:
            vols = []
            for name in draw(st.lists(st.sampled_from(["home", "var", "srv", "@root"]),
                                      max_size=3, unique=True)):
                kind = draw(st.sampled_from(["size", "free", "all", "none"]))
                vols.append(Volume(
                    name, size_mb=draw(st.sampled_from([100, 500])) if kind == "size" else None,
                    all_free=kind == "all",
                    freespace_mb=draw(st.sampled_from([50, 200])) if kind == "free" else None,
                    mountpoint=None if name == "@root" else f"/{name}",
                    label=draw(st.sampled_from([None, None, "DATA", "ROOT", "SWAP"]))))
            changes["systemdisk"] = SystemDisk(preferlvm=True if root == "lvm-prefer" else None,
                                               volumes=tuple(vols))
        if "raid" in root:
            changes["mdraid"] = draw(st.sampled_from(["mirroring", "striping"]))
        if "overlay" in root:
            changes["overlayroot"] = True
            changes["overlayroot_readonly_partsize"] = draw(st.sampled_from([300, 900]))
            changes["overlayroot_write_partition"] = False if root.endswith("-ro") else draw(
                st.sampled_from([None, True]))
            changes["filesystem"] = "ext4"
        return base.with_changes(**changes)
    if family == "msdos":
        # mostly small tables (fdisk runs once a partition); the 60/61 edges
        # are fixed cases, drawn here now and then
        count = draw(st.sampled_from([1, 2, 3, 4, 5, 6, 8, 12, 1, 2, 3, 4, 5, 6, 30, 57]))
        parts = [Partition("slot", 10, clone=max(count - 1, 0))]
        for name in draw(st.lists(st.sampled_from(NAMES[:4]), max_size=3, unique=True)):
            parts.append(Partition(name, draw(st.integers(5, 50)),
                                   part_id=draw(st.sampled_from([None, None, 2, 3, 5, 6, 9]))))
        # root clones without <size>: KIWI sizes them from its own estimate,
        # which counts neither custom partitions nor EBRs
        root_clone = draw(st.sampled_from([0, 0, 0, 1, 2]))
        layout = Layout(
            firmware=draw(st.sampled_from(["bios", "bios", "efi"])),
            efiparttable="msdos", filesystem="ext4",
            size_mb=draw(st.sampled_from([8192, 8192, None])) if root_clone else 8192,
            root_clone=root_clone, boot_clone=draw(st.sampled_from([0, 0, 1])),
            bootpartition=draw(st.sampled_from([None, True])),
            oem_swap=draw(st.sampled_from([None, True])),
            dosparttable_extended_layout=draw(st.sampled_from([True, True, None])),
            rootpart_id=draw(st.sampled_from([None, None, None, 4, 7])),
            disk_start_sector=draw(st.sampled_from([None, None, 4096])),
            partitions=tuple(draw(st.permutations(parts))))
        fill = draw(st.sampled_from([None, None, None, None, -1, 0, 0, 1]))
        return layout if fill is None else _disk_ending_near(draw, layout, fill)
    arch = draw(st.sampled_from(["x86_64", "x86_64", "aarch64", "ppc64le"]))
    base = draw(layouts(msdos_ok=arch == "x86_64"))
    firmware = draw(st.sampled_from(["bios", "efi", "uefi", "ec2", "ofw", "opal", None]))
    changes = {"arch": arch, "firmware": firmware}
    extra = draw(st.sampled_from(["dup", "swapname", "label", "root-volume", "all-twice",
                                  "overlay-lvm", "additive", "raid-name", "none"]))
    if extra == "dup":
        name = draw(st.sampled_from(NAMES[:3]))
        changes["partitions"] = (*base.partitions, Partition(name, 20), Partition(name, 40))
    elif extra == "swapname":
        changes["oem_swapname"] = "myswap"
        changes["oem_swap"] = True
        if draw(st.booleans()):
            changes["systemdisk"] = SystemDisk()
    elif extra in ("label", "root-volume", "all-twice", "overlay-lvm"):
        vols = (Volume("home", 100, mountpoint="/home",
                       label="HOME" if extra == "label" else None),)
        if extra == "root-volume":
            vols += (Volume("root", 200, mountpoint="/"),)
        if extra == "all-twice":
            vols = (Volume("home", None, all_free=True, mountpoint="/home"),
                    Volume("srv", None, all_free=True, mountpoint="/srv"))
        changes["systemdisk"] = SystemDisk(volumes=vols)
        changes["filesystem"] = draw(st.sampled_from(["ext4", "btrfs"]))
        if extra == "overlay-lvm":
            changes["overlayroot"] = True
            changes["overlayroot_readonly_partsize"] = 500
            changes["filesystem"] = "ext4"
    elif extra == "additive":
        changes["size_mb"] = draw(st.sampled_from([100, 1000]))
        changes["size_additive"] = True
        changes["root_mbytes"] = draw(st.sampled_from([300, 1000, 2500]))
    elif extra == "raid-name":
        changes["partitions"] = (Partition(draw(st.sampled_from(["raid", "RAID", "Raid"])), 30),)
        changes["mdraid"] = draw(st.sampled_from([None, "mirroring"]))
    return base.with_changes(**changes)
