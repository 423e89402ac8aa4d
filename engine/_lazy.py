"""A package's public names, loaded on first use (PEP 562).

`engine`, `engine.kiwi`, `engine.plan`, `engine.layout` and `engine.cow`
each name, in a table, the module every public name comes from, and get
their module `__getattr__` from `lazy_getattr`: `import engine.plan.model`
then runs no other module of the package, and a command loads only what
it uses. Built-in modules only, nothing of the engine: every package may
use it.
"""

from __future__ import annotations

import importlib
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping
    from typing import Any


def lazy_getattr(package: str, where: Mapping[str, str],
                 modules: Collection[str] = ()) -> Callable[[str], Any]:
    """The module `__getattr__` of `package`: a name of `where` is taken from
    the module `where` gives for it, a name of `modules` is that submodule of
    the package; either is then kept in the package's namespace, so it is
    looked up once. Any other name is an AttributeError (so `from package
    import submodule` still imports the submodule)."""
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        if name in where:
            value = getattr(importlib.import_module(where[name]), name)
        elif name in modules:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value
        return value

    return __getattr__
