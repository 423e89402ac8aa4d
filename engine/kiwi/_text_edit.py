"""Minimal edits on the text of an XML document (see engine.kiwi._text_scan).

An `Editor` collects edits (replace a range of the original text) and applies
them all at once. Element positions come from the scanner; values come from
lxml, which already decoded references. Everything not edited is copied
through unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from engine.errors import DescriptionError
from engine.kiwi._text_scan import decode, indent_of, line_start, newline_of, scan
from engine.kiwi.read import Description

Render = Callable[[str], str]
_SPECIAL = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>", re.S)


def escape_attr(value: str, quote: str = '"') -> str:
    out = value.replace("&", "&amp;").replace("<", "&lt;")
    out = out.replace("\t", "&#9;").replace("\n", "&#10;").replace("\r", "&#13;")
    return out.replace('"', "&quot;") if quote == '"' else out.replace("'", "&apos;")


def escape_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    text: str
    seq: int


class Editor:
    def __init__(self, desc: Description) -> None:
        self.source = desc.source
        self.raw = desc.raw
        self.text, self.encoded = decode(desc.raw)
        self.spans = scan(self.text)
        self.elements = [e for e in desc.doc.getroot().iter() if isinstance(e.tag, str)]
        if len(self.elements) != len(self.spans) or any(
            etree.QName(e).localname != s.local for e, s in zip(self.elements, self.spans, strict=True)
        ):
            raise DescriptionError(f"{desc.source}: cannot locate the elements in the text; not written")
        self.type_span = next(i for i, e in enumerate(self.elements) if e is desc.type_element)
        self.nl = newline_of(self.text)
        self.unit = self._indent_unit()
        self.edits: list[_Edit] = []
        self.removed: list[tuple[int, int]] = []
        self.pending: dict[int, list[Render]] = {}
        self._seq = 0

    # --- reading -------------------------------------------------------------
    def attr_value(self, el: int, name: str) -> str | None:
        return self.elements[el].get(name)

    def element_text(self, el: int) -> str:
        element = self.elements[el]
        return (element.text or "") + "".join(c.tail or "" for c in element)

    def child(self, parent: int, local: str) -> int | None:
        for c in self.spans[parent].children:
            if self.spans[c].qname == local:
                return c
        return None

    def has_comments(self, el: int) -> bool:
        span = self.spans[el]
        return bool(_SPECIAL.search(self.text, span.stag_end, span.etag_start)) if not span.self_closing else False

    def _indent_unit(self) -> str:
        order = self.spans[self.type_span].children + list(range(len(self.spans)))
        for i in order:
            span = self.spans[i]
            if span.parent is None:
                continue
            inner = indent_of(self.text, span.start)
            outer = indent_of(self.text, self.spans[span.parent].start)
            if inner is not None and outer is not None and len(inner) > len(outer) and inner.startswith(outer):
                return inner[len(outer):]
        return "    "

    # --- edits ----------------------------------------------------------------
    @staticmethod
    def _inside(start: int, end: int, a: int, b: int) -> bool:
        """True when the edit start..end falls within the removed range a..b
        (an insertion at either end of it does not)."""
        if start == end:
            return a < start < b
        return a <= start and end <= b

    def _edit(self, start: int, end: int, text: str) -> None:
        if any(self._inside(start, end, a, b) and (start, end) != (a, b) for a, b in self.removed):
            return  # inside something already removed
        self._seq += 1
        self.edits.append(_Edit(start, end, text, self._seq))

    def replace(self, start: int, end: int, text: str) -> None:
        self._edit(start, end, text)

    def insert(self, pos: int, text: str) -> None:
        self._edit(pos, pos, text)

    def set_attr(self, el: int, name: str, value: str | None) -> None:
        span = self.spans[el]
        a = span.attr(name)
        if value is None:
            if a is not None:
                self._edit(a.ws_start, a.end, "")
            return
        if a is not None:
            self._edit(a.value_start, a.value_end, escape_attr(value, a.quote))
            return
        self.insert(span.attrs_end, f'{self._attr_sep(el)}{name}="{escape_attr(value)}"')

    def replace_attr(self, el: int, name: str, pairs: dict[str, str]) -> None:
        """Replace attribute `name` by others, where it stands."""
        a = self.spans[el].attr(name)
        if a is None:
            return
        sep = self.text[a.ws_start:a.start]
        text = sep.join(f'{k}="{escape_attr(v)}"' for k, v in pairs.items())
        self._edit(a.start, a.end, text)

    def _attr_sep(self, el: int) -> str:
        attrs = self.spans[el].attrs
        if attrs:
            lead = self.text[attrs[-1].ws_start:attrs[-1].start]
            if "\n" in lead or "\r" in lead:
                return lead
        return " "

    def set_text(self, el: int, value: str, *, keep_blanks: bool = True) -> None:
        """Replace the text of a simple element, keeping comments in it and,
        with `keep_blanks` (for values whose blanks do not count: numbers,
        booleans), the whitespace around the old value."""
        span = self.spans[el]
        if span.self_closing:
            self._edit(span.attrs_end, span.stag_end, f">{escape_text(value)}</{span.qname}>")
            return
        if not keep_blanks and not _SPECIAL.search(self.text, span.stag_end, span.etag_start):
            self._edit(span.stag_end, span.etag_start, escape_text(value))
            return
        pos = span.stag_end
        for match in [*_SPECIAL.finditer(self.text, span.stag_end, span.etag_start), None]:
            stop = match.start() if match else span.etag_start
            chunk = self.text[pos:stop]
            if chunk.strip():
                start, end = pos, stop
                if keep_blanks:
                    start, end = pos + len(chunk) - len(chunk.lstrip()), pos + len(chunk.rstrip())
                self._edit(start, end, escape_text(value))
                return
            if match is None:
                break
            pos = match.end()
        # only blanks, or the value sits in CDATA: replace the content whole
        self._edit(span.stag_end, span.etag_start, escape_text(value))

    def remove(self, el: int) -> None:
        """Remove an element, and its line when it stands alone on it."""
        span = self.spans[el]
        start = span.start
        if indent_of(self.text, start) is not None:
            ls = line_start(self.text, start)
            if ls > 0:
                start = ls - (2 if self.text[ls - 2:ls] == "\r\n" else 1)
        self.edits = [e for e in self.edits if not self._inside(e.start, e.end, start, span.end)]
        self.removed.append((start, span.end))
        self._edit(start, span.end, "")

    def insert_after(self, el: int, renders: list[Render]) -> None:
        span = self.spans[el]
        ind = indent_of(self.text, span.start)
        if ind is None:
            self.insert(span.end, "".join(r("") for r in renders))
        else:
            self.insert(span.end, "".join(self.nl + ind + r(ind) for r in renders))

    def insert_before(self, el: int, renders: list[Render]) -> None:
        span = self.spans[el]
        ind = indent_of(self.text, span.start)
        if ind is None:
            self.insert(span.start, "".join(r("") for r in renders))
        else:
            self.insert(line_start(self.text, span.start), "".join(ind + r(ind) + self.nl for r in renders))

    def add_child(self, parent: int, render: Render) -> None:
        """Append a new child element to `parent` (done by `flush`)."""
        self.pending.setdefault(parent, []).append(render)

    def flush(self) -> None:
        for parent, renders in self.pending.items():
            span = self.spans[parent]
            if span.children:
                self.insert_after(span.children[-1], renders)
                continue
            pind = indent_of(self.text, span.start) or ""
            cind = pind + self.unit
            body = "".join(self.nl + cind + r(cind) for r in renders)
            if span.self_closing:
                self.replace(span.attrs_end, span.stag_end, f">{body}{self.nl}{pind}</{span.qname}>")
                continue
            content = self.text[span.stag_end:span.etag_start]
            if not content.strip():
                self.replace(span.stag_end, span.etag_start, body + self.nl + pind)
            else:
                self.insert(span.etag_start - (len(content) - len(content.rstrip())), body)
        self.pending = {}

    def sync_list(
        self,
        box: int,
        items: list[int],
        old_keys: list[str],
        new_keys: list[str],
        edit: Callable[[int, int], None],
        render: Callable[[int], Render],
    ) -> None:
        """Turn the child elements `items` (keyed `old_keys`) into `new_keys`:
        matched items are edited in place (`edit(i, j)`), others removed or
        rendered (`render(j)`). Items match by key, then leftovers in order
        (a rename). When the order changes, the edited items are moved."""
        used: set[int] = set()
        pairs: dict[int, int] = {}
        for j, key in enumerate(new_keys):
            for i, old in enumerate(old_keys):
                if i not in used and old == key:
                    pairs[j] = i
                    used.add(i)
                    break
        spare_old = [i for i in range(len(old_keys)) if i not in used]
        spare_new = [j for j in range(len(new_keys)) if j not in pairs]
        for i, j in zip(spare_old, spare_new, strict=False):
            pairs[j] = i
            used.add(i)
        order = [pairs[j] for j in sorted(pairs)]
        if order == sorted(order):
            self._sync_in_place(box, items, len(new_keys), pairs, edit, render)
        else:
            self._sync_moved(items, len(new_keys), pairs, edit, render)

    def _sync_in_place(
        self, box: int, items: list[int], count: int, pairs: dict[int, int],
        edit: Callable[[int, int], None], render: Callable[[int], Render],
    ) -> None:
        for j, i in pairs.items():
            edit(i, j)
        for i, item in enumerate(items):
            if i not in pairs.values():
                self.remove(item)
        anchor: int | None = None  # the item new ones go after
        waiting: list[Render] = []  # new ones before the first kept item
        after: dict[int, list[Render]] = {}
        for j in range(count):
            if j in pairs:
                anchor = items[pairs[j]]
            elif anchor is None:
                waiting.append(render(j))
            else:
                after.setdefault(anchor, []).append(render(j))
        if waiting:
            kept = [items[i] for i in sorted(pairs.values())]
            if kept:
                self.insert_before(kept[0], waiting)
            elif items:
                self.insert_after(items[-1], waiting)
            else:
                for r in waiting:
                    self.add_child(box, r)
        for el, renders in after.items():
            self.insert_after(el, renders)

    def _sync_moved(
        self, items: list[int], count: int, pairs: dict[int, int],
        edit: Callable[[int, int], None], render: Callable[[int], Render],
    ) -> None:
        texts: list[str] = []
        for j in range(count):
            if j not in pairs:
                span = self.spans[items[min(j, len(items) - 1)]]
                ind = indent_of(self.text, span.start) or ""
                texts.append(render(j)(ind))
                continue
            span = self.spans[items[pairs[j]]]
            mark = len(self.edits)
            edit(pairs[j], j)
            inner = sorted(self.edits[mark:], key=lambda e: (e.start, e.end, e.seq))
            del self.edits[mark:]
            texts.append(self._apply(self.text, inner, span.start, span.end))
        for slot, item in enumerate(items):
            span = self.spans[item]
            if slot < count:
                self.replace(span.start, span.end, texts[slot])
            else:
                self.remove(item)
        if count > len(items):
            last = self.spans[items[-1]]
            last_ind = indent_of(self.text, last.start)
            extra = texts[len(items):]
            joined = "".join(self.nl + last_ind + t for t in extra) if last_ind is not None else "".join(extra)
            self.insert(last.end, joined)

    # --- result ---------------------------------------------------------------
    def _apply(self, text: str, edits: list[_Edit], start: int, end: int) -> str:
        out: list[str] = []
        pos = start
        for e in edits:
            if e.start < pos:
                raise DescriptionError(f"{self.source}: overlapping edits at offset {e.start}; not written")
            out.append(text[pos:e.start])
            out.append(e.text)
            pos = e.end
        out.append(text[pos:end])
        return "".join(out)

    def result(self) -> bytes:
        self.flush()
        edits = sorted(self.edits, key=lambda e: (e.start, e.end, e.seq))
        return self.encoded.encode(self._apply(self.text, edits, 0, len(self.text)))
