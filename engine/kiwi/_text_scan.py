"""Where each element and attribute sits in the text of an XML document.

lxml parses and checks a description but, when it serialises, it rewrites
what it does not keep: quotes, whitespace inside tags, line endings, `<a></a>`
versus `<a/>`, the XML declaration, blank text around the root. To change one
attribute and keep every other byte, the writer edits the original text, and
this module tells it where: `scan(text)` returns, for each element in
document order (the same order as lxml's `iter()` over elements), the offsets
of its start tag, each attribute's name and value, its content and its end
tag. The text must already be well-formed (lxml checked it); this scanner
does not validate.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

_NAME_END = re.compile(r"[\s/>=]")
_DECL_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


@dataclass
class AttrSpan:
    name: str
    ws_start: int  # start of the whitespace before the name
    start: int  # the name
    value_start: int  # just inside the opening quote
    value_end: int  # the closing quote
    quote: str

    @property
    def end(self) -> int:
        return self.value_end + 1


@dataclass
class ElemSpan:
    qname: str
    start: int  # the '<'
    name_end: int
    attrs: list[AttrSpan]
    stag_end: int  # just after the start tag's '>'
    self_closing: bool
    parent: int | None
    index: int
    etag_start: int = -1  # the '</' of the end tag (stag_end for an empty element)
    end: int = -1  # just after the element
    children: list[int] = field(default_factory=list)

    @property
    def local(self) -> str:
        return self.qname.rsplit(":", 1)[-1]

    def attr(self, name: str) -> AttrSpan | None:
        for a in self.attrs:
            if a.name == name:
                return a
        return None

    @property
    def attrs_end(self) -> int:
        """Where a new attribute goes: after the last one, or after the name."""
        return self.attrs[-1].end if self.attrs else self.name_end


@dataclass(frozen=True)
class Encoded:
    """How to turn the edited text back into bytes exactly like the original."""

    prefix: bytes  # a byte order mark, kept as it was
    codec: str

    def encode(self, text: str) -> bytes:
        return self.prefix + text.encode(self.codec, errors="xmlcharrefreplace")


def decode(raw: bytes) -> tuple[str, Encoded]:
    """The document as text, and how to encode it back (BOM, declared encoding)."""
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if raw.startswith(bom):
            return raw[len(bom):].decode(codec), Encoded(bom, codec)
    codec = "utf-8"
    match = _DECL_ENCODING.match(raw)
    if match:
        try:
            codec = codecs.lookup(match.group(1).decode("ascii")).name
        except LookupError:
            codec = "utf-8"
    return raw.decode(codec), Encoded(b"", codec)


def _skip_doctype(text: str, pos: int) -> int:
    """From '<!DOCTYPE', past its closing '>' (internal subset included)."""
    i = pos + 9
    depth = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in "\"'":
            i = text.index(ch, i + 1) + 1
            continue
        if text.startswith("<!--", i):
            i = text.index("-->", i + 4) + 3
            continue
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == ">" and depth <= 0:
            return i + 1
        i += 1
    return n


def _start_tag(text: str, pos: int, parent: int | None, index: int) -> ElemSpan:
    m = _NAME_END.search(text, pos + 1)
    name_end = m.start() if m else len(text)
    attrs: list[AttrSpan] = []
    i = name_end
    while True:
        ws = i
        while text[i].isspace():
            i += 1
        ch = text[i]
        if ch == ">":
            return ElemSpan(text[pos + 1:name_end], pos, name_end, attrs, i + 1, False, parent, index)
        if ch == "/":
            close = text.index(">", i) + 1
            return ElemSpan(text[pos + 1:name_end], pos, name_end, attrs, close, True, parent, index)
        start = i
        eq = text.index("=", i)
        name = text[start:eq].strip()
        j = eq + 1
        while text[j].isspace():
            j += 1
        quote = text[j]
        value_end = text.index(quote, j + 1)
        attrs.append(AttrSpan(name, ws, start, j + 1, value_end, quote))
        i = value_end + 1


def scan(text: str) -> list[ElemSpan]:
    """Every element of a well-formed document, in document order."""
    elems: list[ElemSpan] = []
    stack: list[int] = []
    pos = 0
    n = len(text)
    while True:
        pos = text.find("<", pos)
        if pos < 0 or pos >= n:
            break
        if text.startswith("<!--", pos):
            pos = text.index("-->", pos + 4) + 3
        elif text.startswith("<![CDATA[", pos):
            pos = text.index("]]>", pos + 9) + 3
        elif text.startswith("<?", pos):
            pos = text.index("?>", pos + 2) + 2
        elif text.startswith("<!", pos):
            pos = _skip_doctype(text, pos)
        elif text.startswith("</", pos):
            close = text.index(">", pos) + 1
            el = elems[stack.pop()]
            el.etag_start, el.end = pos, close
            pos = close
        else:
            parent = stack[-1] if stack else None
            el = _start_tag(text, pos, parent, len(elems))
            elems.append(el)
            if parent is not None:
                elems[parent].children.append(el.index)
            if el.self_closing:
                el.etag_start = el.end = el.stag_end
            else:
                stack.append(el.index)
            pos = el.stag_end
    return elems


def line_start(text: str, pos: int) -> int:
    """The offset just after the newline that starts `pos`'s line."""
    return max(text.rfind("\n", 0, pos), text.rfind("\r", 0, pos)) + 1


def indent_of(text: str, pos: int) -> str | None:
    """The whitespace before `pos` on its line, or None when other text is there."""
    start = line_start(text, pos)
    lead = text[start:pos]
    return lead if lead.strip() == "" else None


def newline_of(text: str) -> str:
    """The document's line ending."""
    i = text.find("\n")
    if i > 0 and text[i - 1] == "\r":
        return "\r\n"
    if i < 0 and "\r" in text:
        return "\r"
    return "\n"
