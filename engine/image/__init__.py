"""The image engine: write the disk a Plan describes, and read images back.

    build.build(plan, output, *, fmt="raw", root_tree=None, seed=None,
                progress=None, luks_key=None, reads=()) -> BuildReport
    inspect.inspect(path) -> InspectReport

`build` and `inspect` are the modules (engine.build and engine.inspect are
the functions); the types their callers need are named here. No UI library
is imported: the CLI and the TUI call these.

- `build`: the stages of a build; `checks`: what it refuses first;
  `report`: what it answers
- `table`, `gpt`: the partition table and its identifiers
- `filesystems`, `populate`: mkfs at offsets, filled from a root tree
- `clone`, `inner`, `identity`: block clones and their new identifiers
- `containers`, `luks`, `lvm`, `mdraid`, `xts`: LUKS, LVM and md RAID
- `verify`: the image read back before it is named
- `inspect`: any image read back
"""

from engine.image import build, inspect
from engine.image.build import STEPS, Format, PlanHasErrors
from engine.image.inspect import InspectReport
from engine.image.luks import KeySource
from engine.image.report import BuildReport, PartitionReport

__all__ = ["STEPS", "BuildReport", "Format", "InspectReport", "KeySource", "PartitionReport",
           "PlanHasErrors", "build", "inspect"]
