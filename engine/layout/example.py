"""The built-in example: the layout of KIWI's "Partition Clones" page.

root_clone=1, boot_clone=1, firmware uefi, xfs root, ext4 boot, a 10 MiB
/home (ext3) with two clones, oem-systemsize 2048 with resize off, 100 GiB.
"""

from __future__ import annotations

from engine.layout.model import Layout, Partition

EXAMPLE_TYPE_XML = """\
<type image="oem" root_clone="1" boot_clone="1" firmware="uefi" filesystem="xfs" bootpartition="true" bootfilesystem="ext4">
    <partitions>
        <partition name="home" size="10" mountpoint="/home" filesystem="ext3" clone="2"/>
    </partitions>
    <oemconfig>
        <oem-systemsize>2048</oem-systemsize>
        <oem-resize>false</oem-resize>
    </oemconfig>
    <size unit="G">100</size>
</type>
"""

EXAMPLE_LAYOUT = Layout(
    image="oem",
    firmware="uefi",
    filesystem="xfs",
    bootpartition=True,
    bootfilesystem="ext4",
    root_clone=1,
    boot_clone=1,
    partitions=(
        Partition(name="home", size_mb=10, mountpoint="/home", filesystem="ext3", clone=2),
    ),
    oem_systemsize=2048,
    oem_resize=False,
    size_mb=100 * 1024,
)
