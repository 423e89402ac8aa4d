"""The input: the layout-bearing parts of a KIWI `<type>`, in KIWI's vocabulary.

- `model`: the frozen `Layout` and its parts (`Partition`, `SystemDisk`,
  `Volume`), the vocabularies (firmwares, filesystems ...), KIWI's defaults
- `names`: KIWI's rules for partition names and GPT entry names
- `example`: the built-in example (KIWI's "Partition Clones" page)

Pure data: nothing here reads a file or knows about XML.
"""

from engine.layout.example import EXAMPLE_LAYOUT, EXAMPLE_TYPE_XML
from engine.layout.model import (
    ARCHES,
    BOOT_FILESYSTEMS,
    DEFAULT_ROOT_MBYTES,
    FIRMWARES,
    MDRAID_LEVELS,
    PARTITION_FILESYSTEMS,
    PERSISTENCY,
    ROOT_FILESYSTEMS,
    SPARE_FILESYSTEMS,
    Layout,
    Partition,
    SystemDisk,
    Volume,
)

__all__ = [
    "ARCHES",
    "BOOT_FILESYSTEMS",
    "DEFAULT_ROOT_MBYTES",
    "EXAMPLE_LAYOUT",
    "EXAMPLE_TYPE_XML",
    "FIRMWARES",
    "MDRAID_LEVELS",
    "PARTITION_FILESYSTEMS",
    "PERSISTENCY",
    "ROOT_FILESYSTEMS",
    "SPARE_FILESYSTEMS",
    "Layout",
    "Partition",
    "SystemDisk",
    "Volume",
]
