"""The engine functions the designer calls for files and builds, found lazily.

The XML writer and the image engine are separate pieces of the engine; the
designer works without them and says so clearly when one is missing. Every
lookup is done at call time, so a writer that lands later is used at once.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.layout import Layout

WRITER_MODULES = ("engine.description_write", "engine.description", "engine.export")


class NotAvailable(Exception):
    """An engine piece that has not landed yet (one line for the user)."""


def _find(name: str, modules: tuple[str, ...] = WRITER_MODULES) -> Callable[..., Any] | None:
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        func = getattr(module, name, None)
        if callable(func):
            return func  # type: ignore[no-any-return]
    return None


def load(path: str | Path, profile: str | None = None) -> Any:
    """The Description of FILE (engine.description.load)."""
    from engine.description import load as load_description

    return load_description(path, profile=profile)


def example_description() -> Any | None:
    """The built-in example as a (bare `<type>`) Description, the base for its XML."""
    from engine.description import loads
    from engine.example import EXAMPLE_TYPE_XML

    try:
        return loads(EXAMPLE_TYPE_XML, source="<example>")
    except Exception:  # noqa: BLE001 - the example stays editable without its XML
        return None


def xml_bytes(description: Any | None, layout: Layout) -> bytes:
    """The bytes a save would write: the description with `layout` applied;
    for the built-in example, the full description `export` writes."""
    if description is not None and description.path is not None:
        to_bytes = _find("to_bytes")
        if to_bytes is None:
            raise NotAvailable("the XML writer (engine.description_write.to_bytes) is not available yet")
        return to_bytes(description, layout)  # type: ignore[no-any-return]
    return export_bytes(layout, description)


def export_bytes(layout: Layout, description: Any | None = None) -> bytes:
    """A full KIWI description of `layout` (engine `export`), or the
    description it came from with `layout` applied when there is no export."""
    export = _find("export")
    if export is not None:
        return export(layout)  # type: ignore[no-any-return]
    to_bytes = _find("to_bytes")
    if to_bytes is not None and description is not None:
        return to_bytes(description, layout)  # type: ignore[no-any-return]
    raise NotAvailable("the XML writer (engine.description_write) is not available yet")


def write_atomic(path: str | Path, data: bytes) -> None:
    func = _find("write_atomic")
    if func is None:
        raise NotAvailable("atomic writing (engine.description_write.write_atomic) is not available yet")
    func(path, data)


def save(description: Any, layout: Layout, path: str | Path) -> Any:
    """Write `layout` onto `description` at `path`, atomically; the new base."""
    func = _find("save")
    if func is None:
        raise NotAvailable("saving (engine.description_write.save) is not available yet")
    return func(description, layout, path)


def reload(path: str | Path, profile: str | None = None) -> Any | None:
    try:
        return load(path, profile)
    except Exception:  # noqa: BLE001 - the file was written; reading it back is a bonus
        return None


def builder() -> Callable[..., Any] | None:
    """engine.image.build, when the image engine has landed."""
    try:
        module = importlib.import_module("engine.image")
    except ImportError:
        return None
    func = getattr(module, "build", None)
    return func if callable(func) else None
