"""KIWI XML in and out, losslessly.

- `read`: a description (full `<image>` or bare `<type>`) into a Layout
- `write`: a changed Layout back onto its description's own text
- `export`: a complete description KIWI's schema accepts (`export.export`;
  the package does not re-export names its modules have)
- `assign`: `--set KEY=VALUE` edits in KIWI's attribute names
- `schema`: which attributes and elements carry the layout, and their syntax
- `validate`: what KIWI's schema and runtime refuse, before any write
- `_text_scan`, `_text_edit`: offsets in and edits of the original text
"""

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
