"""A root tree goes into xfs and btrfs through a loop mount, which needs root
and loop devices. Where the host cannot, the preview says so as an error
diagnostic before any build (the plan is told what the host cannot mount;
it probes nothing), and the build refuses in one line, exit 2, writing
nothing. As root here, the same is shown for real as the user nobody."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from engine.host.mount import loop_mount_refusals
from engine.kiwi.read import load
from engine.plan.planner import plan as make_plan
from engine.plan.root_tree import KERNEL_FILLED, with_root_tree, with_tree_diagnostics
from tests.support.cli import one_line
from tests.support.paths import DATA, ROOT

SEED = DATA / "oracle" / "seed.xml"  # root xfs, boot ext4, home ext3


def _tree(top: Path) -> Path:
    (top / "etc").mkdir(parents=True)
    (top / "etc" / "hostname").write_text("appliance\n")
    return top


def test_the_plan_names_each_partition_the_host_cannot_fill(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "tree")
    p = make_plan(with_root_tree(load(str(SEED)).layout, str(tree)))
    refused = with_tree_diagnostics(p, str(tree), {"xfs": "no loop devices here"})
    found = [d for d in refused.diagnostics if d.code == "tree-needs-loop-mount"]
    assert [(d.severity, d.partition) for d in found] == [("error", "root")]
    assert "no loop devices here" in found[0].message and "p.lxroot" in found[0].message
    # ext4 and ext3 are filled without the kernel: a refusal for them is no finding
    for refusals in ({}, {"btrfs": "no btrfs"}, None):
        assert not [d for d in with_tree_diagnostics(p, str(tree), refusals).diagnostics
                    if d.code == "tree-needs-loop-mount"]


def test_the_host_refuses_loop_mounts_exactly_when_the_kernel_lacks_them() -> None:
    found = loop_mount_refusals(KERNEL_FILLED)
    loop = os.access("/dev/loop-control", os.W_OK)
    with open("/proc/filesystems") as fh:
        kinds = {line.split()[-1] for line in fh if line.strip()}
    assert set(found) == {k for k in KERNEL_FILLED if not loop or k not in kinds}


def _as_nobody(*args: str) -> list[str]:
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *args]


def test_without_root_preview_warns_and_build_refuses_in_one_line() -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root (and setpriv) to run partwright as the user nobody")
    probe = subprocess.run(_as_nobody(sys.executable, "-c", "import engine.plan"), cwd=ROOT,
                           capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"nobody cannot run {sys.executable} from {ROOT} (its directories are private)")
    work = Path(tempfile.mkdtemp(prefix="partwright-nobody-"))  # pytest's is private to root
    try:
        _nobody_run(work)
    finally:
        shutil.rmtree(work)


def _nobody_run(work: Path) -> None:
    tree = _tree(work / "tree")
    for path in (work, *work.rglob("*")):
        path.chmod(0o777 if path.is_dir() else 0o666)
    env = {**os.environ, "HOME": str(work)}

    def partwright(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(_as_nobody(sys.executable, "-m", "partwright", *args), cwd=ROOT,
                              env=env, capture_output=True, text=True, check=False)

    preview = partwright("preview", str(SEED), "--root-tree", str(tree))
    assert preview.returncode == 1, preview.stdout + preview.stderr
    assert "error tree-needs-loop-mount (root)" in preview.stdout
    out = work / "out.img"
    build = partwright("build", str(SEED), "--root-tree", str(tree), "-o", str(out))
    assert build.returncode == 2, build.stdout + build.stderr
    assert "needs the kernel to write it through a loop mount" in one_line(build.stderr)
    assert sorted(p.name for p in work.iterdir()) == ["tree"]
