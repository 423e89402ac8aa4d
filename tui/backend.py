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

WRITER_MODULES = ("engine.description_write", "engine.description")


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
    """The bytes a save would write: the file's description with `layout`
    applied (engine.description_write.to_bytes, lossless); for the built-in
    example, the full description its first save (and `partwright example`) writes."""
    if description is not None and description.path is not None:
        to_bytes = _find("to_bytes")
        if to_bytes is None:
            raise NotAvailable("the XML writer (engine.description_write.to_bytes) is not available yet")
        return to_bytes(description, layout)  # type: ignore[no-any-return]
    return export_bytes(layout, description)


def export_bytes(layout: Layout, description: Any | None = None) -> bytes:
    """What `partwright export` writes: a full `<image>` description keeps its
    document (the layout applied losslessly); a bare `<type>` (and the
    example) becomes a complete description around that type."""
    if description is not None and not description.bare:
        refuse, name_problems = _find("refuse"), _find("name_problems")
        to_bytes = _find("to_bytes")
        if to_bytes is None or refuse is None or name_problems is None:
            raise NotAvailable("the XML writer (engine.description_write) is not available yet")
        refuse(description.source, name_problems(layout))
        return to_bytes(description, layout)  # type: ignore[no-any-return]
    export = _find("export", ("engine.export",))
    if export is None:
        raise NotAvailable("the exporter (engine.export.export) is not available yet")
    name = "partition-clones-example" if description is not None and description.path is None \
        else "partwright-image"
    return export(layout, name=name, base=description)  # type: ignore[no-any-return]


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
