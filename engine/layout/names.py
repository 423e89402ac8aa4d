"""Rules for partition names, as KIWI's schema and runtime apply them.

KIWI's schematron rejects a `<partition name>` that is a *substring* of the
string "root readonly boot prep spare swap efi_csm efi" (so "ot" and "p" are
refused too); the runtime refuses the exact reserved names. `partition_name`
(the GPT name) is `[a-zA-Z0-9_.-]{1,32}`. The name also becomes a shell
variable in /config.partids (kiwi_<Name>Part), so it must be one.
"""

from __future__ import annotations

import re

RESERVED_STRING = "root readonly boot prep spare swap efi_csm efi"
GPT_NAME_MAX = 36  # UTF-16 code units in a GPT entry name
PARTITION_NAME_RE = re.compile(r"^[a-zA-Z0-9_.-]{1,32}$")
SHELL_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def is_reserved(name: str) -> bool:
    """True when KIWI's schema rejects `name` (a substring of the reserved list)."""
    return name in RESERVED_STRING


def name_problems(name: str) -> list[str]:
    """Why KIWI would refuse `name` as a `<partition name>`, or would write an
    unusable /config.partids line for it. Empty when the name is fine."""
    problems: list[str] = []
    if not name:
        return ["the name is empty"]
    if is_reserved(name):
        problems.append(
            f"'{name}' is reserved: KIWI rejects any name contained in '{RESERVED_STRING}'"
        )
    if not SHELL_NAME_RE.match(f"kiwi_{name}Part"):
        problems.append(
            f"'{name}' makes kiwi_{name.title()}Part, which is not a valid shell variable name"
            " (use letters, digits and _)"
        )
    return problems


def partition_name_problems(partition_name: str) -> list[str]:
    """Why KIWI's schema would refuse `partition_name` (the GPT entry name)."""
    if PARTITION_NAME_RE.match(partition_name):
        return []
    if len(partition_name) > 32:
        return [f"partition_name '{partition_name}' is {len(partition_name)} characters; at most 32"]
    return [f"partition_name '{partition_name}' may hold only letters, digits, '_', '.' and '-'"]
