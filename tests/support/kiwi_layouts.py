"""Hypothesis strategies over every layout attribute a KIWI description can
hold, within the reader's rules (shared by the export and edit property tests)."""

from __future__ import annotations

from hypothesis import strategies as st

from engine.kiwi.schema import KIWI_PARTITION_FILESYSTEMS, LUKS_VERSIONS, PARTITION_TYPES
from engine.layout import names
from engine.layout.model import (
    BOOT_FILESYSTEMS,
    FIRMWARES,
    MDRAID_LEVELS,
    PERSISTENCY,
    ROOT_FILESYSTEMS,
    SPARE_FILESYSTEMS,
    Layout,
    Partition,
    SystemDisk,
    Volume,
)

TEXT = st.text(alphabet=st.sampled_from("abcXYZ019 _-./:<>&\"'é"), min_size=1, max_size=12)
NAME = st.text(alphabet=st.sampled_from("abcdfghjklmnqtuvwxyzABCQ019_"), min_size=1, max_size=10).filter(
    lambda n: not names.name_problems(n)
)
GPT_NAME = st.text(alphabet=st.sampled_from("abcXYZ019_.-"), min_size=1, max_size=32)
MB = st.integers(min_value=0, max_value=4 * 1024 * 1024)


def opt(strategy: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.none() | strategy


@st.composite
def partitions(draw: st.DrawFn) -> tuple[Partition, ...]:
    chosen = draw(st.lists(NAME, max_size=4, unique=True))
    return tuple(
        Partition(
            name=name,
            size_mb=draw(st.integers(min_value=1, max_value=200_000)),
            mountpoint=draw(opt(st.just(f"/{name}"))),  # type: ignore[arg-type]
            filesystem=draw(opt(st.sampled_from(KIWI_PARTITION_FILESYSTEMS))),  # type: ignore[arg-type]
            clone=draw(st.integers(min_value=0, max_value=3)),
            partition_name=draw(opt(GPT_NAME)),  # type: ignore[arg-type]
            partition_type=draw(opt(st.sampled_from(PARTITION_TYPES))),  # type: ignore[arg-type]
            label=draw(opt(TEXT)),  # type: ignore[arg-type]
            part_id=draw(opt(st.integers(min_value=1, max_value=128))),  # type: ignore[arg-type]
        )
        for name in chosen
    )


@st.composite
def systemdisks(draw: st.DrawFn) -> SystemDisk:
    vols = []
    for name in draw(st.lists(st.sampled_from(["@root", "home", "var/log", "srv", "opt"]), max_size=3, unique=True)):
        all_free = draw(st.booleans())
        vols.append(Volume(
            name=name,
            size_mb=None if all_free else draw(opt(MB)),  # type: ignore[arg-type]
            all_free=all_free,
            freespace_mb=draw(opt(MB)),  # type: ignore[arg-type]
            mountpoint=draw(opt(st.just("/" + name.strip("@")))),  # type: ignore[arg-type]
            label=draw(opt(TEXT)),  # type: ignore[arg-type]
        ))
    return SystemDisk(draw(opt(st.sampled_from(["systemVG", "vg0"]))), draw(opt(st.booleans())), tuple(vols))  # type: ignore[arg-type]


@st.composite
def layouts(draw: st.DrawFn) -> Layout:
    size = draw(opt(MB))
    boolean = opt(st.booleans())
    return Layout(
        firmware=draw(opt(st.sampled_from(FIRMWARES))),  # type: ignore[arg-type]
        filesystem=draw(st.sampled_from(ROOT_FILESYSTEMS)),
        efiparttable=draw(opt(st.sampled_from(("msdos", "gpt")))),  # type: ignore[arg-type]
        eficsm=draw(boolean),  # type: ignore[arg-type]
        bootpartition=draw(boolean),  # type: ignore[arg-type]
        bootfilesystem=draw(opt(st.sampled_from(BOOT_FILESYSTEMS))),  # type: ignore[arg-type]
        bootpartsize=draw(opt(st.integers(0, 4096))),  # type: ignore[arg-type]
        efipartsize=draw(opt(st.integers(0, 4096))),  # type: ignore[arg-type]
        root_clone=draw(st.integers(0, 4)),
        boot_clone=draw(st.integers(0, 3)),
        partitions=draw(partitions()),
        oem_systemsize=draw(opt(MB)),  # type: ignore[arg-type]
        oem_resize=draw(boolean),  # type: ignore[arg-type]
        oem_swap=draw(boolean),  # type: ignore[arg-type]
        oem_swapsize=draw(opt(st.integers(0, 65536))),  # type: ignore[arg-type]
        oem_swapname=draw(opt(TEXT)),  # type: ignore[arg-type]
        size_mb=size,  # type: ignore[arg-type]
        size_additive=draw(boolean) if size is not None else None,  # type: ignore[arg-type]
        unpartitioned_mb=draw(opt(st.integers(0, size))) if size is not None else None,  # type: ignore[arg-type]
        spare_part_mb=draw(opt(MB)),  # type: ignore[arg-type]
        spare_part_is_last=draw(boolean),  # type: ignore[arg-type]
        spare_part_mountpoint=draw(opt(st.just("/spare"))),  # type: ignore[arg-type]
        spare_part_fs=draw(opt(st.sampled_from(SPARE_FILESYSTEMS))),  # type: ignore[arg-type]
        disk_start_sector=draw(opt(st.integers(2048, 1 << 20))),  # type: ignore[arg-type]
        dosparttable_extended_layout=draw(boolean),  # type: ignore[arg-type]
        force_mbr=draw(boolean),  # type: ignore[arg-type]
        gpt_hybrid_mbr=draw(boolean),  # type: ignore[arg-type]
        apply_dps_codes=draw(boolean),  # type: ignore[arg-type]
        eficsmpart_id=draw(opt(st.integers(1, 128))),  # type: ignore[arg-type]
        efipart_id=draw(opt(st.integers(1, 128))),  # type: ignore[arg-type]
        bootpart_id=draw(opt(st.integers(1, 128))),  # type: ignore[arg-type]
        rootpart_id=draw(opt(st.integers(1, 128))),  # type: ignore[arg-type]
        mdraid=draw(opt(st.sampled_from(MDRAID_LEVELS))),  # type: ignore[arg-type]
        systemdisk=draw(opt(systemdisks())),  # type: ignore[arg-type]
        overlayroot=draw(boolean),  # type: ignore[arg-type]
        overlayroot_write_partition=draw(boolean),  # type: ignore[arg-type]
        overlayroot_readonly_partsize=draw(opt(st.integers(0, 8192))),  # type: ignore[arg-type]
        devicepersistency=draw(opt(st.sampled_from(PERSISTENCY))),  # type: ignore[arg-type]
        rootfs_label=draw(opt(TEXT)),  # type: ignore[arg-type]
        luks=draw(opt(TEXT)),  # type: ignore[arg-type]
        luks_version=draw(opt(st.sampled_from(LUKS_VERSIONS))),  # type: ignore[arg-type]
    )
