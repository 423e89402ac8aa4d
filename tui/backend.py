"""The image engine, loaded when a build starts: it needs pyparted, and the
designer stays usable (and says why) when it cannot be loaded."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["NotAvailable", "build_steps", "builder"]


class NotAvailable(Exception):
    """An engine piece that cannot be loaded here (one line for the user)."""


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
