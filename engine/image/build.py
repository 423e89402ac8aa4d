"""build(plan, output): write the disk image a plan describes.

The build runs as named stages, one per progress step (each reported to the
progress callback as (step, done, total), engine.host.progress):

    prepare      the image file, sized to the disk
    table        the partition table (pyparted), its identifiers
    filesystems  the origin filesystems (the root tree staged into them),
                 LUKS, LVM and md RAID containers
    clones       block copies of their origins with identifiers of their own
    verify       everything read back and checked against the plan
    convert      qcow2 only: qemu-img convert
    finish       fsync, the image named OUTPUT, OUTPUT.partids next to it

Nothing half-written is ever at OUTPUT: the image is an unnamed file
(O_TMPFILE) in OUTPUT's directory, linked into place at the very end
(engine.host.atomic), and scratch files go to OUTPUT.partial.d/
(engine.host.scratch). A failure, Ctrl-C, SIGTERM or SIGHUP (turned into
an exception in the main thread, engine.host.signals) stops the running
tool with its process group, removes the scratch directory and leaves
OUTPUT as it was. A SIGKILL cannot be caught: the unnamed image vanishes by
itself, and the next build in that directory removes the scratch directory
(and stops the tools the killed build left running), saying so. One build
per OUTPUT at a time: a second one is refused while the first runs.

Test hook: PARTWRIGHT_BUILD_PAUSE="STEP:SECONDS" prints "partwright: pausing
at STEP" on stderr and sleeps when STEP starts, so tests can kill a build at a
known point.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Literal

from engine.errors import PartwrightError
from engine.host import sparse
from engine.host.atomic import AtomicFile
from engine.host.progress import Counter, Progress
from engine.host.scratch import Scratch
from engine.host.signals import finishing, stopping_signals
from engine.host.tools import run
from engine.image import checks, containers, metadata, populate
from engine.image.checks import PlanHasErrors
from engine.image.clone import clone_partition
from engine.image.containers.plan import container_key
from engine.image.filesystems import FsSpec, make_filesystem, plan_filesystems
from engine.image.identity import Identity, make_identity
from engine.image.luks import KeySource
from engine.image.report import BuildReport, PartitionReport
from engine.image.table import TableIds, write_table
from engine.image.verify import FsCheck, verify
from engine.plan.model import Plan

__all__ = ["STEPS", "BuildReport", "Format", "PartitionReport", "PlanHasErrors", "build"]

Format = Literal["raw", "qcow2"]
STEPS = ("prepare", "table", "filesystems", "clones", "verify", "convert", "finish")
PAUSE_ENV = "PARTWRIGHT_BUILD_PAUSE"


@dataclass
class _Build:
    """What the stages of one build share."""

    plan: Plan
    output: str
    fmt: Format
    root_tree: str | None
    ident: Identity
    specs: tuple[FsSpec, ...]
    boxes: tuple[containers.Container, ...]
    plain: tuple[FsSpec, ...]
    progress: Progress | None
    files: ExitStack
    work: str = ""  # the scratch directory
    image: AtomicFile | None = None  # the output being written
    raw: str = ""  # the path the tools write the raw image through
    ids: TableIds | None = None
    fstab: str = ""
    copied: dict[int, int] = field(default_factory=dict)
    checks: tuple[FsCheck, ...] = ()
    timings: list[tuple[str, float]] = field(default_factory=list)

    def step(self, name: str, done: int = 0, total: int = 1) -> None:
        Counter(self.progress, name, total, done).report()
        if done == 0:
            _pause_hook(name)

    def table_ids(self) -> TableIds:
        assert self.ids is not None, "the table stage runs first"
        return self.ids


def build(
    plan: Plan,
    output: str,
    *,
    fmt: Format = "raw",
    root_tree: str | None = None,
    seed: str | None = None,
    progress: Progress | None = None,
    luks_key: KeySource | None = None,
    reads: Iterable[str] = (),
) -> BuildReport:
    """Build `output` from `plan` (see the module docstring). `luks_key`:
    where the LUKS key comes from, instead of the layout's `luks` attribute;
    `reads`: the files the caller read to make the plan (the description),
    which the output must not be."""
    started = time.monotonic()
    checks.refuse_plan_errors(plan)
    ident = make_identity(seed)
    specs = plan_filesystems(plan, ident)
    boxes, specs, plain = containers.plan_containers(plan, ident, specs, luks_key)
    containers.check_inputs(boxes, root_tree)
    keys = [container_key(b) for b in boxes if b.kind == "luks"]
    key_files = {k.where for k in keys if k.kind == "file"}
    checks.check_inputs(plan, output, fmt, root_tree, specs, [*reads, *key_files])
    with ExitStack() as files:
        state = _Build(plan, output, fmt, root_tree, ident, specs, boxes, plain, progress, files)
        try:
            with stopping_signals(), Scratch(f"{output}.partial.d", what=output) as work:
                state.work = work.path
                for name, stage in STAGES:
                    if name == "convert" and fmt != "qcow2":
                        continue
                    mark = time.monotonic()
                    stage(state)
                    state.timings.append((name, time.monotonic() - mark))
        except PartwrightError as exc:
            if state.raw and state.raw in exc.message:  # tools name the unnamed file's path
                raise type(exc)(exc.message.replace(state.raw, output)) from exc
            raise
        except OSError as exc:  # no space left, an unreadable file in the root tree ...
            where = str(exc.filename).replace(state.raw or output, output) if exc.filename else ""
            raise PartwrightError(f"building {output}: {where + ': ' if where else ''}"
                                  f"{exc.strerror or exc}") from exc
    if progress is not None:
        progress("finish", 1, 1)
    return _report(state, time.monotonic() - started, seed)


def _prepare(b: _Build) -> None:
    b.step("prepare")
    if b.fmt == "qcow2":  # the raw image stays unnamed in the scratch directory
        raw = AtomicFile(os.path.join(b.work, "image.raw"), mode=0o600, scratch=b.work)
    else:
        raw = AtomicFile(b.output, replace=True, scratch=b.work)
        b.image = raw
    b.files.enter_context(raw)
    b.raw = raw.path
    try:
        os.ftruncate(raw.fd, b.plan.disk_bytes)
    except OSError as exc:
        if exc.errno == errno.EFBIG:
            raise checks.too_large(raw.fd, raw.directory, b.plan.disk_bytes) from None
        raise


def _table(b: _Build) -> None:
    b.step("table")
    b.ids = write_table(b.raw, b.plan, b.ident)
    b.fstab = metadata.fstab_text(b.plan, b.specs, b.ids)


def _filesystems(b: _Build) -> None:
    contents = _stage_tree(b)
    origins = [s for s in b.plain if s.clone_of is None]
    for i, spec in enumerate(origins):
        b.step("filesystems", i, len(origins))
        make_filesystem(b.raw, spec, b.ident, b.work, contents.get(spec.number))
    containers.make_containers(b.raw, b.boxes, b.ident, b.work, contents)
    b.step("filesystems", len(origins), len(origins))


def _clones(b: _Build) -> None:
    clones = [s for s in b.plain if s.clone_of is not None]
    by_number = {s.number: s for s in b.specs}
    for i, spec in enumerate(clones):
        b.step("clones", i, len(clones))
        assert spec.clone_of is not None
        b.copied[spec.number] = clone_partition(b.raw, by_number[spec.clone_of], spec, b.ident,
                                                b.work)
    b.copied.update(containers.clone_containers(b.raw, b.boxes, b.ident, b.work))
    b.step("clones", len(clones), len(clones))


def _verify(b: _Build) -> None:
    with open(b.raw, "r+b") as img:
        sparse.sparsify(img.fileno(), 0, b.plan.disk_bytes)
    b.step("verify")
    found = verify(b.raw, b.plan, b.plain, b.table_ids(), b.work)
    b.checks = found + containers.verify_containers(b.raw, b.boxes, b.plain, b.work)


def _convert(b: _Build) -> None:
    b.step("convert")
    b.image = b.files.enter_context(AtomicFile(b.output, replace=True, scratch=b.work))
    run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", b.raw, b.image.path],
        what="converting to qcow2")
    b.image.reopen()


def _finish(b: _Build) -> None:
    b.step("finish")
    assert b.image is not None
    partids = b.files.enter_context(AtomicFile(f"{b.output}.partids", replace=True,
                                               scratch=b.work))
    os.write(partids.fd, b.plan.partids_text().encode())
    os.fsync(partids.fd)
    finishing()  # a signal from here on would stop a build whose image is in place
    b.image.commit()
    partids.commit()


STAGES: tuple[tuple[str, Callable[[_Build], None]], ...] = (
    ("prepare", _prepare), ("table", _table), ("filesystems", _filesystems),
    ("clones", _clones), ("verify", _verify), ("convert", _convert), ("finish", _finish),
)
assert tuple(name for name, _ in STAGES) == STEPS


def _report(b: _Build, seconds: float, seed: str | None) -> BuildReport:
    ids = b.table_ids()
    by_number = {s.number: s for s in b.specs}
    parts = []
    for entry in b.plan.entries:
        found = by_number.get(entry.number)
        parts.append(PartitionReport(
            number=entry.number, key=entry.key, role=entry.role, name=entry.name,
            start=entry.start, end=entry.end, partuuid=ids.partuuid(entry.number),
            filesystem=found.blkid_type if found else None,
            uuid=found.uuid if found else None, label=found.label if found else None,
            clone_of=found.clone_of if found else None,
            copied_bytes=b.copied.get(entry.number, 0),
        ))
    boxed = {box.number for box in b.boxes}
    warnings = tuple(
        f"partition {e.number} ({e.key}): {e.role} partition left unformatted"
        for e in b.plan.entries if e.role in ("lvm", "raid") and e.number not in boxed
    )
    return BuildReport(
        output=b.output, format=b.fmt, table=b.plan.table, disk_id=ids.disk_id,
        disk_bytes=b.plan.disk_bytes, allocated_bytes=sparse.allocated_bytes(b.output),
        seconds=seconds, step_seconds=tuple(b.timings), partitions=tuple(parts),
        checks=b.checks, partids_path=f"{b.output}.partids", fstab=b.fstab, seed=seed,
        warnings=warnings,
    )


def _stage_tree(b: _Build) -> dict[int, populate.Share]:
    """Each filesystem's share of the root tree; the root's gets etc/fstab and
    /config.partids, where KIWI puts them (dracut's kiwi-repart module
    installs /config.partids from the top of the system root)."""
    if b.root_tree is None:
        return {}
    mounts = checks.root_mounts(b.specs)
    root = next(n for n, mp in mounts.items() if mp == "/")
    added = {root: {"etc/fstab": b.fstab.encode(), "config.partids": b.plan.partids_text().encode()}}
    return populate.shares(b.root_tree, mounts, added)


def _pause_hook(step: str) -> None:
    name, _, seconds = os.environ.get(PAUSE_ENV, "").partition(":")
    if name == step:
        os.write(2, f"partwright: pausing at {step}\n".encode())
        time.sleep(float(seconds or "30"))
