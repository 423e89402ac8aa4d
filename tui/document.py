"""The description the designer edits, as a file: where it is, what was read
from it, and the writes (save back, save as, export) and the reload.

A `Document` holds the `Description` the Layout came from (the base of every
lossless save), its path (None for the built-in example) and the SHA-256 of
the bytes on disk as last read or written. Before a save writes over the
file it compares the file's content with that digest, so a change made by
someone else meanwhile is noticed (by content: a tool that rewrites the same
bytes, or only touches the file, changes nothing). No Textual here: the app
owns one Document and asks the user what to do around it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from engine.errors import DescriptionError, PartwrightError
from engine.kiwi.export import description_bytes, export
from engine.kiwi.read import Description, list_types, load, loads
from engine.kiwi.write import to_bytes, write_atomic
from engine.layout.example import EXAMPLE_TYPE_XML
from engine.layout.model import Layout

EXAMPLE_NAME = "partition-clones-example"  # the image name of the example's full description
IMAGE_NAME = "partwright-image"  # the image name when a bare <type> becomes a full description
_CHUNK = 1 << 20

_LUKS_ATTR = re.compile(r"""(\bluks\s*=\s*)(["'])(.*?)\2""", re.S)


def mask_secrets(xml: str) -> str:
    """The XML as shown on screen: a luks passphrase is never displayed
    (a key file reference, file://..., is)."""
    def mask(m: re.Match[str]) -> str:
        value = m.group(3)
        shown = value if value.startswith("file://") or not value else "\u2022" * 8
        return f"{m.group(1)}{m.group(2)}{shown}{m.group(2)}"
    return _LUKS_ATTR.sub(mask, xml)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_digest(path: Path) -> str | None:
    """The SHA-256 of the file's content (read in chunks), None when it is gone."""
    sha = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                sha.update(chunk)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DescriptionError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return sha.hexdigest()


def _example() -> Description | None:
    try:
        return loads(EXAMPLE_TYPE_XML, source="<example>")
    except PartwrightError:  # the example stays editable without its XML
        return None


class Document:
    """The file behind the designer (see the module docstring)."""

    def __init__(self, description: Description | None, path: Path | None = None,
                 profile: str | None = None) -> None:
        self.description = description
        self.path = path
        self.profile = profile
        # the content on disk as last read or written; None: not on disk (yet)
        self.on_disk: str | None = None
        self._details: tuple[Description | None, str] = (None, "")
        if path is not None and description is not None and description.path is not None:
            self.on_disk = _digest(description.raw)

    @classmethod
    def example(cls) -> Document:
        """The built-in example: no file until the first save asks for one."""
        return cls(_example())

    @classmethod
    def open(cls, path: str | Path, profile: str | None = None) -> Document:
        """The description at `path` (DescriptionError when it cannot be read)."""
        return cls(load(path, profile=profile), Path(path), profile)

    @classmethod
    def open_or_new(cls, path: str | Path, profile: str | None = None) -> Document:
        """The description at `path`, or a new one when nothing is there yet (its
        directory must exist)."""
        target = Path(path)
        if target.exists() or target.is_symlink():
            return cls.open(target, profile)
        if not target.parent.is_dir():
            raise DescriptionError(f"{path}: no such file, and the directory {target.parent}"
                                   " for a new one does not exist")
        if profile is not None:
            raise DescriptionError(f"{path}: does not exist yet; a new description has no"
                                   f" profile {profile}")
        return cls.new(target)

    @classmethod
    def new(cls, path: str | Path) -> Document:
        """A new description at `path` (not written yet), starting from the example."""
        return cls(_example(), Path(path))

    # --- what it is ----------------------------------------------------------
    @property
    def is_new(self) -> bool:
        """A path to write that holds nothing of ours yet."""
        return self.path is not None and self.on_disk is None

    @property
    def name(self) -> str:
        return self.path.name if self.path is not None else "example"

    @property
    def where(self) -> str:
        return str(self.path.parent) if self.path is not None else "built-in"

    @property
    def details(self) -> str:
        """What the title says besides the name: the profile and the `<type>`
        the designer edits (for a full description), or that the file is new."""
        desc = self.description
        if self.is_new:
            return "new"
        if desc is None or desc.path is None or desc.bare:
            return ""
        if self._details[0] is not desc:  # the title asks on every edit: once a description
            self._details = (desc, self._describe(desc))
        return self._details[1]

    @staticmethod
    def _describe(desc: Description) -> str:
        parts = [f"profile {', '.join(desc.profiles)}"] if desc.profiles else []
        count = len(list_types(desc))
        image = desc.layout.image
        parts.append(f"type {desc.type_index + 1} of {count} ({image})" if count > 1
                     else f"type {image}")
        return " · ".join(parts)

    @property
    def _lossless(self) -> bool:
        """Saves apply the layout to the file's own text (not a new description)."""
        return self.description is not None and self.description.path is not None

    # --- bytes -----------------------------------------------------------------
    def xml_bytes(self, layout: Layout) -> bytes:
        """The bytes a save would write: the file with `layout` applied
        (lossless), or for the example and a new file the full description."""
        if self._lossless:
            assert self.description is not None
            return to_bytes(self.description, layout)
        return self.export_bytes(layout)

    def export_bytes(self, layout: Layout, target: Path | None = None) -> bytes:
        """What `partwright export` writes for `layout` from this description
        (a refusal names `target`, the file it would have written)."""
        desc = self.description
        where = None if target is None else str(target)
        if desc is None:
            return export(layout, name=IMAGE_NAME, source=where or "export")
        return description_bytes(desc, layout, name=IMAGE_NAME if desc.path else EXAMPLE_NAME,
                                 target=where)

    def xml_text(self, layout: Layout) -> tuple[str, bool]:
        """The XML a save would write, secrets masked, or why there is none (text, ok)."""
        try:
            data = self.xml_bytes(layout)
        except PartwrightError as exc:
            return f"This layout cannot be written yet: {exc.message}", False
        return mask_secrets(data.decode("utf-8", errors="replace")), True

    # --- the file on disk ------------------------------------------------------
    def changed_on_disk(self) -> bool:
        """Whether the file's content differs from what was last read or written
        (a file that appeared at a new path counts; one that vanished does not)."""
        if self.path is None:
            return False
        now = file_digest(self.path)
        return now is not None and now != self.on_disk

    def save(self, layout: Layout) -> None:
        """Write `layout` to the document's file (atomic); the caller has
        checked `changed_on_disk` and asked the user when it is."""
        assert self.path is not None, "the example has no file: save_as"
        if not self._lossless:
            self.save_as(self.path, layout)
            return
        data = self.xml_bytes(layout)
        write_atomic(self.path, data)
        assert self.description is not None
        index = None if self.description.bare else self.description.type_index
        self.description = loads(data, source=str(self.path), type_index=index, arch=layout.arch)
        self.on_disk = _digest(data)

    def save_as(self, path: Path, layout: Layout) -> None:
        """Write the full description to `path`; it becomes the document's file."""
        data = self._write_new(path, layout)
        self.path = path
        try:
            self.description = load(path)
        except PartwrightError:
            pass  # written; the next save writes the full description again
        self.on_disk = _digest(data)

    def export(self, path: Path, layout: Layout) -> None:
        """Write the full description to `path`; the document's file stays."""
        self._write_new(path, layout)

    def reload(self) -> Layout:
        """Read the file again (DescriptionError when it cannot be read)."""
        assert self.path is not None
        self.description = load(self.path, profile=self.profile)
        self.on_disk = _digest(self.description.raw)
        return self.description.layout

    def _write_new(self, path: Path, layout: Layout) -> bytes:
        data = self.export_bytes(layout, target=path)
        write_atomic(path, data)
        return data
