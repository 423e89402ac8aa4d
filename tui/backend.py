"""The engine functions the designer calls for files and builds.

The XML reader, writer and exporter are plain engine calls. The image engine
is loaded when a build starts: it needs pyparted, and the designer stays
usable (and says why) when it cannot be loaded.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.kiwi.export import description_bytes
from engine.kiwi.read import Description, load, loads
from engine.kiwi.write import save, to_bytes, write_atomic
from engine.layout.example import EXAMPLE_TYPE_XML
from engine.layout.model import Layout

__all__ = ["NotAvailable", "build_steps", "builder", "example_description", "export_bytes",
           "load", "reload", "save", "write_atomic", "xml_bytes"]


class NotAvailable(Exception):
    """An engine piece that cannot be loaded here (one line for the user)."""


def example_description() -> Description | None:
    """The built-in example as a (bare `<type>`) Description, the base for its XML."""
    try:
        return loads(EXAMPLE_TYPE_XML, source="<example>")
    except Exception:  # noqa: BLE001 - the example stays editable without its XML
        return None


def xml_bytes(description: Description | None, layout: Layout) -> bytes:
    """The bytes a save would write: the file's description with `layout`
    applied (lossless); for the built-in example, the full description its
    first save (and `partwright example`) writes."""
    if description is not None and description.path is not None:
        return to_bytes(description, layout)
    return export_bytes(layout, description)


def export_bytes(layout: Layout, description: Description | None = None) -> bytes:
    """What `partwright export` writes for `layout` (engine.kiwi.export.description_bytes)."""
    if description is None:
        from engine.kiwi.export import export

        return export(layout, name="partwright-image")
    name = "partition-clones-example" if description.path is None else "partwright-image"
    return description_bytes(description, layout, name=name)


def reload(path: str | Path, profile: str | None = None) -> Description | None:
    try:
        return load(path, profile=profile)
    except Exception:  # noqa: BLE001 - the file was written; reading it back is a bonus
        return None


def builder() -> Callable[..., Any]:
    """engine.image.build.build; NotAvailable (saying why) when it cannot be loaded."""
    try:
        module = importlib.import_module("engine.image.build")
    except ImportError as exc:
        raise NotAvailable(f"the image engine (engine.image.build) cannot be loaded: {exc}") from None
    func = getattr(module, "build", None)
    if not callable(func):
        raise NotAvailable("the image engine (engine.image.build.build) is not available yet")
    return func  # type: ignore[no-any-return]


def build_steps() -> tuple[str, ...]:
    """The build's steps in order, as the engine reports them to `progress`."""
    try:
        from engine.image.build import STEPS
    except ImportError:
        return ()
    return tuple(STEPS)
