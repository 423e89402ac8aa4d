"""For any layout the planner accepts, every target either exports or says
why with an error; an export names each slot of every class exactly once;
and RAUC itself loads every system.conf."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from engine.layout.model import Layout
from engine.plan.planner import plan
from engine.targets import TARGETS, Naming, TargetExport
from engine.targets.slots import all_slots, slot_classes
from tests.support.layouts import layouts
from tests.support.targets import export, need, rauc_load_error

NAMING = Naming("disk", "/dev/vdz")


def _count(ex: TargetExport, pattern: str) -> int:
    return sum(len(re.findall(pattern, f.text, flags=re.M)) for f in ex.files)


def _named_once(ex: TargetExport, device: str, name: str | None) -> bool:
    dev = re.escape(device)
    if ex.target == "rauc":
        return _count(ex, rf"^device={dev}$") == 1
    if ex.target == "swupdate":
        return _count(ex, rf'^\s*device = "{dev}";$') == 1
    if ex.target == "repart":
        return _count(ex, rf"^Label={re.escape(name or '')}$") == 1
    if ex.target == "sysupdate":
        return _count(ex, rf"[ ,]{re.escape(name or '')} \(partition") == 1
    return True  # mender: checked below (exactly A and B)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts())
def test_every_target_exports_or_refuses_and_names_each_slot_once(layout: Layout) -> None:
    need("rauc")
    p = plan(layout)
    if not p.ok:
        return
    classes = slot_classes(p, NAMING)
    for target in TARGETS:
        ex = export(p, target, NAMING)
        if not ex.ok:
            assert ex.errors and not ex.files, target
            continue
        assert ex.files, target
        if target == "repart":
            assert len(ex.files) == len(p.entries)
            continue
        for cls in classes:
            if target == "sysupdate" and cls.name not in ("rootfs", "boot"):
                continue
            for s in cls.slots:
                assert _named_once(ex, s.device, s.entry.name), (target, s.name)
        if target == "mender":
            conf = ex.file("mender.conf")
            assert conf is not None
            root = [c for c in classes if c.name == "rootfs"][0]
            assert [s.device for s in root.slots] == re.findall(r'"(/dev/[^"]+)"', conf.text)
        if target == "rauc":
            assert _count(ex, r"^\[slot\.") == len(all_slots(classes))
            with tempfile.TemporaryDirectory() as tmp:
                conf_path = Path(tmp) / "system.conf"
                conf_path.write_text(ex.files[0].text)
                assert rauc_load_error(conf_path) is None
