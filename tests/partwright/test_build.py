"""`partwright build` / `inspect` on the command line: kill tests, bad input, JSON."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.errors import ToolError
from engine.image.build import build
from engine.layout.example import EXAMPLE_LAYOUT
from engine.plan.planner import plan as make_plan
from tests.support.cli import one_line
from tests.support.image import ROOT, cli, needs_tools, sparse_sha256, write_seed_description

pytestmark = needs_tools


@pytest.fixture()
def desc(tmp_path: Path) -> Path:
    return write_seed_description(tmp_path / "config.xml")


def state(path: Path) -> tuple[int, int, str] | None:
    if not path.exists():
        return None
    st = path.stat()
    return st.st_ino, st.st_mtime_ns, sparse_sha256(path)


def partials(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if ".partial" in p.name)


def start_paused(desc: Path, out: Path, step: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PARTWRIGHT_BUILD_PAUSE": f"{step}:60"}
    proc = subprocess.Popen([sys.executable, "-m", "partwright", "build", str(desc), "-o", str(out),
                             "--seed", "kill"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    for line in proc.stderr:
        if f"pausing at {step}" in line:
            return proc
        assert time.monotonic() < deadline
    raise AssertionError(f"the build never reached {step}: rc {proc.wait()}")


# (step, signal, previous image present)
KILLS = [
    ("prepare", signal.SIGTERM, False),
    ("table", signal.SIGTERM, True),
    ("filesystems", signal.SIGTERM, True),
    ("clones", signal.SIGINT, True),
    ("verify", signal.SIGTERM, False),
    ("finish", signal.SIGINT, True),
    ("filesystems", signal.SIGHUP, True),
    ("clones", signal.SIGKILL, True),
]


@pytest.mark.parametrize(("step", "sig", "previous"), KILLS,
                         ids=[f"{s}-{g.name}-{'prev' if p else 'none'}" for s, g, p in KILLS])
def test_killed_build_leaves_the_target_as_it_was(desc: Path, tmp_path: Path, step: str,
                                                 sig: signal.Signals, previous: bool) -> None:
    out = tmp_path / "disk.img"
    if previous:
        build(make_plan(EXAMPLE_LAYOUT), str(out), seed="previous")
    before = state(out)
    proc = start_paused(desc, out, step)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert state(out) == before
    if sig == signal.SIGKILL:
        # nothing can clean up after SIGKILL: the scratch directory stays (the
        # image itself is an unnamed file), and the next build removes it
        again = cli("build", str(desc), "-o", str(out), "--seed", "kill")
        assert again.returncode == 0, again.stderr
        assert partials(out) == []
    else:
        assert "Traceback" not in err
        assert err.strip().endswith("partwright: interrupted")
        assert proc.returncode == 128 + sig  # as a shell reports a process the signal stopped
        assert partials(out) == []


def test_a_failing_step_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "disk.img"
    build(make_plan(EXAMPLE_LAYOUT), str(out), seed="previous")
    before = state(out)

    def broken(*args: object, **kwargs: object) -> None:
        raise ToolError("xfs_repair -n finds problems on partition 9")

    monkeypatch.setattr("engine.image.build.verify", broken)
    with pytest.raises(ToolError):
        build(make_plan(EXAMPLE_LAYOUT), str(out), seed="next")
    assert state(out) == before and partials(out) == []

    def interrupt(step: str, done: int, total: int) -> None:
        if step == "clones" and done == 2:
            raise KeyboardInterrupt

    monkeypatch.undo()
    with pytest.raises(KeyboardInterrupt):
        build(make_plan(EXAMPLE_LAYOUT), str(out), seed="next", progress=interrupt)
    assert state(out) == before and partials(out) == []


def test_build_json_and_inspect_json(desc: Path, tmp_path: Path) -> None:
    out = tmp_path / "disk.img"
    proc = cli("build", str(desc), "-o", str(out), "--seed", "j", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["disk_bytes"] == 100 * 2**30 and len(report["partitions"]) == 9
    assert report["allocated_bytes"] == out.stat().st_blocks * 512
    assert (tmp_path / "disk.img.partids").read_text().startswith('kiwi_BiosGrub="1"\n')
    proc = cli("inspect", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert [(c["origin"], c["clone"]) for c in found["clones"]] == [(4, 3), (7, 5), (7, 6), (9, 8)]
    assert found["partids"]["agree"] is True and found["duplicates"] == []
    text = cli("inspect", str(out))
    assert text.returncode == 0 and "agrees with the image" in text.stdout


def _nothing_written(tmp_path: Path, before: set[str]) -> None:
    assert {p.name for p in tmp_path.iterdir()} == before


def test_bad_output_directory(desc: Path, tmp_path: Path) -> None:
    before = {p.name for p in tmp_path.iterdir()}
    proc = cli("build", str(desc), "-o", str(tmp_path / "missing" / "disk.img"))
    assert proc.returncode == 2
    assert "does not exist" in one_line(proc.stderr)
    proc = cli("build", str(desc), "-o", str(tmp_path))
    assert proc.returncode == 2 and "is a directory" in one_line(proc.stderr)
    _nothing_written(tmp_path, before)


def test_read_only_output_directory(desc: Path, tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    mounted = False
    if os.geteuid() == 0:  # root ignores permission bits: use a read-only mount
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(ro)],
                              capture_output=True, check=False)
        if done.returncode != 0:
            pytest.skip("root, and no read-only tmpfs mount possible here")
        mounted = True
    else:
        ro.chmod(0o555)
    try:
        proc = cli("build", str(desc), "-o", str(ro / "disk.img"))
        assert proc.returncode == 2
        assert "not writable" in one_line(proc.stderr)
        assert list(ro.iterdir()) == []
    finally:
        if mounted:
            subprocess.run(["umount", str(ro)], check=False)
        else:
            ro.chmod(0o755)


def test_bad_root_tree(desc: Path, tmp_path: Path) -> None:
    before = {p.name for p in tmp_path.iterdir()}
    out = tmp_path / "disk.img"
    proc = cli("build", str(desc), "-o", str(out), "--root-tree", str(tmp_path / "nothing"))
    assert proc.returncode == 2 and "root tree" in one_line(proc.stderr)
    _nothing_written(tmp_path, before)
    tree = tmp_path / "tree"
    (tree / "home").mkdir(parents=True)
    with open(tree / "home" / "big", "wb") as fh:  # 20 MiB under /home; home is 10 MiB
        fh.truncate(20 * 2**20)
    before = {p.name for p in tmp_path.iterdir()}
    proc = cli("build", str(desc), "-o", str(out), "--root-tree", str(tree))
    # measured like KIWI, the tree makes a layout error (KiwiPartitionTooSmallError)
    assert proc.returncode == 1
    assert "/home" in one_line(proc.stderr) and "partition 'home'" in proc.stderr
    _nothing_written(tmp_path, before)


def test_layout_with_errors_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text(
        '<type image="oem" firmware="bios" filesystem="ext4"><partitions>'
        + "".join(f'<partition name="p{i}x" size="10" filesystem="ext4"/>' for i in range(5))
        + '</partitions><size unit="M">1024</size></type>')
    before = {p.name for p in tmp_path.iterdir()}
    proc = cli("build", str(bad), "-o", str(tmp_path / "disk.img"))
    assert proc.returncode == 1
    assert "nothing built" in one_line(proc.stderr)
    _nothing_written(tmp_path, before)


def test_missing_description_and_image(tmp_path: Path) -> None:
    proc = cli("build", str(tmp_path / "none.xml"), "-o", str(tmp_path / "disk.img"))
    assert proc.returncode == 2 and one_line(proc.stderr).startswith("partwright: error:")
    proc = cli("inspect", str(tmp_path / "none.img"))
    assert proc.returncode == 2 and one_line(proc.stderr).startswith("partwright: error:")
    junk = tmp_path / "junk.img"
    junk.write_bytes(bytes(4096))
    proc = cli("inspect", str(junk))
    assert proc.returncode == 2 and "no partition table" in one_line(proc.stderr)
