"""Copy-on-write overlays: UML COW (v1, v2, v3, broken v3) and qcow2.

- `format`: read every UML COW header version, write any (v3 by default)
- `create`: new COW files (as `uml_mkcow` does) and `info`
- `merge`: COW + backing file into a new flat image, or into the backing file
- `rebase`: diverged flat images back into one base + per-image COWs
- `sidecar`: the backing-file record (`COW.backing.json`) and the tamper check
- `tree`: the record's digest tree (BLAKE3 per 64 KiB leaf, per 4 MiB, root)
- `qcow2`: qcow2 overlays through qemu-img
- `files`: COW outputs (engine.host.atomic), locks, sizes, backing paths

Sparse I/O, atomic outputs and progress are engine.host's. The public names
are imported when first used, so a command loads only the modules it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine._lazy import lazy_getattr

if TYPE_CHECKING:
    from engine.cow.create import CowInfo, Created, cow_info, create_cow
    from engine.cow.format import CowHeader, read_header
    from engine.cow.merge import MergeResult, check, merge_in_place, merge_to_new, open_checked
    from engine.cow.rebase import RebaseItem, RebaseResult, rebase_images
    from engine.cow.sidecar import Sidecar, Verdict

_WHERE = {
    "CowInfo": "engine.cow.create", "Created": "engine.cow.create",
    "cow_info": "engine.cow.create", "create_cow": "engine.cow.create",
    "CowHeader": "engine.cow.format", "read_header": "engine.cow.format",
    "MergeResult": "engine.cow.merge", "check": "engine.cow.merge",
    "merge_in_place": "engine.cow.merge", "merge_to_new": "engine.cow.merge",
    "open_checked": "engine.cow.merge",
    "RebaseItem": "engine.cow.rebase", "RebaseResult": "engine.cow.rebase",
    "rebase_images": "engine.cow.rebase",
    "Sidecar": "engine.cow.sidecar", "Verdict": "engine.cow.sidecar",
}
_MODULES = ("create", "files", "format", "merge", "qcow2", "rebase", "sidecar", "tree")

__getattr__ = lazy_getattr(__name__, _WHERE, _MODULES)


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
