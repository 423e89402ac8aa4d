"""The input: the layout-bearing parts of a KIWI `<type>`, in KIWI's vocabulary.

- `model`: the frozen `Layout` and its parts (`Partition`, `SystemDisk`,
  `Volume`), the vocabularies (firmwares, filesystems ...), KIWI's defaults
- `names`: KIWI's rules for partition names and GPT entry names
- `example`: the built-in example (KIWI's "Partition Clones" page)

Pure data: nothing here reads a file or knows about XML. The names below
load on first use, so `import engine.layout.model` does not build the example.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine._lazy import lazy_getattr

if TYPE_CHECKING:
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

_WHERE = {
    "EXAMPLE_LAYOUT": "engine.layout.example",
    "EXAMPLE_TYPE_XML": "engine.layout.example",
    "ARCHES": "engine.layout.model",
    "BOOT_FILESYSTEMS": "engine.layout.model",
    "DEFAULT_ROOT_MBYTES": "engine.layout.model",
    "FIRMWARES": "engine.layout.model",
    "MDRAID_LEVELS": "engine.layout.model",
    "PARTITION_FILESYSTEMS": "engine.layout.model",
    "PERSISTENCY": "engine.layout.model",
    "ROOT_FILESYSTEMS": "engine.layout.model",
    "SPARE_FILESYSTEMS": "engine.layout.model",
    "Layout": "engine.layout.model",
    "Partition": "engine.layout.model",
    "SystemDisk": "engine.layout.model",
    "Volume": "engine.layout.model",
}

__getattr__ = lazy_getattr(__name__, _WHERE)
