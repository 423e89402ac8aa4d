"""Copy-on-write overlays: UML COW (v1, v2, v3, broken v3) and qcow2.

- `format`: read every UML COW header version, write any (v3 by default)
- `create`: new COW files (as `uml_mkcow` does) and `info`
- `merge`: COW + backing file into a new flat image, or into the backing file
- `rebase`: diverged flat images back into one base + per-image COWs
- `sidecar`: the backing-file record (`COW.backing.json`) and the tamper check
- `qcow2`: qcow2 overlays through qemu-img
- `files`: COW outputs (engine.host.atomic), locks, sizes, backing paths

Sparse I/O, atomic outputs and progress are engine.host's.
"""

from engine.cow.create import CowInfo, Created, cow_info, create_cow
from engine.cow.format import CowHeader, read_header
from engine.cow.merge import MergeResult, check, merge_in_place, merge_to_new, open_checked
from engine.cow.rebase import RebaseItem, RebaseResult, rebase_images
from engine.cow.sidecar import Sidecar, Verdict

__all__ = [
    "CowHeader",
    "CowInfo",
    "Created",
    "MergeResult",
    "RebaseItem",
    "RebaseResult",
    "Sidecar",
    "Verdict",
    "check",
    "cow_info",
    "create_cow",
    "merge_in_place",
    "merge_to_new",
    "open_checked",
    "read_header",
    "rebase_images",
]
