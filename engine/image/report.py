"""What a build reports: the image, each partition with its identifiers, the
checks run, the step timings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.image.verify import FsCheck


@dataclass(frozen=True)
class PartitionReport:
    number: int
    key: str
    role: str
    name: str | None
    start: int
    end: int
    partuuid: str
    filesystem: str | None
    uuid: str | None
    label: str | None
    clone_of: int | None
    copied_bytes: int  # clones: data bytes block-copied from the origin

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class BuildReport:
    output: str
    format: str
    table: str
    disk_id: str
    disk_bytes: int
    allocated_bytes: int  # du of the output
    seconds: float
    step_seconds: tuple[tuple[str, float], ...]
    partitions: tuple[PartitionReport, ...]
    checks: tuple[FsCheck, ...]
    partids_path: str
    fstab: str
    seed: str | None
    warnings: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "output": self.output, "format": self.format, "table": self.table,
            "disk_id": self.disk_id, "disk_bytes": self.disk_bytes,
            "allocated_bytes": self.allocated_bytes, "seconds": round(self.seconds, 3),
            "steps": {k: round(v, 3) for k, v in self.step_seconds},
            "partitions": [p.to_json() for p in self.partitions],
            "checks": [c.__dict__ for c in self.checks],
            "partids": self.partids_path, "fstab": self.fstab, "seed": self.seed,
            "warnings": list(self.warnings),
        }
