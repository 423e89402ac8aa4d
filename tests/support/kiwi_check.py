"""KIWI's own validation, for the tests of engine.kiwi.read and engine.export.

KIWI (PyPI `kiwi`, GPL-3.0) is a test-only dependency: engine/ never imports
it. `kiwi_state(path)` runs `kiwi.xml_description.XMLDescription(path).load()`
(RelaxNG plus ISO-schematron, KIWI's version conversions) and returns
`kiwi.xml_state.XMLState` for the description. KIWI compiles its schematron
on every load (about 0.5 s); here the compiled schematron of the same schema
file is reused, so a validation costs about 0.05 s. The validation itself is
KIWI's, unchanged.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_CACHE: dict[tuple[Any, ...], Any] = {}


@contextlib.contextmanager
def _cached_schematron() -> Iterator[None]:
    from lxml import isoschematron

    real = isoschematron.Schematron

    def cached(schema_doc: Any, **kwargs: Any) -> Any:
        key = (schema_doc.docinfo.URL, tuple(sorted(kwargs.items())))
        if key not in _CACHE:
            _CACHE[key] = real(schema_doc, **kwargs)
        return _CACHE[key]

    isoschematron.Schematron = cached  # type: ignore[assignment,misc]
    try:
        yield
    finally:
        isoschematron.Schematron = real  # type: ignore[misc]


def kiwi_state(path: Path, profiles: list[str] | None = None) -> Any:
    """KIWI's XMLState for the description at `path`; KIWI's exception when
    KIWI refuses it. Skips the test when KIWI is not installed."""
    pytest.importorskip("kiwi", reason="KIWI (pip install kiwi==11.1.6) is a test-only dependency")
    from kiwi.xml_description import XMLDescription
    from kiwi.xml_state import XMLState

    logging.getLogger("kiwi").setLevel(logging.WARNING)
    with _cached_schematron():
        data = XMLDescription(str(path)).load()
    return XMLState(data, profiles=profiles or None)


def kiwi_refusal(path: Path) -> str | None:
    """Why KIWI's schema or schematron refuses `path` (None when it accepts):
    the first RelaxNG error or schematron message."""
    pytest.importorskip("kiwi")
    from kiwi.defaults import Defaults
    from lxml import etree, isoschematron

    schema = etree.parse(Defaults.get_schema_file())
    doc = etree.parse(str(path))
    rng = etree.RelaxNG(schema)
    if not rng.validate(doc):
        return str(rng.error_log.last_error)
    with _cached_schematron():
        sch = isoschematron.Schematron(schema, store_report=True)
    if not sch.validate(doc):
        texts = sch.validation_report.iter("{http://purl.oclc.org/dsdl/svrl}text")
        return "; ".join(t.text or "" for t in texts)
    return None


def kiwi_layout_facts(state: Any) -> dict[str, Any]:
    """The values the tests compare: clones, partitions, systemsize, firmware, size."""
    parts = state.get_partitions()
    size = state.get_build_type_size(include_unpartitioned=True)
    return {
        "root_clone": int(state.build_type.get_root_clone() or 0),
        "boot_clone": int(state.build_type.get_boot_clone() or 0),
        "partitions": {name: (p.mbsize, int(p.clone or 0)) for name, p in parts.items()},
        "oem_systemsize": state.get_oemconfig_oem_systemsize(),
        "firmware": state.build_type.get_firmware(),
        "size_mb": size.mbytes if size else None,
    }


def layout_facts(layout: Any) -> dict[str, Any]:
    """The same values from a partwright Layout (KIWI's defaults applied)."""
    return {
        "root_clone": layout.root_clone,
        "boot_clone": layout.boot_clone,
        "partitions": {p.name: (p.size_mb, p.clone) for p in layout.partitions},
        "oem_systemsize": layout.oem_systemsize or 0,
        "firmware": layout.firmware,
        "size_mb": layout.size_mb,
    }
