"""KIWI XML in and out, losslessly.

- `read`: a description (full `<image>` or bare `<type>`) into a Layout
- `write`: a changed Layout back onto its description's own text
- `export`: a complete description KIWI's schema accepts (`export.export`;
  the package does not re-export names its modules have)
- `assign`: `--set KEY=VALUE` edits in KIWI's attribute names
- `schema`: which attributes and elements carry the layout, and their syntax
- `validate`: what KIWI's schema and runtime refuse, before any write
- `_text_scan`, `_text_edit`: offsets in and edits of the original text

The names below are loaded on first use, so reading a description
(`engine.kiwi.read`) does not pay for writing or exporting one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine._lazy import lazy_getattr

if TYPE_CHECKING:
    from engine.kiwi.assign import apply_set, apply_sets
    from engine.kiwi.export import description_bytes
    from engine.kiwi.read import Description, TypeInfo, list_types, load, loads
    from engine.kiwi.write import save, to_bytes

__all__ = [
    "Description",
    "TypeInfo",
    "apply_set",
    "apply_sets",
    "description_bytes",
    "list_types",
    "load",
    "loads",
    "save",
    "to_bytes",
]

_WHERE = {
    "Description": "engine.kiwi.read",
    "TypeInfo": "engine.kiwi.read",
    "apply_set": "engine.kiwi.assign",
    "apply_sets": "engine.kiwi.assign",
    "description_bytes": "engine.kiwi.export",
    "list_types": "engine.kiwi.read",
    "load": "engine.kiwi.read",
    "loads": "engine.kiwi.read",
    "save": "engine.kiwi.write",
    "to_bytes": "engine.kiwi.write",
}

__getattr__ = lazy_getattr(__name__, _WHERE)
