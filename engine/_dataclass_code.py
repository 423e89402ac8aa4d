"""The compiled methods of the dataclasses of partwright, kept between runs.

Making a dataclass writes the source of its `__init__`, `__repr__`,
`__eq__`, `__hash__` (and, frozen, `__setattr__` and `__delattr__`) and
compiles it: for the Layout, the Plan and the planner's records, about a
third of the time `partwright preview` spent in Python before this cache.
That source depends only on the class's fields and options, so its compiled
code is kept as a module's bytecode is: in `engine/__pycache__`, keyed by
the exact source text, for this interpreter (its version and optimisation
level), written only where bytecode would be written (not under `-B` or
PYTHONDONTWRITEBYTECODE), atomically, and ignored when it cannot be read.
`dataclasses` still writes every source and makes every class; only the
compiling is looked up, so a class is the same with the cache, without it
and with a stale one. Classes of other packages (textual, rich) are
compiled as ever, and not kept.
"""

from __future__ import annotations

import builtins
import dataclasses
import marshal
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PACKAGES = ("engine", "tui", "partwright")  # whose classes are kept
MAX_ENTRIES = 2000  # past this, a write keeps only what the writing process used
# the interpreter the code was compiled by (a marshalled code object is only
# good for the version that wrote it) and its optimisation level
STAMP = f"{sys.version}|{sys.implementation.cache_tag}|{sys.flags.optimize}"


def default_path() -> str | None:
    """Where the cache lives, as importlib puts engine's bytecode:
    `engine/__pycache__/`, or under sys.pycache_prefix."""
    tag = sys.implementation.cache_tag
    if tag is None:
        return None
    here = os.path.dirname(os.path.abspath(__file__))
    name = f"dataclass-code.{tag}.marshal"
    if sys.pycache_prefix:
        return os.path.join(sys.pycache_prefix, here.lstrip(os.sep), name)
    return os.path.join(here, "__pycache__", name)


class CodeCache:
    """Compiled code by source text, read from `path` when first needed and
    written back at exit when something new was compiled and `write` holds."""

    def __init__(self, path: str | None, write: bool,
                 packages: tuple[str, ...] = PACKAGES) -> None:
        self.path = path
        self.packages = packages
        self.write = write and path is not None
        self.code: dict[str, Any] | None = None  # read on first use
        self.used: set[str] = set()
        self.compiled = 0  # sources compiled here (not found in the cache)

    def _load(self) -> dict[str, Any]:
        code: dict[str, Any] = {}
        if self.path is not None:
            try:
                with open(self.path, "rb") as fh:
                    stamp, table = marshal.loads(fh.read())
                if stamp == STAMP and isinstance(table, dict):
                    code = table
            except (OSError, EOFError, ValueError, TypeError):
                pass  # no cache, another interpreter's, or damaged: compile
        return code

    def lookup(self, source: str) -> Any:
        """The code object of `source`, compiled as `exec(source)` in the
        dataclasses module would compile it (no future flags)."""
        if self.code is None:
            self.code = self._load()
        self.used.add(source)
        code = self.code.get(source)
        if code is None:
            code = compile(source, "<string>", "exec", dont_inherit=True)
            self.code[source] = code
            if self.compiled == 0 and self.write:
                import atexit

                atexit.register(self.save)
            self.compiled += 1
        return code

    def save(self) -> None:
        """Write the cache (atomically; any failure leaves it as it was)."""
        if not self.write or self.path is None or self.code is None:
            return
        table = self.code
        if len(table) > MAX_ENTRIES:
            table = {k: v for k, v in table.items() if k in self.used}
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(marshal.dumps((STAMP, table)))
            os.replace(tmp, self.path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def exec(self, source: Any, globals: Any = None, locals: Any = None, /) -> None:
        """`exec` for the dataclasses module: a source string for a class of
        one of `packages` is run from its cached code, anything else as given
        (without globals, in the caller's namespace, as the built-in does)."""
        if globals is None:
            frame = sys._getframe(1)
            globals = frame.f_globals
            locals = frame.f_locals if locals is None else locals
        elif isinstance(source, str) and isinstance(globals, dict) \
                and str(globals.get("__name__", "")).partition(".")[0] in self.packages:
            source = self.lookup(source)
        builtins.exec(source, globals, locals)


CACHE = CodeCache(default_path(), write=not sys.dont_write_bytecode)


def install(cache: CodeCache = CACHE) -> None:
    """Have `dataclasses` compile through `cache` (its `exec` calls find this
    module-level name before the built-in one)."""
    setattr(dataclasses, "exec", cache.exec)  # noqa: B010
