"""The image engine: write the disk a Plan describes, and read images back.

    build(plan, output, *, fmt="raw", root_tree=None, seed=None, progress=None) -> BuildReport
    inspect(path) -> InspectReport

No UI library is imported here (the CLI and the TUI call these).
"""

from __future__ import annotations

from engine.image.build import BuildReport, PlanHasErrors, build
from engine.image.inspect import InspectReport, inspect

__all__ = ["BuildReport", "InspectReport", "PlanHasErrors", "build", "inspect"]
