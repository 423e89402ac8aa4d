"""The seed example (KIWI's "Partition Clones" page) as the planner must
plan it: the table rows and /config.partids, shared by the planner, oracle
and command line tests."""

from __future__ import annotations

from tests.support.paths import DATA

SEED = DATA / "oracle" / "seed.xml"  # the example as a full description

SEED_ROWS = [
    (1, 2048, 6143, "EF02", "p.legacy"),
    (2, 6144, 47103, "EF00", "p.UEFI"),
    (3, 47104, 661503, "8300", "p.lxbootclone1"),
    (4, 661504, 1275903, "8300", "p.lxboot"),
    (5, 1275904, 1296383, "8300", "p.lxhomeclone1"),
    (6, 1296384, 1316863, "8300", "p.lxhomeclone2"),
    (7, 1316864, 1337343, "8300", "p.lxhome"),
    (8, 1337344, 5531647, "8300", "p.lxrootclone1"),
    (9, 5531648, 9725951, "8300", "p.lxroot"),
]
SEED_PARTIDS = """\
kiwi_BiosGrub="1"
kiwi_BootPart="4"
kiwi_EfiPart="2"
kiwi_HomePart="7"
kiwi_RootPart="9"
kiwi_bootPartClone1="3"
kiwi_homePartClone1="5"
kiwi_homePartClone2="6"
kiwi_rootPartClone1="8"
"""
