"""Safe XML for KIWI descriptions: parsing, bounded reading, one-line errors.

No network, no DTD loading, no entity expansion; a file larger than
MAX_DESCRIPTION_BYTES is refused before it is read (no KIWI description comes
near it; reading a disk image by mistake must not take the memory). Every
problem is a DescriptionError with one line naming the file and line.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from lxml import etree

from engine.errors import DescriptionError
from engine.units import MIB, size_text

if TYPE_CHECKING:
    from pathlib import Path

MAX_DESCRIPTION_BYTES = 64 * MIB


def read_bounded(path: str | Path) -> bytes:
    """The bytes of a description file, refused when larger than
    MAX_DESCRIPTION_BYTES (a regular file by its size, anything else as read)."""
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            if st.st_size > MAX_DESCRIPTION_BYTES:
                raise _too_large(path, st.st_size)
            data = fh.read(MAX_DESCRIPTION_BYTES + 1)
    except OSError as exc:
        raise DescriptionError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_DESCRIPTION_BYTES:
        raise _too_large(path, None)
    return data


def _too_large(path: str | Path, size: int | None) -> DescriptionError:
    what = f"is {size_text(size)}" if size is not None else "holds more"
    return DescriptionError(
        f"{path}: {what}; a KIWI description is at most {size_text(MAX_DESCRIPTION_BYTES)}"
        " (is it a disk image?)")


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        remove_blank_text=False,
        remove_comments=False,
        remove_pis=False,
        strip_cdata=False,
        huge_tree=False,
        collect_ids=False,
    )


def as_bytes(data: str | bytes) -> bytes:
    if isinstance(data, bytes):
        return data
    match = re.match(r"""\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""", data)
    if match:
        try:
            return data.encode(match.group(1), errors="xmlcharrefreplace")
        except LookupError:
            pass
    return data.encode("utf-8")


def parse_document(raw: bytes, source: str) -> etree._ElementTree:
    """Parse with lxml, safely; syntax errors become one-line DescriptionErrors."""
    try:
        root = etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (exc.lineno or 0, 0)
        msg = (exc.msg or "not well-formed").splitlines()[0]
        msg = re.sub(r",? line \d+, column \d+$", "", msg).strip()
        raise DescriptionError(f"{source}:{line}:{column}: not well-formed XML: {msg}") from None
    except ValueError as exc:
        raise DescriptionError(f"{source}: not readable as XML: {exc}") from None
    if root is None:
        raise DescriptionError(f"{source}:1:1: not well-formed XML: the document is empty")
    return root.getroottree()


def line_of(el: etree._Element) -> int:
    """The element's line (lxml-stubs type sourceline loosely)."""
    line = getattr(el, "sourceline", None)
    return int(line) if line else 0


def _where(source: str, el: etree._Element) -> str:
    return f"{source}:{line_of(el)}"


def bad(source: str, el: etree._Element, what: str, problem: str) -> DescriptionError:
    return DescriptionError(f"{_where(source, el)}: {what}: {problem}")


def plain_children(el: etree._Element) -> list[etree._Element]:
    """Element children in no namespace (comments, PIs and foreign elements left out)."""
    return [c for c in el if isinstance(c.tag, str) and not c.tag.startswith("{")]


def element_text(el: etree._Element, source: str) -> str:
    """The text of a simple element (comments and PIs inside are skipped)."""
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str):
            raise bad(source, child, f"<{el.tag}>", f"unexpected element <{child.tag}> inside")
        parts.append(child.tail or "")
    return "".join(parts)
