"""Identifiers and timestamps of a build: random, or all derived from `--seed`.

Every UUID, vfat serial, ext hash seed and the disk GUID is
`uuid5(NAMESPACE, seed + "\\0" + purpose)`, so one seed gives one image. A
build without a seed draws a random 256-bit key once and derives the same way
(so every identifier of a build is still unique per purpose).

Timestamps: SOURCE_DATE_EPOCH when it is set; a seeded build without it uses
DEFAULT_EPOCH (1980-01-01 00:00:00 UTC, the oldest time FAT can store), so two
builds with the same seed give the same bytes. The tools learn the time from
the environment (`tool_env`): E2FSPROGS_FAKE_TIME for e2fsprogs,
SOURCE_DATE_EPOCH for dosfstools and mtools; xfs inode times are set with
xfs_db afterwards (see filesystems.py).
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from engine.errors import PartwrightError

NAMESPACE = uuid.UUID("6f9b6d4e-3c1a-5b7e-9a41-70a27e1f0c55")
DEFAULT_EPOCH = 315532800  # 1980-01-01T00:00:00Z


@dataclass(frozen=True)
class Identity:
    """Where the identifiers of one build come from."""

    key: str  # the seed text, or a random key
    seeded: bool
    epoch: int | None  # fixed timestamp for every tool; None: the current time
    # SOURCE_DATE_EPOCH when it is set: the root tree's later mtimes become it
    # (reproducible-builds.org's clamping); a seed alone keeps the tree's times
    clamp: int | None = None

    def uuid(self, purpose: str) -> uuid.UUID:
        return uuid.uuid5(NAMESPACE, f"{self.key}\0{purpose}")

    def uuid_str(self, purpose: str) -> str:
        return str(self.uuid(purpose))

    def serial(self, purpose: str) -> int:
        """A 32-bit number (vfat volume serial, msdos disk identifier), never 0."""
        value = int.from_bytes(self.uuid(purpose).bytes[:4], "big")
        return value or 1

    def tool_env(self) -> dict[str, str]:
        env = {"TZ": "UTC"}
        if self.epoch is not None:
            env["SOURCE_DATE_EPOCH"] = str(self.epoch)
            env["E2FSPROGS_FAKE_TIME"] = str(self.epoch)
        return env


def make_identity(seed: str | None, environ: Mapping[str, str] | None = None) -> Identity:
    """The identity of a build: from `seed` when given, else random."""
    env = os.environ if environ is None else environ
    epoch: int | None = None
    raw = env.get("SOURCE_DATE_EPOCH")
    if raw:
        try:
            epoch = int(raw)
        except ValueError:
            raise PartwrightError(f"SOURCE_DATE_EPOCH={raw!r} is not a whole number of seconds") from None
        if epoch < 0:
            raise PartwrightError(f"SOURCE_DATE_EPOCH={raw!r} is negative")
    if seed is not None:
        if not seed:
            raise PartwrightError("--seed must not be empty")
        return Identity(key=seed, seeded=True, epoch=DEFAULT_EPOCH if epoch is None else epoch,
                        clamp=epoch)
    return Identity(key=secrets.token_hex(32), seeded=False, epoch=epoch, clamp=epoch)
