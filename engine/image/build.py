"""build(plan, output): write the disk image a plan describes.

Steps (each reported to the progress callback as (step, done, total)):
prepare, table, filesystems, clones, verify, finish (and convert for qcow2).
Everything is written to `OUTPUT.partial` (and scratch files to
`OUTPUT.partial.d/`), checked, fsynced and renamed over OUTPUT at the very end.
A failure, Ctrl-C (KeyboardInterrupt) or SIGTERM removes the partial files and
leaves OUTPUT as it was. A SIGKILL cannot be caught: the partial files then
stay behind, and the next build of the same OUTPUT removes them first.
One build per OUTPUT at a time.

Test hook: PARTWRIGHT_BUILD_PAUSE="STEP:SECONDS" prints "partwright: pausing
at STEP" on stderr and sleeps when STEP starts, so tests can kill a build at a
known point.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Literal

from engine.errors import PartwrightError
from engine.host.tools import run, which
from engine.image import containers, fill, metadata, populate, sparse
from engine.image.clone import clone_partition
from engine.image.filesystems import EXT, FsSpec, make_filesystem, plan_filesystems
from engine.image.identity import Identity, make_identity
from engine.image.luks import KeySource
from engine.image.table import TableIds, write_table
from engine.image.verify import FsCheck, verify
from engine.plan.model import Plan

Progress = Callable[[str, int, int], None]
Format = Literal["raw", "qcow2"]
STEPS = ("prepare", "table", "filesystems", "clones", "verify", "convert", "finish")


class PlanHasErrors(PartwrightError):
    """The plan has error diagnostics: nothing is built (exit status 1)."""

    exit_status = 1


class BuildTerminated(KeyboardInterrupt):
    """SIGTERM arrived during a build."""


@dataclass(frozen=True)
class PartitionReport:
    number: int
    key: str
    role: str
    name: str | None
    start: int
    end: int
    partuuid: str
    filesystem: str | None
    uuid: str | None
    label: str | None
    clone_of: int | None
    copied_bytes: int  # clones: data bytes block-copied from the origin

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class BuildReport:
    output: str
    format: str
    table: str
    disk_id: str
    disk_bytes: int
    allocated_bytes: int  # du of the output
    seconds: float
    step_seconds: tuple[tuple[str, float], ...]
    partitions: tuple[PartitionReport, ...]
    checks: tuple[FsCheck, ...]
    partids_path: str
    fstab: str
    seed: str | None
    warnings: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "output": self.output, "format": self.format, "table": self.table,
            "disk_id": self.disk_id, "disk_bytes": self.disk_bytes,
            "allocated_bytes": self.allocated_bytes, "seconds": round(self.seconds, 3),
            "steps": {k: round(v, 3) for k, v in self.step_seconds},
            "partitions": [p.to_json() for p in self.partitions],
            "checks": [c.__dict__ for c in self.checks],
            "partids": self.partids_path, "fstab": self.fstab, "seed": self.seed,
            "warnings": list(self.warnings),
        }


def partial_paths(output: str) -> tuple[str, ...]:
    """Every scratch path a build of `output` may leave after a SIGKILL."""
    return (f"{output}.partial", f"{output}.partial.raw", f"{output}.partial.d",
            f"{output}.partids.partial")


def remove_partials(output: str) -> None:
    for path in partial_paths(output):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            os.unlink(path)


def needed_tools(specs: tuple[FsSpec, ...], fmt: str) -> list[str]:
    tools = {"sfdisk", "blkid"}
    for spec in specs:
        if spec.kind in EXT:
            tools |= {f"mkfs.{spec.kind}", "tune2fs", "e2fsck"}
        elif spec.kind == "xfs":
            tools |= {"mkfs.xfs", "xfs_admin", "xfs_repair", "xfs_db"}
        elif spec.kind == "btrfs":
            tools |= {"mkfs.btrfs", "btrfstune", "btrfs"}
        elif spec.kind.startswith("fat"):
            tools |= {"mkfs.vfat", "fsck.vfat", "mcopy", "mmd"}
        elif spec.kind == "swap":
            tools |= {"mkswap"}
        elif spec.kind == "squashfs":
            tools |= {"mksquashfs", "unsquashfs"}
    if fmt == "qcow2":
        tools.add("qemu-img")
    return sorted(tools)


def check_inputs(plan: Plan, output: str, fmt: str, root_tree: str | None,
                 specs: tuple[FsSpec, ...]) -> None:
    """Everything that can be refused before a byte is written."""
    if plan.errors:
        first = plan.errors[0]
        more = f" (and {len(plan.errors) - 1} more)" if len(plan.errors) > 1 else ""
        raise PlanHasErrors(f"the layout has errors, nothing built: {first.message}{more}")
    if fmt not in ("raw", "qcow2"):
        raise PartwrightError(f"unknown image format {fmt!r} (raw or qcow2)")
    directory = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(directory):
        raise PartwrightError(f"output directory {directory} does not exist")
    if os.path.isdir(output):
        raise PartwrightError(f"output {output} is a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PartwrightError(f"output directory {directory} is not writable")
    for tool in needed_tools(specs, fmt):
        which(tool)
    if root_tree is not None:
        mounts = populate.tree_mounts(specs)
        if not os.path.isdir(root_tree):
            raise PartwrightError(f"root tree {root_tree} does not exist or is not a directory")
        if not any(mp == "/" for mp in mounts.values()):
            raise PartwrightError("--root-tree needs a root filesystem in the layout")
        populate.check_tree(root_tree, mounts, {s.number: s.size for s in specs})
        fill.check_kernel_fill([s for s in specs if s.number in mounts])


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into an exception while building (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    fired = [False]

    def handler(signum: int, frame: FrameType | None) -> None:
        if not fired[0]:  # once: a second SIGTERM must not break the clean-up
            fired[0] = True
            raise BuildTerminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _pause_hook(step: str) -> None:
    spec = os.environ.get("PARTWRIGHT_BUILD_PAUSE", "")
    name, _, seconds = spec.partition(":")
    if name == step:
        os.write(2, f"partwright: pausing at {step}\n".encode())
        time.sleep(float(seconds or "30"))


def build(
    plan: Plan,
    output: str,
    *,
    fmt: Format = "raw",
    root_tree: str | None = None,
    seed: str | None = None,
    progress: Progress | None = None,
    luks_key: KeySource | None = None,
) -> BuildReport:
    """Build `output` from `plan` (see the module docstring). `luks_key`:
    where the LUKS key comes from, instead of the layout's `luks` attribute."""
    started = time.monotonic()
    ident = make_identity(seed)
    specs = plan_filesystems(plan, ident)
    # LUKS, LVM and md RAID partitions (issue 7): `plain` leaves out the
    # filesystems inside them, which engine/image/containers.py makes
    boxes, specs, plain = containers.plan_containers(plan, ident, specs, luks_key)
    containers.check_inputs(boxes, root_tree)
    check_inputs(plan, output, fmt, root_tree, specs)
    timings: list[tuple[str, float]] = []
    mark = [time.monotonic()]

    def step(name: str, done: int = 0, total: int = 1) -> None:
        if progress is not None:
            progress(name, done, total)
        if done == 0:
            _pause_hook(name)

    def close_step(name: str) -> None:
        now = time.monotonic()
        timings.append((name, now - mark[-1]))
        mark.append(now)

    remove_partials(output)
    raw_path = f"{output}.partial.raw" if fmt == "qcow2" else f"{output}.partial"
    workdir = f"{output}.partial.d"
    finished = False
    with _sigterm_raises():
        try:
            step("prepare")
            os.mkdir(workdir, 0o700)
            try:
                fd = os.open(raw_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except OSError as exc:
                raise PartwrightError(f"cannot create {raw_path}: {exc.strerror}") from exc
            try:
                os.ftruncate(fd, plan.disk_bytes)
            finally:
                os.close(fd)
            close_step("prepare")

            step("table")
            ids = write_table(raw_path, plan, ident)
            close_step("table")
            fstab = metadata.fstab_text(plan, specs, ids)

            contents = _stage(plan, specs, ids, root_tree, fstab, ident, workdir)
            origins = [s for s in plain if s.clone_of is None]
            for i, spec in enumerate(origins):
                step("filesystems", i, len(origins))
                make_filesystem(raw_path, spec, ident, workdir, contents.get(spec.number))
            containers.make_containers(raw_path, boxes, ident, workdir, contents)
            step("filesystems", len(origins), len(origins))
            close_step("filesystems")

            clones = [s for s in plain if s.clone_of is not None]
            by_number = {s.number: s for s in specs}
            copied: dict[int, int] = {}
            for i, spec in enumerate(clones):
                step("clones", i, len(clones))
                assert spec.clone_of is not None
                copied[spec.number] = clone_partition(
                    raw_path, by_number[spec.clone_of], spec, ident, workdir)
            copied.update(containers.clone_containers(raw_path, boxes, ident, workdir))
            step("clones", len(clones), len(clones))
            close_step("clones")

            with open(raw_path, "r+b") as img:
                sparse.sparsify(img.fileno(), 0, plan.disk_bytes)
            step("verify")
            checks = verify(raw_path, plan, plain, ids, workdir)
            checks += containers.verify_containers(raw_path, boxes, plain, workdir)
            close_step("verify")

            if fmt == "qcow2":
                step("convert")
                run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw_path,
                     f"{output}.partial"], what="converting to qcow2")
                os.unlink(raw_path)
                close_step("convert")

            step("finish")
            partids_tmp = f"{output}.partids.partial"
            with open(partids_tmp, "w", encoding="utf-8") as text:
                text.write(plan.partids_text())
                text.flush()
                os.fsync(text.fileno())
            with open(f"{output}.partial", "rb") as done:
                os.fsync(done.fileno())
            shutil.rmtree(workdir, ignore_errors=True)
            os.replace(f"{output}.partial", output)
            finished = True
            os.replace(partids_tmp, f"{output}.partids")
            _fsync_dir(os.path.dirname(os.path.abspath(output)))
            close_step("finish")
            if progress is not None:
                progress("finish", 1, 1)
        finally:
            if not finished:
                remove_partials(output)
            elif os.path.lexists(f"{output}.partids.partial"):
                os.unlink(f"{output}.partids.partial")

    parts = []
    for entry in plan.entries:
        found = by_number.get(entry.number)
        parts.append(PartitionReport(
            number=entry.number, key=entry.key, role=entry.role, name=entry.name,
            start=entry.start, end=entry.end, partuuid=ids.partuuid(entry.number),
            filesystem=found.blkid_type if found else None,
            uuid=found.uuid if found else None, label=found.label if found else None,
            clone_of=found.clone_of if found else None,
            copied_bytes=copied.get(entry.number, 0),
        ))
    warnings = tuple(
        f"partition {e.number} ({e.key}): {e.role} partition left unformatted"
        for e in plan.entries if e.role in ("lvm", "raid") and e.number not in {b.number for b in boxes}
    )
    return BuildReport(
        output=output, format=fmt, table=plan.table, disk_id=ids.disk_id,
        disk_bytes=plan.disk_bytes, allocated_bytes=sparse.allocated_bytes(output),
        seconds=time.monotonic() - started, step_seconds=tuple(timings),
        partitions=tuple(parts), checks=checks, partids_path=f"{output}.partids",
        fstab=fstab, seed=seed, warnings=warnings,
    )


def _stage(plan: Plan, specs: tuple[FsSpec, ...], ids: TableIds, root_tree: str | None,
           fstab: str, ident: Identity, workdir: str) -> dict[int, populate.Share]:
    """Each filesystem's share of the root tree; the root's gets etc/fstab and
    /config.partids, where KIWI puts them (dracut's kiwi-repart module
    installs /config.partids from the top of the system root)."""
    if root_tree is None:
        return {}
    mounts = populate.tree_mounts(specs)
    root = next(n for n, mp in mounts.items() if mp == "/")
    added = {root: {"etc/fstab": fstab.encode(), "config.partids": plan.partids_text().encode()}}
    return populate.shares(root_tree, mounts, added)


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
