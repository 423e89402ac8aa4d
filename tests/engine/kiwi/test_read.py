"""engine.kiwi.read: reading KIWI descriptions into a Layout, and refusing bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import DescriptionError
from engine.kiwi.read import list_types, load, loads
from engine.layout.example import EXAMPLE_LAYOUT, EXAMPLE_TYPE_XML
from engine.layout.model import Partition, SystemDisk, Volume
from tests.support import paths

DATA = paths.DATA / "descriptions"

IMAGE_HEAD = """<?xml version="1.0" encoding="utf-8"?>
<image schemaversion="8.5" name="t">
    <description type="system">
        <author>a</author>
        <contact>c</contact>
        <specification>s</specification>
    </description>
"""


def image(body: str) -> str:
    return IMAGE_HEAD + body + "</image>\n"


def test_example_type_reads_as_the_example_layout() -> None:
    desc = loads(EXAMPLE_TYPE_XML)
    assert desc.bare
    assert desc.layout == EXAMPLE_LAYOUT


def test_full_image_first_oem_type() -> None:
    desc = loads(image("""
    <preferences>
        <version>1</version>
        <type image="iso" primary="true"/>
        <type image="oem" filesystem="ext4" root_clone="2"/>
        <type image="oem" filesystem="xfs"/>
    </preferences>
"""))
    assert not desc.bare
    assert desc.layout.root_clone == 2
    assert desc.type_index == 1
    assert desc.schemaversion == "8.5"
    infos = list_types(desc)
    assert [(t.image, t.primary, t.chosen) for t in infos] == [
        ("iso", True, False), ("oem", False, True), ("oem", False, False),
    ]


def test_primary_oem_type_wins() -> None:
    desc = loads(image("""
    <preferences>
        <type image="oem" filesystem="ext4"/>
        <type image="oem" filesystem="xfs" primary="true"/>
    </preferences>
"""))
    assert desc.layout.filesystem == "xfs"


PROFILED = image("""
    <profiles>
        <profile name="small" description="s"/>
        <profile name="big" description="b"/>
    </profiles>
    <preferences>
        <version>1</version>
    </preferences>
    <preferences profiles="small">
        <type image="oem" filesystem="ext4" root_clone="1"/>
    </preferences>
    <preferences profiles="big,huge">
        <type image="oem" filesystem="xfs" root_clone="3"/>
    </preferences>
""")


def test_profiles() -> None:
    assert loads(PROFILED, profile="big").layout.root_clone == 3
    assert loads(PROFILED, profile="big").profiles == ("big", "huge")
    assert loads(PROFILED, profile="small").layout.root_clone == 1
    # without a profile: no wildcard oem type, so the first oem type
    assert loads(PROFILED).layout.root_clone == 1
    assert loads(PROFILED, type_index=1).layout.root_clone == 3
    with pytest.raises(DescriptionError, match="no profile 'nope'"):
        loads(PROFILED, profile="nope")
    infos = list_types(loads(PROFILED, profile="big"))
    assert [(t.profiles, t.chosen) for t in infos] == [(("small",), False), (("big", "huge"), True)]


def test_everything_modelled() -> None:
    desc = loads("""<type image="oem" filesystem="ext4" firmware="efi" efiparttable="msdos"
        eficsm="false" bootpartition="true" bootfilesystem="ext2" bootpartsize="512"
        efipartsize="64" root_clone="0" boot_clone="2" spare_part="2G" spare_part_is_last="true"
        spare_part_mountpoint="/spare" spare_part_fs="xfs" disk_start_sector="4096"
        dosparttable_extended_layout="1" force_mbr="false" gpt_hybrid_mbr="0"
        eficsmpart_id="14" efipart_id="15" bootpart_id="3" rootpart_id="1" mdraid="mirroring"
        overlayroot="false" overlayroot_write_partition="true" overlayroot_readonly_partsize="300"
        devicepersistency="by-label" rootfs_label="SYS" luks="s3cret" luks_version="luks2">
    <partitions>
        <partition name="data" size="1G" partition_name="p.data" partition_type="t.raid"
            mountpoint="/data" filesystem="xfs" label="DATA" clone="1" part_id="20"/>
        <partition name="var" size="300M"/>
    </partitions>
    <oemconfig>
        <oem-systemsize>4096</oem-systemsize>
        <oem-resize>false</oem-resize>
        <oem-swap>true</oem-swap>
        <oem-swapsize>512</oem-swapsize>
        <oem-swapname>swp</oem-swapname>
        <oem-boot-title>ignored</oem-boot-title>
    </oemconfig>
    <size unit="G" additive="false" unpartitioned="2">20</size>
    <systemdisk name="vg0" preferlvm="true">
        <volume name="home" size="2G" mountpoint="/home" label="HOME"/>
        <volume name="var" freespace="100M"/>
        <volume name="@root" size="all"/>
    </systemdisk>
</type>""")
    lay = desc.layout
    assert (lay.firmware, lay.efiparttable, lay.eficsm, lay.bootpartition) == ("efi", "msdos", False, True)
    assert (lay.bootfilesystem, lay.bootpartsize, lay.efipartsize) == ("ext2", 512, 64)
    assert (lay.root_clone, lay.boot_clone) == (0, 2)
    assert (lay.spare_part_mb, lay.spare_part_is_last, lay.spare_part_mountpoint, lay.spare_part_fs) == (
        2048, True, "/spare", "xfs")
    assert (lay.disk_start_sector, lay.dosparttable_extended_layout, lay.force_mbr, lay.gpt_hybrid_mbr) == (
        4096, True, False, False)
    assert (lay.eficsmpart_id, lay.efipart_id, lay.bootpart_id, lay.rootpart_id) == (14, 15, 3, 1)
    assert lay.mdraid == "mirroring"
    assert (lay.overlayroot, lay.overlayroot_write_partition, lay.overlayroot_readonly_partsize) == (
        False, True, 300)
    assert (lay.devicepersistency, lay.rootfs_label, lay.luks, lay.luks_version) == (
        "by-label", "SYS", "s3cret", "luks2")
    assert lay.partitions == (
        Partition("data", 1024, "/data", "xfs", 1, "p.data", "t.raid", "DATA", 20),
        Partition("var", 300),
    )
    assert (lay.oem_systemsize, lay.oem_resize, lay.oem_swap, lay.oem_swapsize, lay.oem_swapname) == (
        4096, False, True, 512, "swp")
    assert (lay.size_mb, lay.size_additive, lay.unpartitioned_mb) == (20480, False, 2048)
    assert lay.systemdisk == SystemDisk("vg0", True, (
        Volume("home", 2048, False, None, "/home", "HOME"),
        Volume("var", None, False, 100),
        Volume("@root", None, True),
    ))
    assert "s3cret" not in repr(desc)
    assert "s3cret" not in repr(lay)


def test_arch_is_an_input() -> None:
    assert loads(EXAMPLE_TYPE_XML, arch="aarch64").layout.arch == "aarch64"
    with pytest.raises(DescriptionError, match="architecture"):
        loads(EXAMPLE_TYPE_XML, arch="m68k")


def test_unset_means_none() -> None:
    lay = loads('<type image="oem" filesystem="ext4"/>').layout
    assert lay.firmware is None and lay.oem_resize is None and lay.size_mb is None
    assert lay.root_clone == 0 and lay.partitions == () and lay.systemdisk is None


def test_entities_are_not_expanded_and_nothing_is_fetched(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    text = f"""<?xml version="1.0"?>
<!DOCTYPE type [
  <!ENTITY ext SYSTEM "file://{secret}">
  <!ENTITY a "aaaaaaaaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
]>
<type image="oem" filesystem="ext4" rootfs_label="&ext;" spare_part_mountpoint="&c;"/>"""
    try:
        lay = loads(text).layout
    except DescriptionError:
        return  # refusing is safe too
    assert "TOPSECRET" not in repr(lay)
    assert len(lay.spare_part_mountpoint or "") < 1000


BAD = [
    ("empty", "", r":1:1: not well-formed XML"),
    ("not xml", "this is not xml", r":1:1: not well-formed XML"),
    ("binary", "\x00\x01\x02", r"not well-formed XML"),
    ("truncated", '<type image="oem" filesystem="ext4">\n    <partitions>\n', r":3:\d+: not well-formed XML"),
    ("truncated image", IMAGE_HEAD + "    <preferences>\n", r":\d+:\d+: not well-formed XML"),
    ("wrong root", "<config/>", r"<config> is not a KIWI description"),
    ("namespaced root", '<image xmlns="urn:x"/>', r"namespace urn:x"),
    ("no type", image("    <preferences><version>1</version></preferences>\n"), r"no <type>"),
    ("no oem", image('    <preferences><type image="iso"/></preferences>\n'), r'no <type image="oem">.*iso'),
    ("bare non-oem", '<type image="iso"/>', r"image='iso'"),
    ("bare no image", "<type/>", r"no image attribute"),
    ("negative size", '<type image="oem"><partitions><partition name="a" size="-10"/></partitions></type>',
     r"<partition name='a'> size: '-10' is negative"),
    ("non-numeric size", '<type image="oem"><partitions><partition name="a" size="ten"/></partitions></type>',
     r"'ten' is not a size"),
    ("fraction size", '<type image="oem"><partitions><partition name="a" size="1.5G"/></partitions></type>',
     r"'1.5G' is not a size"),
    ("unknown unit", '<type image="oem"><partitions><partition name="a" size="10T"/></partitions></type>',
     r"unknown unit 'T'"),
    ("lower-case unit", '<type image="oem" spare_part="5g"/>', r"spare_part: '5g' has the unknown unit 'g'"),
    ("size unit", '<type image="oem"><size unit="K">5</size></type>', r"<size> unit: 'K'"),
    ("size negative", '<type image="oem"><size>-5</size></type>', r"<size>: '-5' is negative"),
    ("size text", '<type image="oem"><size unit="G">big</size></type>', r"<size>: 'big' is not a whole number"),
    ("unpartitioned", '<type image="oem"><size unpartitioned="9">5</size></type>', r"larger than the size"),
    ("systemsize", '<type image="oem"><oemconfig><oem-systemsize>2G</oem-systemsize></oemconfig></type>',
     r"<oem-systemsize>: '2G' is not a whole number"),
    ("resize", '<type image="oem"><oemconfig><oem-resize>yes</oem-resize></oemconfig></type>',
     r"<oem-resize>: 'yes' is not a boolean"),
    ("twice", '<type image="oem"><oemconfig><oem-swap>true</oem-swap><oem-swap>true</oem-swap></oemconfig></type>',
     r"given twice"),
    ("clone -1", '<type image="oem"><partitions><partition name="a" size="1" clone="-1"/></partitions></type>',
     r"clone: '-1' is negative"),
    ("root_clone -1", '<type image="oem" root_clone="-1"/>', r"<type> root_clone: '-1' is negative"),
    ("root_clone x", '<type image="oem" root_clone="two"/>', r"'two' is not a whole number"),
    ("huge", '<type image="oem" root_clone="' + "9" * 5000 + '"/>', r"too large"),
    ("firmware", '<type image="oem" firmware="coreboot"/>', r"firmware: 'coreboot' is not one of"),
    ("filesystem", '<type image="oem" filesystem="zfs"/>', r"<type> filesystem: 'zfs'"),
    ("part filesystem", '<type image="oem"><partitions><partition name="a" size="1" filesystem="ntfs"/></partitions></type>',
     r"filesystem: 'ntfs'"),
    ("bool", '<type image="oem" force_mbr="yes"/>', r"force_mbr: 'yes' is not a boolean"),
    ("start sector", '<type image="oem" disk_start_sector="34"/>', r"below 2048"),
    ("second partitions",
     '<type image="oem">\n<partitions><partition name="a" size="1"/></partitions>\n'
     '<partitions><partition name="b" size="1"/></partitions>\n</type>',
     r":3: <partitions>: a second <partitions> in <type> \(the first is at line 2\)"),
    ("second size", '<type image="oem"><size>1</size><size>2</size></type>', r"a second <size>"),
    ("no name", '<type image="oem"><partitions><partition size="1"/></partitions></type>', r"name attribute is missing"),
    ("no size", '<type image="oem"><partitions><partition name="a"/></partitions></type>', r"size attribute is missing"),
    ("empty partitions", '<type image="oem"><partitions/></type>', r"holds no <partition>"),
    ("stray element", '<type image="oem"><partitions><disk/></partitions></type>', r"unexpected element <disk>"),
    ("volume size", '<type image="oem"><systemdisk><volume name="v" size="-1G"/></systemdisk></type>',
     r"<volume name='v'> size: '-1G' is negative"),
    ("preferlvm", '<type image="oem"><systemdisk preferlvm="maybe"/></type>', r"preferlvm: 'maybe'"),
    ("mdraid", '<type image="oem" mdraid="raid5"/>', r"mdraid: 'raid5'"),
    ("type index", image('    <preferences><type image="oem"/></preferences>\n'), r"no type #5"),
]


@pytest.mark.parametrize("name,text,pattern", BAD, ids=[b[0] for b in BAD])
def test_bad_input(name: str, text: str, pattern: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.kiwi"
    path.write_text(text, encoding="utf-8")
    before = path.read_bytes()
    with pytest.raises(DescriptionError, match=pattern) as info:
        load(path, type_index=5 if name == "type index" else None)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert len(message) < 400
    assert path.read_bytes() == before


def test_luks_passphrase_never_in_messages() -> None:
    with pytest.raises(DescriptionError) as info:
        loads('<type image="oem" luks="hunter2" luks_version="luks9"/>')
    assert "hunter2" not in str(info.value)
    with pytest.raises(DescriptionError) as info:
        loads('<type image="oem" luks="hunter2"><size>x</size></type>')
    assert "hunter2" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DescriptionError, match="cannot read"):
        load(tmp_path / "nope.kiwi")


def test_str_with_encoding_declaration() -> None:
    text = '<?xml version="1.0" encoding="ISO-8859-1"?>\n<type image="oem" rootfs_label="Wurzel\u00e9"/>'
    assert loads(text).layout.rootfs_label == "Wurzel\u00e9"


def test_corpus_reads() -> None:
    files = sorted(DATA.glob("*.kiwi")) + sorted(DATA.glob("*.xml"))
    for path in files:
        load(path)


def test_list_types_from_a_path_or_bytes() -> None:
    infos = list_types(DATA / "10-several-types.kiwi")
    assert [(t.index, t.image, t.primary, t.chosen) for t in infos] == [
        (0, "iso", False, False), (1, "oem", False, False), (2, "oem", True, True), (3, "pxe", False, False),
    ]
    only_iso = image('    <preferences><type image="iso"/></preferences>\n').encode()
    assert [(t.image, t.chosen) for t in list_types(only_iso)] == [("iso", False)]
    assert [t.chosen for t in list_types(DATA / "14-bare-type.xml")] == [True]
    assert [t.chosen for t in list_types(DATA / "02-profiles.kiwi", profile="Large")] == [False, True, False]
    with pytest.raises(DescriptionError, match="not well-formed"):
        list_types(b"<image>")


def test_duplicate_names_are_read_as_given() -> None:
    """KIWI builds one partition for a name given twice; the planner says so."""
    desc = loads('<type image="oem"><partitions><partition name="a" size="1"/>'
                 '<partition name="a" size="2"/></partitions></type>')
    assert [(p.name, p.size_mb) for p in desc.layout.partitions] == [("a", 1), ("a", 2)]
    assert [(p.name, p.size_mb) for p in desc.layout.kiwi_partitions] == [("a", 2)]
