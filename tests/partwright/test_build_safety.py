"""`partwright build` never destroys an input and answers bad input with one
line: the output is the description, a key file or a root-tree file (by
path, through a symlink, as a hard link); a layout with errors; a disk too
large for the output filesystem or for any file; too little free space;
a second build of the same output. Each runs the real CLI and looks at the
file system afterwards: input untouched, nothing left behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.image.build import build
from engine.layout.example import EXAMPLE_LAYOUT, EXAMPLE_TYPE_XML
from engine.plan.planner import plan as make_plan
from tests.support.cli import cli, one_line
from tests.support.image import file_sha256, needs_tools
from tests.support.paths import DATA, ROOT

pytestmark = needs_tools


def listing(directory: Path) -> dict[str, str]:
    """Every file below `directory` with its digest (links as their target)."""
    found = {}
    for top, _dirs, files in os.walk(directory):
        for name in files:
            path = Path(top) / name
            rel = str(path.relative_to(directory))
            found[rel] = f"-> {os.readlink(path)}" if path.is_symlink() else file_sha256(path)
    return found


@pytest.fixture()
def desc(tmp_path: Path) -> Path:
    path = tmp_path / "s.xml"
    path.write_text(EXAMPLE_TYPE_XML)
    return path


@pytest.mark.parametrize("how", ["same", "dot", "symlink", "hardlink", "absolute"])
def test_output_that_is_the_description_is_refused(desc: Path, tmp_path: Path, how: str) -> None:
    if how == "symlink":
        (tmp_path / "link.xml").symlink_to("s.xml")
    if how == "hardlink":
        os.link(desc, tmp_path / "hard.xml")
    output = {"same": "s.xml", "dot": "./s.xml", "symlink": "link.xml", "hardlink": "hard.xml",
              "absolute": str(desc)}[how]
    before = listing(tmp_path)
    proc = cli("build", "s.xml", "-o", output, cwd=tmp_path)
    assert proc.returncode == 2
    assert "is a file the build reads" in one_line(proc.stderr)
    assert listing(tmp_path) == before


def test_output_that_is_the_key_file_is_refused(tmp_path: Path) -> None:
    desc = tmp_path / "luks.xml"
    desc.write_text(EXAMPLE_TYPE_XML.replace('<type image="oem"', '<type image="oem" luks="pw"'))
    key = tmp_path / "key"
    key.write_bytes(b"secret key bytes\n")
    before = listing(tmp_path)
    for given in (f"file:{key}", f"file://{key}"):
        proc = cli("build", str(desc), "-o", str(key), "--luks-key", given)
        assert proc.returncode == 2, proc.stderr
        assert "is a file the build reads" in one_line(proc.stderr)
        assert "secret" not in proc.stderr
    assert listing(tmp_path) == before


def test_output_in_the_root_tree_is_refused(desc: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc" / "hostname").write_text("seed\n")
    os.link(tree / "etc" / "hostname", tmp_path / "linked.img")
    before = listing(tmp_path)
    proc = cli("build", str(desc), "-o", str(tree / "disk.img"), "--root-tree", str(tree))
    assert proc.returncode == 2 and "inside the root tree" in one_line(proc.stderr)
    proc = cli("build", str(desc), "-o", str(tmp_path / "linked.img"), "--root-tree", str(tree))
    assert proc.returncode == 2 and "hard link to" in one_line(proc.stderr)
    assert listing(tmp_path) == before


def test_output_that_is_not_a_regular_file_is_refused(desc: Path, tmp_path: Path) -> None:
    proc = cli("build", str(desc), "-o", "/dev/null")
    assert proc.returncode == 2 and "not a regular file" in one_line(proc.stderr)
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


def test_a_layout_with_errors_exits_1_with_its_errors(tmp_path: Path) -> None:
    proc = cli("build", str(DATA / "descriptions" / "03-lvm-systemdisk.kiwi"), "-o",
               str(tmp_path / "x.img"))
    assert proc.returncode == 1
    line = one_line(proc.stderr)
    assert "nothing built" in line and "p.lxlvm does not fit" in line
    assert list(tmp_path.iterdir()) == []


def _filesystem(path: Path) -> str:
    return subprocess.run(["stat", "-f", "-c", "%T", str(path)], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_a_disk_larger_than_the_output_filesystem_takes(tmp_path: Path) -> None:
    if _filesystem(tmp_path) not in ("ext2/ext3", "ext4"):
        pytest.skip(f"{tmp_path} is not on ext4 (its largest file is what this test needs)")
    desc = tmp_path / "huge.xml"
    desc.write_text(EXAMPLE_TYPE_XML.replace('<size unit="G">100</size>',
                                             '<size unit="G">20000</size>'))
    before = listing(tmp_path)
    started = time.monotonic()
    proc = cli("build", str(desc), "-o", str(tmp_path / "huge.img"))
    assert proc.returncode == 2
    assert "cannot hold a file of" in one_line(proc.stderr)
    assert time.monotonic() - started < 30
    assert listing(tmp_path) == before


def test_a_disk_larger_than_any_file(tmp_path: Path) -> None:
    desc = tmp_path / "absurd.xml"
    desc.write_text(EXAMPLE_TYPE_XML.replace('<size unit="G">100</size>',
                                             '<size unit="G">99999999999</size>'))
    proc = cli("build", str(desc), "-o", str(tmp_path / "absurd.img"))
    assert proc.returncode in (1, 2)
    assert "internal error" not in one_line(proc.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["absurd.xml"]


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_too_little_free_space_is_refused_before_writing(desc: Path, tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    tree = tmp_path / "tree"
    (tree / "usr").mkdir(parents=True)
    (tree / "usr" / "data").write_bytes(os.urandom(24 << 20))
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(small)],
                          capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"no tmpfs mount possible here: {done.stderr.decode().strip()}")
    try:
        proc = cli("build", str(desc), "-o", str(small / "disk.img"), "--root-tree", str(tree))
        assert proc.returncode == 2
        assert re.search(r"has \d+ MiB free, the image needs at least \d+ MiB",
                         one_line(proc.stderr))
        assert list(small.iterdir()) == []
    finally:
        subprocess.run(["umount", str(small)], check=False)


def test_a_second_build_of_the_same_output_is_refused(desc: Path, tmp_path: Path) -> None:
    out = tmp_path / "disk.img"
    env = {**os.environ, "PARTWRIGHT_BUILD_PAUSE": "table:60"}
    first = subprocess.Popen([sys.executable, "-m", "partwright", "build", str(desc), "-o",
                              str(out)], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert first.stderr is not None and "pausing at table" in first.stderr.readline()
        proc = cli("build", str(desc), "-o", str(out))
        assert proc.returncode == 2
        assert f"in use by another partwright run (pid {first.pid})" in one_line(proc.stderr)
        assert (tmp_path / "disk.img.partial.d").is_dir()  # the first one's: left alone
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    assert first.returncode == 128 + signal.SIGTERM
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.xml"]


def test_what_a_killed_build_left_is_removed_by_the_next_and_said(desc: Path,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "disk.img"
    env = {**os.environ, "PARTWRIGHT_BUILD_PAUSE": "clones:60"}
    killed = subprocess.Popen([sys.executable, "-m", "partwright", "build", str(desc), "-o",
                               str(out)], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    assert killed.stderr is not None and "pausing at clones" in killed.stderr.readline()
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=60)
    # the image was an unnamed file: only the scratch folder remains
    assert sorted(p.name for p in tmp_path.iterdir()) == ["disk.img.partial.d", "s.xml"]
    proc = cli("build", str(desc), "-o", str(tmp_path / "other.img"), "--seed", "next")
    assert proc.returncode == 0, proc.stderr
    [note] = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert note.startswith("partwright: note: removed ") and "disk.img.partial.d" in note
    assert f"pid {killed.pid}" in note
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.img", "other.img.partids",
                                                          "s.xml"]


def test_two_builds_at_one_path_with_different_sizes(tmp_path: Path) -> None:
    """libparted keeps devices by path: the second image must still get its own size."""
    out = tmp_path / "disk.img"
    for size_mb in (8192, 6144):
        plan = make_plan(EXAMPLE_LAYOUT.with_changes(size_mb=size_mb))
        build(plan, str(out), seed="sizes")
        assert out.stat().st_size == plan.disk_bytes == size_mb << 20
