"""From the disk back to the layout: an image, a block device or a table dump
becomes the KIWI description whose plan reproduces its table, or the
closest one, with a diagnostic per partition that differs.

- `read`: `read_disk(path)`: table, filesystems, clones, /config.partids and
  /etc/fstab, as read (`dump` parses sfdisk --dump/--json, `files` reads
  files out of unmounted root filesystems)
- `roles`: KIWI's names and roles for each partition
- `infer`: the Layout (the root's size and part_ids chosen by planning)
- `diagnose`: where the plan and the disk differ, and what was not read
- `load`: `import_disk(path)`, `open_side(path)` (a description, image or
  dump as one side of engine.diff)
"""

from engine.importer.load import description, import_disk, is_description, open_side
from engine.importer.model import DiskRead, Imported, ReadPartition
from engine.importer.read import read_disk

__all__ = ["DiskRead", "Imported", "ReadPartition", "description", "import_disk", "is_description", "open_side",
           "read_disk"]
