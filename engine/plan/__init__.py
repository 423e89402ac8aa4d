"""Layout -> Plan: the partition table KIWI NG 11 builds, sector for sector.

- `model`: the frozen `Plan` and its parts (`Entry`, `FreeRegion`,
  `Diagnostic`, `LogicalVolume`)
- `planner`: `plan(layout)`, the whole answer
- `kiwi_order`: what KIWI asks its partitioner for, in creation order
- `placement`: where sgdisk (gpt) and fdisk (msdos) put each request
- `disk_size`: `<size>`, or KIWI's estimate from the root data
- `root_tree`: a root tree's measurements as planner inputs
- `diagnostics`: what KIWI and the tools would refuse or quietly get wrong
- `partids`: `/config.partids`, byte for byte

Pure and deterministic (`root_tree` aside, which measures a directory):
no XML, no images, no COW files. The names below load on first use (a
plan needs no root-tree measuring).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine._lazy import lazy_getattr

if TYPE_CHECKING:
    from engine.plan.model import Diagnostic, Entry, FreeRegion, LogicalVolume, Plan
    from engine.plan.planner import plan
    from engine.plan.root_tree import with_root_tree

__all__ = ["Diagnostic", "Entry", "FreeRegion", "LogicalVolume", "Plan", "plan", "with_root_tree"]

_WHERE = {
    "Diagnostic": "engine.plan.model",
    "Entry": "engine.plan.model",
    "FreeRegion": "engine.plan.model",
    "LogicalVolume": "engine.plan.model",
    "Plan": "engine.plan.model",
    "plan": "engine.plan.planner",
    "with_root_tree": "engine.plan.root_tree",
}

__getattr__ = lazy_getattr(__name__, _WHERE)
