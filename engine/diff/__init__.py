"""Two partition tables side by side, and what an update means for a device in the field.

- `model`: `Side` (a table with KIWI's keys), `PartitionChange`, `Comparison`
- `compare`: `compare(old, new)`, partition by partition (kept, moved, grown,
  shrunk, added, removed, renumbered, identity changed), and the verdict for
  a device that runs OLD: the update fits in place, these slots must be
  re-flashed, or the table must be rewritten and these partitions' data is lost

Pure: tables in, answers out. Reading descriptions and images into a `Side`
is engine.importer's job.
"""

from engine.diff.compare import compare, side_of_plan
from engine.diff.model import ChangeKind, Comparison, Fate, PartitionChange, Side, Verdict

__all__ = ["ChangeKind", "Comparison", "Fate", "PartitionChange", "Side", "Verdict", "compare",
           "side_of_plan"]
