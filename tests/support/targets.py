"""Helpers for the updater tests: plans, exports, the real consumers (RAUC,
SWUpdate, Mender, systemd-repart) and a test signing key."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.kiwi.read import load
from engine.layout.model import Layout, Partition
from engine.plan.model import Plan
from engine.plan.planner import plan
from engine.targets import Naming, Options, TargetExport, TargetName, export_target
from tests.support.paths import DATA

SEED = DATA / "oracle" / "seed.xml"

# the seed as Mender wants it: no boot clones, /boot inside each root, a /data partition last
MENDER_LAYOUT = Layout(
    firmware="uefi", filesystem="ext4", root_clone=1, boot_clone=0, bootpartition=False,
    partitions=(Partition(name="data", size_mb=64, mountpoint="/data", filesystem="ext4"),),
    oem_systemsize=64, oem_resize=False, size_mb=1024, devicepersistency="by-partuuid",
)


def seed_plan() -> Plan:
    return plan(load(SEED).layout)


def export(p: Plan, target: TargetName, naming: Naming | None = None, **opts: object) -> TargetExport:
    return export_target(p, Options(target, naming or Naming("partlabel"), **opts))  # type: ignore[arg-type]


def write_files(ex: TargetExport, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for f in ex.files:
        (folder / f.path).write_text(f.text)
    return folder


def need(*tools: str) -> None:
    """Skip (fail under CI, where make installs them) when a tool is missing."""
    missing = [t for t in tools if shutil.which(t) is None
               and shutil.which(t, path="/usr/sbin:/sbin") is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{', '.join(missing)} missing: make installs them")
        pytest.skip(f"{', '.join(missing)} missing (run make)")


def run(*argv: str | Path, timeout: float = 60, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                          timeout=timeout, check=False, **kw)  # type: ignore[call-overload]


def rauc_load_error(conf: Path) -> str | None:
    """RAUC's reason for refusing `conf`, or None when it loads it (the
    D-Bus failure that follows a good load is not a refusal)."""
    proc = run("rauc", f"--conf={conf}", "status")
    for line in proc.stderr.splitlines():
        marker = f"Failed to load system config ({conf}): "
        if marker in line:
            return line.split(marker, 1)[1]
    return None


def signing_key(folder: Path) -> tuple[Path, Path]:
    """A self-signed test certificate (CA) and its key, for RAUC and SWUpdate."""
    cert, key = folder / "ca.cert.pem", folder / "ca.key.pem"
    if not cert.exists():
        proc = run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                   "-out", cert, "-days", "3650", "-subj", "/CN=partwright test CA",
                   "-addext", "extendedKeyUsage=emailProtection,codeSigning",
                   "-addext", "keyUsage=digitalSignature,keyCertSign",
                   "-addext", "basicConstraints=critical,CA:TRUE")
        assert proc.returncode == 0, proc.stderr
    return cert, key


def make_swu(folder: Path, description: str, images: dict[str, bytes], cert: Path,
             key: Path) -> Path:
    """Pack a signed .swu the way meta-swupdate does: the sha256 of each
    image into `$swupdate_get_sha256(FILE)`, a CMS signature, a crc cpio."""
    for name, data in images.items():
        (folder / name).write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        description = description.replace(f"$swupdate_get_sha256({name})", digest)
    (folder / "sw-description").write_text(description)
    proc = run("openssl", "cms", "-sign", "-in", folder / "sw-description", "-out",
               folder / "sw-description.sig", "-signer", cert, "-inkey", key, "-outform", "DER",
               "-nosmimecap", "-binary")
    assert proc.returncode == 0, proc.stderr
    names = ["sw-description", "sw-description.sig", *images]
    swu = folder / "update.swu"
    with open(swu, "wb") as out:
        proc2 = subprocess.run(["cpio", "-o", "-H", "crc"], input="\n".join(names).encode(),
                               cwd=folder, stdout=out, stderr=subprocess.PIPE, check=False)
    assert proc2.returncode == 0, proc2.stderr
    return swu


def swupdate(swu: Path, selection: str, cert: Path, *, check: bool) -> subprocess.CompletedProcess[str]:
    """SWUpdate on `swu` (-c: check only). Its sockets go to the .swu's own
    folder (TMPDIR), so parallel tests do not meet."""
    argv = ["swupdate", "-i", swu, "-e", selection, "-k", cert, "-H", "partwright:1.0"]
    if check:
        argv.insert(1, "-c")
    env = {**os.environ, "TMPDIR": f"{swu.parent}/"}
    return run(*argv, timeout=120, cwd=swu.parent, env=env)


def swupdate_ok(proc: subprocess.CompletedProcess[str]) -> bool:
    """SWUpdate 2022.12's verdict from its log: its exit status races (about
    one run in three exits 1 after "SWUPDATE successful !", when a thread
    exits before the post-update step), the log does not."""
    log = proc.stdout + proc.stderr
    return "SWUPDATE successful !" in log and "[ERROR]" not in log


def sfdisk_json(image: Path) -> list[dict[str, object]]:
    import json

    proc = run("sfdisk", "--json", image)
    assert proc.returncode == 0, proc.stderr
    parts: list[dict[str, object]] = json.loads(proc.stdout)["partitiontable"]["partitions"]
    return parts
