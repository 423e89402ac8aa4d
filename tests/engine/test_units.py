"""The one size formatter, in the styles the tables, messages and designer print."""

from __future__ import annotations

import pytest

from engine.units import GRAIN, MIB, SECTOR_SIZE, sectors_text, size_text


@pytest.mark.parametrize(("args", "kwargs", "text"), [
    ((17,), {}, "17 B"),
    ((1536,), {}, "1.5 KiB"),
    ((300 * MIB,), {}, "300.0 MiB"),
    ((5 * 1024**4,), {}, "5.0 TiB"),
    ((512 * 1024,), {"smallest": "KiB", "trim": True}, "512 KiB"),
    ((2 * 1024 * MIB,), {"smallest": "KiB", "trim": True}, "2 GiB"),
    ((1536 * MIB,), {"smallest": "KiB", "trim": True}, "1.5 GiB"),
    ((3 * 1024**4,), {"smallest": "MiB", "largest": "GiB"}, "3072.0 GiB"),
])
def test_size_text(args: tuple[int], kwargs: dict[str, object], text: str) -> None:
    assert size_text(*args, **kwargs) == text  # type: ignore[arg-type]


@pytest.mark.parametrize(("sectors", "text"), [
    (2 * GRAIN, "2.0 MiB"), (300 * GRAIN, "300.0 MiB"), (199989215, "95.4 GiB"), (GRAIN // 2, "0.5 MiB"),
])
def test_sectors_text_as_the_tables_print_it(sectors: int, text: str) -> None:
    assert sectors_text(sectors) == text
    assert GRAIN * SECTOR_SIZE == MIB
