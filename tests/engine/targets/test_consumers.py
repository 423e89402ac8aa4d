"""Each export, read by the software that uses it: RAUC 1.8, SWUpdate
2022.12, mender-artifact and the Mender client 3.4, systemd-repart 252 and
GRUB's own script checker (all Debian 12 packages that make installs)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.plan.planner import plan
from engine.targets import Naming
from engine.targets.rauc_conf import check_text
from engine.targets.slots import slot_classes, type_guid
from tests.support.targets import (
    MENDER_LAYOUT,
    export,
    make_swu,
    need,
    rauc_load_error,
    run,
    seed_plan,
    sfdisk_json,
    signing_key,
    swupdate,
    swupdate_ok,
    write_files,
)


def test_rauc_loads_the_export_and_refuses_a_broken_one_for_partwrights_reason(tmp_path: Path) -> None:
    need("rauc")
    p = seed_plan()
    for naming in (Naming("partlabel"), Naming("disk", "/dev/mmcblk0"), Naming("disk", "/dev/sda")):
        for loader in ("grub", "efi", "uboot", "custom", "noop"):
            ex = export(p, "rauc", naming, bootloader=loader)
            conf = write_files(ex, tmp_path / f"{loader}-{naming.scheme}") / "system.conf"
            assert rauc_load_error(conf) is None, conf.read_text()
    good = (tmp_path / "grub-partlabel" / "system.conf").read_text()
    broken = {
        "type=xfs": good.replace("type=raw", "type=xfs", 1),
        "bootname twice": good.replace("bootname=B", "bootname=A"),
        "no parent": good.replace("parent=rootfs.1", "parent=rootfs.7"),
        "child with bootname": good.replace("parent=rootfs.0", "parent=rootfs.0\nbootname=C"),
        "bootloader": good.replace("bootloader=grub", "bootloader=lilo"),
        "slot name": good.replace("[slot.home.2]", "[slot.home.x.2]"),
    }
    for what, text in broken.items():
        path = tmp_path / f"broken-{what.replace(' ', '-')}.conf"
        path.write_text(text)
        reason = rauc_load_error(path)
        assert reason is not None, what
        ours = [d.message for d in check_text(text, p) if d.severity == "error"]
        assert reason in ours, (what, reason, ours)
    assert [d.code for d in check_text(good, p)] == []


def test_rauc_service_lists_exactly_the_plans_slots(tmp_path: Path) -> None:
    need("rauc", "dbus-run-session")
    p = seed_plan()
    ex = export(p, "rauc", Naming("disk", "/dev/vda"), bootloader="noop", name="seed")
    conf = write_files(ex, tmp_path) / "system.conf"
    script = tmp_path / "status.sh"
    script.write_text(f"""
export DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SESSION_BUS_ADDRESS"
rauc service --conf={conf} --override-boot-slot=A > {tmp_path}/service.log 2>&1 &
pid=$!
for i in $(seq 100); do
  # a loaded machine can answer before the service has settled its booted slot
  rauc status --output-format=json > {tmp_path}/status.json 2>/dev/null &&
    ! grep -q '"booted":null' {tmp_path}/status.json && break
  sleep 0.1
done
kill $pid; wait $pid
""")
    proc = run("dbus-run-session", "--", "bash", script, timeout=60)
    if not (tmp_path / "status.json").read_text().strip():
        pytest.skip(f"rauc service did not answer on a session bus: {proc.stderr[-300:]}")
    status = json.loads((tmp_path / "status.json").read_text())
    got = {}
    for item in status["slots"]:
        ((name, slot),) = item.items()
        got[name] = (slot["device"], slot["bootname"], slot["parent"])
    want = {s.name: (s.device, s.bootname, s.parent)
            for cls in slot_classes(p, Naming("disk", "/dev/vda")) for s in cls.slots}
    assert got == want
    assert want["rootfs.0"] == ("/dev/vda9", "A", None)
    assert want["boot.1"] == ("/dev/vda3", None, "rootfs.1")
    assert len(want) == 7 and status["booted"] == "A" and status["compatible"] == "seed"


def test_grub_fragment_is_valid_grub_script(tmp_path: Path) -> None:
    need("grub-script-check")
    p = seed_plan()
    for naming in (Naming("partlabel"), Naming("disk", "/dev/sda"),
                   Naming("partuuid", None, tuple((e.number, f"{e.number:08d}-0000-4000-8000-000000000000")
                                                  for e in p.entries), "test")):
        cfg = write_files(export(p, "rauc", naming), tmp_path / naming.scheme) / "grub.cfg"
        proc = run("grub-script-check", cfg)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "root=PARTUUID=00000009-0000-4000-8000-000000000000 rauc.slot=A" in cfg.read_text()


def test_swupdate_checks_every_mode_and_diskpart_makes_the_planned_table(tmp_path: Path) -> None:
    need("swupdate", "openssl", "cpio", "sfdisk")
    p = seed_plan()
    blank = tmp_path / "blank.img"
    with open(blank, "wb") as fh:
        fh.truncate(p.disk_bytes)
    ex = export(p, "swupdate", Naming("disk", str(blank)))
    text = ex.files[0].text
    cert, key = signing_key(tmp_path)
    images = {f"{c}.img": os.urandom(4096) for c in ("rootfs", "boot", "home")}
    swu = make_swu(tmp_path, text, images, cert, key)
    for mode in ("copy-1", "copy-2", "copy-3"):
        proc = swupdate(swu, f"stable,{mode}", cert, check=True)
        assert swupdate_ok(proc), proc.stdout[-2000:] + proc.stderr[-2000:]
    refused = swupdate(swu, "stable,copy-4", cert, check=True)
    assert not swupdate_ok(refused) and "Found nothing to install" in refused.stdout + refused.stderr
    proc = swupdate(swu, "factory,diskpart", cert, check=False)
    # the verdict is the table itself (the install's log, like its status, races its exit)
    assert "[ERROR]" not in proc.stdout + proc.stderr, proc.stdout[-2000:]
    got = [(q["node"], q["start"], q["size"], q["type"], q["name"]) for q in sfdisk_json(blank)]
    want = [(f"{blank}{e.number}", e.start, e.sectors, type_guid(e.code), e.name)
            for e in sorted(p.entries, key=lambda e: e.number)]
    assert got == want


def test_mender_artifact_for_the_root_slot_and_the_client_reads_mender_conf(tmp_path: Path) -> None:
    need("mender-artifact", "mender", "mkfs.ext4")
    p = plan(MENDER_LAYOUT)
    ex = export(p, "mender", Naming("disk", "/dev/mmcblk0"), name="acme-board")
    assert ex.ok, ex.diagnostics
    out = write_files(ex, tmp_path / "mender")
    conf = json.loads((out / "mender.conf").read_text())
    root = p.entry("root")
    clone = p.clones_of("root")[0]
    assert conf == {"RootfsPartA": f"/dev/mmcblk0p{root.number}",
                    "RootfsPartB": f"/dev/mmcblk0p{clone.number}"}
    # an ext4 image the size of the root slot, packed and read back
    image = tmp_path / "rootfs.ext4"
    with open(image, "wb") as fh:
        fh.truncate(root.size_bytes)
    assert run("mkfs.ext4", "-q", "-F", image).returncode == 0
    artifact = tmp_path / "release-1.mender"
    proc = run("mender-artifact", "--compression", "none", "write", "rootfs-image", "-f", image, "-n", "release-1",
               "-t", "acme-board", "-o", artifact, timeout=120)
    assert proc.returncode == 0, proc.stderr
    proc = run("mender-artifact", "read", artifact, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Name: release-1" in proc.stdout and "[acme-board]" in proc.stdout
    assert f"size:     {root.size_bytes}" in proc.stdout
    data = tmp_path / "data"
    data.mkdir()
    (data / "device_type").write_text("device_type=acme-board\n")
    proc = run("mender", "--config", out / "mender.conf", "--fallback-config", tmp_path / "none",
               "--data", data, "--log-level", "debug", "--no-syslog", "show-artifact")
    assert f"Loaded configuration file: {out / 'mender.conf'}" in proc.stderr
    assert f'RootfsPartA:\\"/dev/mmcblk0p{root.number}\\"' in proc.stderr
    assert f'RootfsPartB:\\"/dev/mmcblk0p{clone.number}\\"' in proc.stderr
    broken = tmp_path / "broken.conf"
    broken.write_text((out / "mender.conf").read_text()[:-3])
    proc = run("mender", "--config", broken, "--fallback-config", tmp_path / "none",
               "--data", data, "--no-syslog", "show-artifact")
    assert proc.returncode != 0 and "Error parsing mender configuration file" in proc.stderr
    env = (out / "bootenv.txt").read_text()
    assert f"mender_boot_part {root.number}\nmender_boot_part_hex {root.number:x}\n" in env


def test_systemd_repart_makes_the_planned_table(tmp_path: Path) -> None:
    need("systemd-repart", "sfdisk")
    p = seed_plan()
    ex = export(p, "repart", Naming("partlabel"))
    defs = write_files(ex, tmp_path / "repart.d")
    # the clones copy their origins from /dev/disk/by-partlabel/...: a root for repart to find them
    root = tmp_path / "root"
    (root / "dev/disk/by-partlabel").mkdir(parents=True)
    for e in p.entries:
        if p.clones_of(e.key):
            (root / "dev/disk/by-partlabel" / (e.name or "")).write_bytes(b"\x5a" * 65536)
    image = tmp_path / "disk.img"
    proc = run("systemd-repart", "--empty=create", f"--size={p.disk_bytes}", f"--definitions={defs}",
               f"--root={root}", "--dry-run=no", "--no-pager", image, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = [(q["start"], q["size"], q["type"], q["name"]) for q in sfdisk_json(image)]
    want = [(e.start, e.sectors, type_guid(e.code), e.name) for e in sorted(p.entries, key=lambda e: e.start)]
    assert got == want
    clone = p.entry("rootclone1")
    assert clone is not None
    with open(image, "rb") as fh:
        fh.seek(clone.start * 512)
        assert fh.read(65536) == b"\x5a" * 65536  # CopyBlocks copied the origin's bytes
