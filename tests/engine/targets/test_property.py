"""For any layout the planner accepts, every target either exports or says
why with an error; an export names each slot of every class exactly once;
and RAUC itself loads every system.conf. Half the layouts are shaped for
Mender (one root clone, no boot clones, a /data partition), so Mender's
exports are exercised too, not only its refusals."""

from __future__ import annotations

import re
import tempfile
from dataclasses import replace
from pathlib import Path

from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from engine.layout.model import Layout, Partition
from engine.plan.planner import plan
from engine.targets import TARGETS, Naming, TargetExport
from engine.targets.slots import all_slots, slot_classes
from tests.support.layouts import layouts
from tests.support.targets import export, need, rauc_load_error

NAMING = Naming("disk", "/dev/vdz")


@st.composite
def target_layouts(draw: st.DrawFn) -> Layout:
    """layouts(), or one shaped for Mender: mostly one root clone and no boot
    clones, a sized root (oem-systemsize, no resize: KIWI's way to clone a
    root beside custom partitions), and a /data partition anywhere in the
    table (cloned now and then, which Mender refuses)."""
    layout = draw(layouts())
    if draw(st.booleans()):
        return layout
    data = Partition("data", draw(st.integers(16, 600)), "/data",
                     draw(st.sampled_from(["ext4", "ext4", "xfs"])),
                     clone=draw(st.sampled_from([0, 0, 0, 1])))
    others = tuple(p for p in layout.partitions if p.name != "data")
    at = draw(st.integers(0, len(others)))
    return replace(layout, partitions=(*others[:at], data, *others[at:]),
                   root_clone=draw(st.sampled_from([1, 1, 1, 2])),
                   boot_clone=draw(st.sampled_from([0, 0, 0, 1])),
                   oem_systemsize=draw(st.sampled_from([1024, 2048])), oem_resize=False,
                   efiparttable=draw(st.sampled_from([None, None, None, "msdos"])))


def _mender_exports(layout: Layout) -> bool:
    p = plan(layout)
    return p.ok and export(p, "mender", NAMING).ok


def test_the_strategy_reaches_mender_exports_and_refusals() -> None:
    assert _mender_exports(find(target_layouts(), _mender_exports))
    refused = find(target_layouts(), lambda lay: plan(lay).ok and any(
        p.name == "data" and p.mountpoint == "/data" for p in lay.partitions)
        and not _mender_exports(lay))
    assert not _mender_exports(refused)


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
@given(target_layouts())
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
            conf, variables = ex.file("mender.conf"), ex.file("mender-variables.sh")
            assert conf is not None and variables is not None
            root = [c for c in classes if c.name == "rootfs"][0]
            assert [s.device for s in root.slots] == re.findall(r'"(/dev/[^"]+)"', conf.text)
            named = dict(re.findall(r'^(MENDER_\w+)="([^"]*)"$', variables.text, flags=re.M))
            assert [named["MENDER_ROOTFS_PART_A"], named["MENDER_ROOTFS_PART_B"]] == [
                s.device for s in root.slots]
            data = [e for e in p.entries if e.mountpoint == "/data" and not e.is_clone]
            assert len(data) == 1 and not p.clones_of(data[0].key)
            assert named["MENDER_DATA_PART_NUMBER"] == str(data[0].number)
            assert named["MENDER_DATA_PART"] not in (s.device for s in root.slots)
        if target == "rauc":
            assert _count(ex, r"^\[slot\.") == len(all_slots(classes))
            with tempfile.TemporaryDirectory() as tmp:
                conf_path = Path(tmp) / "system.conf"
                conf_path.write_text(ex.files[0].text)
                assert rauc_load_error(conf_path) is None
