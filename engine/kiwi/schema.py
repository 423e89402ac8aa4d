"""Which XML attributes and elements of a KIWI `<type>` carry the layout, and
how their values are read and written.

One table per place in the document (the `<type>` attributes, the
`<oemconfig>` children, `<partition>` and `<volume>` attributes). The reader
(engine.kiwi.read), the writer (engine.kiwi.write) and the
command-line editor (engine.kiwi.assign) share these tables, so a value is
parsed and formatted the same way everywhere. The rules follow KIWI's schema
(kiwi/schema/kiwi.rnc, schemaversion 8.5).

Value kinds:
  enum    one of `choices`
  bool    xsd:boolean (true, false, 1, 0)
  uint    a whole number >= 0 (None when not set)
  count   a whole number >= 0 whose absence means 0 (clone counts)
  sector  a whole number >= 2048 (disk_start_sector)
  size    MiB, written `N`, `NM` or `NG` (G = 1024 MiB)
  vsize   like size, or `all` (volume sizes)
  text    any text
  secret  any text that is never shown (luks)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from engine.layout.model import (
    BOOT_FILESYSTEMS,
    FIRMWARES,
    LUKS_VERSIONS,
    MDRAID_LEVELS,
    PARTITION_FILESYSTEMS,
    PARTITION_TYPES,
    PERSISTENCY,
    ROOT_FILESYSTEMS,
    SPARE_FILESYSTEMS,
    TABLE_TYPES,
)
from engine.units import GRAIN

# KIWI's <partition filesystem> values (the schema has no "swap" here)
KIWI_PARTITION_FILESYSTEMS: tuple[str, ...] = PARTITION_FILESYSTEMS
ValueKind = Literal["enum", "bool", "uint", "count", "sector", "size", "vsize", "text", "secret"]
SIZE_UNITS: tuple[str, ...] = ("M", "G")
MAX_DIGITS = 15  # larger numbers are refused rather than parsed


class ValueProblem(ValueError):
    """A value that does not fit its kind. The message says why, without the
    attribute name (the caller knows where the value came from)."""


@dataclass(frozen=True)
class Spec:
    """One layout-bearing attribute or element and the Layout field it fills."""

    xml: str
    field: str
    kind: ValueKind
    choices: tuple[str, ...] = ()
    required: bool = False


TYPE_ATTRS: tuple[Spec, ...] = (
    Spec("firmware", "firmware", "enum", FIRMWARES),
    Spec("filesystem", "filesystem", "enum", ROOT_FILESYSTEMS),
    Spec("efiparttable", "efiparttable", "enum", TABLE_TYPES),
    Spec("eficsm", "eficsm", "bool"),
    Spec("bootpartition", "bootpartition", "bool"),
    Spec("bootfilesystem", "bootfilesystem", "enum", BOOT_FILESYSTEMS),
    Spec("bootpartsize", "bootpartsize", "uint"),
    Spec("efipartsize", "efipartsize", "uint"),
    Spec("root_clone", "root_clone", "count"),
    Spec("boot_clone", "boot_clone", "count"),
    Spec("spare_part", "spare_part_mb", "size"),
    Spec("spare_part_is_last", "spare_part_is_last", "bool"),
    Spec("spare_part_mountpoint", "spare_part_mountpoint", "text"),
    Spec("spare_part_fs", "spare_part_fs", "enum", SPARE_FILESYSTEMS),
    Spec("disk_start_sector", "disk_start_sector", "sector"),
    Spec("dosparttable_extended_layout", "dosparttable_extended_layout", "bool"),
    Spec("force_mbr", "force_mbr", "bool"),
    Spec("gpt_hybrid_mbr", "gpt_hybrid_mbr", "bool"),
    Spec("eficsmpart_id", "eficsmpart_id", "uint"),
    Spec("efipart_id", "efipart_id", "uint"),
    Spec("bootpart_id", "bootpart_id", "uint"),
    Spec("rootpart_id", "rootpart_id", "uint"),
    Spec("mdraid", "mdraid", "enum", MDRAID_LEVELS),
    Spec("overlayroot", "overlayroot", "bool"),
    Spec("overlayroot_write_partition", "overlayroot_write_partition", "bool"),
    Spec("overlayroot_readonly_partsize", "overlayroot_readonly_partsize", "uint"),
    Spec("devicepersistency", "devicepersistency", "enum", PERSISTENCY),
    Spec("rootfs_label", "rootfs_label", "text"),
    Spec("luks", "luks", "secret"),
    Spec("luks_version", "luks_version", "enum", LUKS_VERSIONS),
    Spec("apply_dps_codes", "apply_dps_codes", "bool"),
)

OEM_ELEMENTS: tuple[Spec, ...] = (
    Spec("oem-systemsize", "oem_systemsize", "uint"),
    Spec("oem-resize", "oem_resize", "bool"),
    Spec("oem-swap", "oem_swap", "bool"),
    Spec("oem-swapsize", "oem_swapsize", "uint"),
    Spec("oem-swapname", "oem_swapname", "text"),
)

# in the order a new <partition> gets them
PARTITION_ATTRS: tuple[Spec, ...] = (
    Spec("name", "name", "text", required=True),
    Spec("size", "size_mb", "size", required=True),
    Spec("partition_name", "partition_name", "text"),
    Spec("partition_type", "partition_type", "enum", PARTITION_TYPES),
    Spec("mountpoint", "mountpoint", "text"),
    Spec("filesystem", "filesystem", "enum", KIWI_PARTITION_FILESYSTEMS),
    Spec("label", "label", "text"),
    Spec("clone", "clone", "count"),
    Spec("part_id", "part_id", "uint"),
)

# size and freespace are special (vsize: "all" sets all_free)
VOLUME_ATTRS: tuple[Spec, ...] = (
    Spec("name", "name", "text", required=True),
    Spec("size", "size_mb", "vsize"),
    Spec("freespace", "freespace_mb", "vsize"),
    Spec("mountpoint", "mountpoint", "text"),
    Spec("label", "label", "text"),
)

TYPE_ATTR_BY_XML = {spec.xml: spec for spec in TYPE_ATTRS}
OEM_BY_XML = {spec.xml: spec for spec in OEM_ELEMENTS}
PARTITION_ATTR_BY_XML = {spec.xml: spec for spec in PARTITION_ATTRS}
VOLUME_ATTR_BY_XML = {spec.xml: spec for spec in VOLUME_ATTRS}

_UINT_RE = re.compile(r"^\+?\d+$")
# characters XML 1.0 cannot hold, even as references (compiled on first use, by re's
# cache: compiling this class takes milliseconds every reading process would pay)
_NOT_XML = "[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
_SIZE_RE = re.compile(r"^(\d+)([MG]?)$")


def shown(value: object, limit: int = 40) -> str:
    """A value quoted for a one-line message, shortened when long."""
    text = " ".join(str(value).split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"'{text}'"


def _whole(text: str) -> int:
    digits = text.lstrip("+")
    if len(digits.lstrip("0")) > MAX_DIGITS:
        raise ValueProblem(f"{shown(text)} is too large")
    return int(digits)


def parse_uint(text: str) -> int:
    """A whole number >= 0 (xsd:nonNegativeInteger, KIWI's `\\d+`)."""
    value = text.strip()
    if _UINT_RE.match(value):
        return _whole(value)
    if re.match(r"^-\d+$", value):
        raise ValueProblem(f"{shown(value)} is negative; expected a whole number >= 0")
    raise ValueProblem(f"{shown(value)} is not a whole number >= 0")


def parse_bool(text: str) -> bool:
    value = text.strip()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise ValueProblem(f"{shown(value)} is not a boolean; expected true or false")


def parse_size_mb(text: str) -> int:
    """`N`, `NM` or `NG` in whole MiB (G = 1024 MiB), as KIWI's
    `<partition size>` and `spare_part`."""
    value = text.strip()
    match = _SIZE_RE.match(value)
    if match:
        number = _whole(match.group(1))
        return number * 1024 if match.group(2) == "G" else number
    if not value:
        raise ValueProblem("the size is empty")
    if re.match(r"^-\d+[A-Za-z]*$", value):
        raise ValueProblem(f"{shown(value)} is negative")
    unit = re.match(r"^\d+([A-Za-z]+)$", value)
    if unit:
        raise ValueProblem(f"{shown(value)} has the unknown unit {shown(unit.group(1))}; use M or G")
    raise ValueProblem(f"{shown(value)} is not a size; expected N, NM or NG (whole MiB or GiB)")


def parse_vsize(text: str) -> int | None:
    """A volume size: like parse_size_mb, or `all` (None)."""
    if text.strip() == "all":
        return None
    return parse_size_mb(text)


def parse_value(spec: Spec, text: str) -> object:
    """Parse `text` as `spec` says; raise ValueProblem when it does not fit."""
    kind = spec.kind
    if kind == "enum":
        value = text.strip()
        if value not in spec.choices:
            raise ValueProblem(f"{shown(value)} is not one of {', '.join(spec.choices)}")
        return value
    if kind == "bool":
        return parse_bool(text)
    if kind in ("uint", "count"):
        return parse_uint(text)
    if kind == "sector":
        number = parse_uint(text)
        if number < GRAIN:
            raise ValueProblem(f"{shown(text.strip())} is below {GRAIN}, the smallest start sector KIWI allows")
        return number
    if kind == "size":
        return parse_size_mb(text)
    if kind == "vsize":
        return parse_vsize(text)
    return text


def check_value(spec: Spec, value: object) -> None:
    """Raise ValueProblem when a Layout value cannot be written as `spec`."""
    if value is None:
        return
    kind = spec.kind
    if kind == "enum":
        if value not in spec.choices:
            raise ValueProblem(f"{shown(value)} is not one of {', '.join(spec.choices)}")
    elif kind == "bool":
        if not isinstance(value, bool):
            raise ValueProblem(f"{shown(value)} is not a boolean")
    elif kind in ("uint", "count", "size", "vsize", "sector"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueProblem(f"{shown(value)} is not a whole number")
        if value < 0:
            raise ValueProblem(f"{shown(value)} is negative")
        if kind == "sector" and value < GRAIN:
            raise ValueProblem(f"{shown(value)} is below {GRAIN}, the smallest start sector KIWI allows")
    elif not isinstance(value, str):
        raise ValueProblem(f"{shown(value)} is not text")
    elif re.search(_NOT_XML, value):
        raise ValueProblem("holds a character XML cannot carry (a control character)")


def format_size(mb: int, like: str | None = None) -> str:
    """MiB as KIWI size text, in the unit style of `like` (the text it
    replaces) when that style still says the value exactly: `NG` stays `NG`
    when `mb` is a multiple of 1024 (else `NM`), `NM` stays `NM`, plain
    stays plain."""
    style = (like or "").strip()
    if style.endswith("G"):
        return f"{mb // 1024}G" if mb % 1024 == 0 else f"{mb}M"
    if style.endswith("M"):
        return f"{mb}M"
    return str(mb)


def format_value(spec: Spec, value: object, like: str | None = None) -> str:
    """A Layout value as attribute or element text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if spec.kind in ("size", "vsize") and isinstance(value, int):
        return format_size(value, like)
    return str(value)


def same_value(spec: Spec, text: str, value: object) -> bool:
    """True when `text` (as written in the document) already means `value`."""
    try:
        return parse_value(spec, text) == value
    except ValueProblem:
        return False
