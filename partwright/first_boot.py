"""`preview --device-size`: the device sizes a user types."""

from __future__ import annotations

import argparse
import re

UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40,
         "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?B?|[KMGT]iB)\s*$", re.IGNORECASE)


def device_sizes(text: str) -> list[int]:
    """'8G,32G,256G' -> bytes. K/M/G/T (and KiB ...) are powers of 1024,
    KB/MB/GB/TB powers of 1000 (a card sold as 8 GB), no unit is bytes."""
    sizes = []
    for item in text.split(","):
        match = SIZE_RE.match(item)
        if not match:
            raise argparse.ArgumentTypeError(
                f"'{item.strip()}' is not a device size (8G, 32G, 256G, 8GB or bytes)")
        unit = match.group(2).upper().replace("IB", "")
        value = int(float(match.group(1)) * UNITS[unit])
        if value < 512:
            raise argparse.ArgumentTypeError(f"device size '{item.strip()}' is under one sector")
        sizes.append(value - value % 512)
    return sizes
