"""partwright engine: KIWI layout planning, images and COW overlays.

The engine is headless: it imports no UI library (textual, rich) and nothing
of the TUI (`tui/`) or the command line (`partwright/`), which are thin
callers of it. The packages, lowest first:

- `errors`, `units`: exceptions with exit statuses; sectors, grains, sizes
- `host`: the local machine (sparse I/O, tools, kernel features)
- `layout`: the input, in KIWI's vocabulary
- `plan`: Layout -> Plan, pure
- `kiwi`: KIWI XML in and out, losslessly
- `cow`: UML COW and qcow2 overlays
- `image`: Plan -> disk image, and any image read back

The public API below (`engine.load`, `engine.build`, `engine.Layout` ...) is
loaded on first use, so `import engine.units` costs nothing else (but the
dataclasses module: `_dataclass_code` keeps the compiled methods of the
engine's dataclasses between runs). The planner
is `engine.plan.plan`: `engine.plan` is its package.
"""

from __future__ import annotations

from engine import _dataclass_code
from engine._lazy import lazy_getattr

_dataclass_code.install()  # before any engine module makes its dataclasses

TYPE_CHECKING = False  # not typing's: `partwright --help` imports this package, not typing
if TYPE_CHECKING:
    from engine.image.build import build
    from engine.image.inspect import inspect
    from engine.kiwi.export import export
    from engine.kiwi.read import load, loads
    from engine.layout import Layout
    from engine.plan import Plan

__all__ = ["Layout", "Plan", "build", "export", "inspect", "load", "loads"]

_WHERE = {
    "Layout": "engine.layout",
    "Plan": "engine.plan",
    "build": "engine.image.build",
    "export": "engine.kiwi.export",
    "inspect": "engine.image.inspect",
    "load": "engine.kiwi.read",
    "loads": "engine.kiwi.read",
}

__getattr__ = lazy_getattr(__name__, _WHERE)
