"""Fixtures of the image engine's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

MIB = 1 << 20


@pytest.fixture
def image(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """An empty sparse image file of the test module's IMAGE_MIB MiB."""
    path = tmp_path / "disk.img"
    with open(path, "wb") as fh:
        fh.truncate(request.module.IMAGE_MIB * MIB)
    return path
