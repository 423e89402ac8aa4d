"""Merge a UML COW file with its backing file: into a new flat image, or
into the backing file itself.

Merging to a new file copies the backing file's data extents with
copy_file_range (holes stay holes; a reflink clone on XFS/btrfs), then the
sectors the bitmap marks from the COW, skipping zeros so the result stays
sparse. It streams: the bitmap is read a window at a time, never whole.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from engine.cow import qcow2, records, sidecar
from engine.cow.files import (
    AtomicOutput,
    file_size,
    lock,
    open_existing,
    resolve_backing,
    same_file,
    stamp,
)
from engine.cow.format import CowHeader, bitmap_runs, check_length, pack_mtime, read_header
from engine.cow.tree import LEAF
from engine.errors import CowError
from engine.host.atomic import StrPath
from engine.host.progress import Counter, Progress
from engine.host.sparse import (
    IO_STEP,
    copy_bytes,
    data_extents,
    is_zero,
    punch_hole,
    start_writeback,
    subtract,
    try_clone,
)

WINDOW = 64 << 20  # image bytes handled per step (bounds the runs kept in memory)


@dataclass(frozen=True)
class MergeResult:
    target: str
    size: int
    backing_bytes: int  # bytes taken from the backing file
    cow_bytes: int  # bytes taken from the COW (zeros included)
    notes: tuple[str, ...]
    others: tuple[str, ...] = ()  # other COWs over the backing (in place)


@dataclass(frozen=True)
class Opened:
    """A COW whose header, length and backing file have been checked."""

    cow: str
    header: CowHeader
    backing: str
    verdict: sidecar.Verdict


@dataclass(frozen=True)
class OpenedQcow2:
    """A qcow2 overlay whose image and backing file have been checked."""

    cow: str
    info: qcow2.QInfo
    backing: str
    verdict: sidecar.Verdict


def open_checked_qcow2(cow: StrPath, full: bool = False, refresh: bool = True,
                       progress: Progress | None = None) -> OpenedQcow2:
    verdict = sidecar.verify(cow, qcow2.info(cow, with_map=False).backing, None, full=full,
                             refresh=refresh, progress=progress)
    qcow2.check(cow)
    q = qcow2.info(cow)
    return OpenedQcow2(os.fspath(cow), q, q.backing, verdict)


def check(cow: StrPath, backing: str | None = None, full: bool = False,
          progress: Progress | None = None, refresh: bool = False) -> sidecar.Verdict:
    """Check a COW file (UML or qcow2) and its backing file, writing nothing;
    with `refresh`, a backing file replaced by an equal copy (or given at a
    new path) gets its record and the COW header brought up to date."""
    if qcow2.is_qcow2(cow):
        return open_checked_qcow2(cow, full, refresh=refresh, progress=progress).verdict
    return open_checked(cow, backing, full, refresh=refresh, progress=progress,
                        upgrade=refresh).verdict


def open_checked(cow: StrPath, backing: str | None = None, full: bool = False,
                 refresh: bool = True, progress: Progress | None = None,
                 upgrade: bool = False) -> Opened:
    """Read and check a COW file and its backing file; CowError if unusable.
    With upgrade (and refresh) a version 1 record is rewritten as a tree."""
    header = read_header(cow)
    fd = open_existing(cow, os.O_RDONLY, "COW file")
    try:
        check_length(header, file_size(fd), os.fspath(cow))
    finally:
        os.close(fd)
    path = backing if backing is not None else resolve_backing(header.backing_file, cow)
    verdict = sidecar.verify(cow, path, header, full=full, refresh=refresh, progress=progress,
                             upgrade=upgrade)
    if verdict.how == "rehashed" and refresh:
        header = read_header(cow)
    return Opened(os.fspath(cow), header, path, verdict)


def byte_runs(fd: int, header: CowHeader) -> Iterator[tuple[int, int]]:
    """(offset, length) in image bytes of the sectors present in the COW."""
    ss = header.sectorsize
    for s, count in bitmap_runs(fd, header):
        off = s * ss
        end = min((s + count) * ss, header.size)
        if end > off:
            yield off, end - off


def windows(runs: Iterator[tuple[int, int]], size: int,
            window: int | None = None) -> Iterator[tuple[int, int, list[tuple[int, int]]]]:
    """Split the image into windows (WINDOW bytes by default), each with the
    runs (split at window edges) inside it: (start, end, runs)."""
    window = window or WINDOW
    pending = next(runs, None)
    for start in range(0, max(size, 1), window):
        end = min(size, start + window)
        inside: list[tuple[int, int]] = []
        while pending is not None and pending[0] < end:
            off, length = pending
            if off + length <= end:
                inside.append(pending)
                pending = next(runs, None)
            else:
                inside.append((off, end - off))
                pending = (end, off + length - end)
                break
        yield start, end, inside


def _copy_cow_run(cfd: int, header: CowHeader, ofd: int, off: int, length: int,
                  fresh: bool) -> None:
    """Copy image bytes [off, off+length) from the COW's data area to ofd.
    Holes and zero blocks are skipped when ofd is fresh (already holes), else
    punched."""
    base = header.data_offset
    pos = off
    for d_off, d_len in data_extents(cfd, base + off, base + off + length):
        img = d_off - base
        if img > pos and not fresh:
            punch_hole(ofd, pos, img - pos)
        end = img + d_len
        while img < end:
            n = min(IO_STEP, end - img)
            buf = os.pread(cfd, n, base + img)
            if len(buf) < n:
                buf += bytes(n - len(buf))
            if is_zero(buf):
                if not fresh:
                    punch_hole(ofd, img, n)
            else:
                os.pwrite(ofd, buf, img)
            img += n
        pos = end
    if pos < off + length and not fresh:
        punch_hole(ofd, pos, off + length - pos)


def merge_to_new(cow: StrPath, out: StrPath, backing: str | None = None, force: bool = False,
                 progress: Progress | None = None, refresh: bool = True) -> MergeResult:
    """COW plus backing file into a new sparse flat image at out (atomic).
    With `refresh`, a backing file replaced by an equal copy gets its record
    and the COW header brought up to date (as `cow check --refresh`)."""
    if os.path.lexists(out) and same_file(out, cow):
        raise CowError(f"{os.fspath(out)} is the COW file itself")
    if qcow2.is_qcow2(cow):
        return _qcow2_to_new(cow, out, force)
    opened = open_checked(cow, backing, refresh=refresh)
    header = opened.header
    if os.path.lexists(out) and same_file(out, opened.backing):
        raise CowError(f"{os.fspath(out)} is the backing file: use --in-place to merge into it")
    cfd = open_existing(cow, os.O_RDONLY, "COW file")
    bfd = -1
    try:
        lock(cfd, False, "COW file", cow)
        bfd = open_existing(opened.backing, os.O_RDONLY, "backing file")
        lock(bfd, False, "backing file", opened.backing)
        if file_size(bfd) != header.size:
            raise CowError(f"backing file {opened.backing} changed size while opening it")
        inputs = [(cfd, f"COW file {os.fspath(cow)}"), (bfd, f"backing file {opened.backing}")]
        before = [stamp(f) for f, _ in inputs]
        size = header.size
        run_bytes = sum(n for _, n in byte_runs(cfd, header))
        data_bytes = sum(n for _, n in data_extents(bfd, 0, size))
        counter = Counter(progress, "merging", run_bytes + data_bytes)
        copied = 0

        with AtomicOutput(out, force=force) as dst:
            cloned = size > 0 and try_clone(bfd, dst.fd)
            os.ftruncate(dst.fd, size)
            for start, end, runs in windows(byte_runs(cfd, header), size):
                if not cloned:
                    extents = list(data_extents(bfd, start, end))
                    for off, length in subtract(extents, runs):
                        copy_bytes(bfd, off, dst.fd, off, length, counter.add)
                        copied += length
                for off, length in runs:
                    _copy_cow_run(cfd, header, dst.fd, off, length, fresh=not cloned)
                    counter.add(length)
                start_writeback(dst.fd, start, end - start)
            if cloned:
                copied = data_bytes - run_bytes
            for (f, what), then in zip(inputs, before, strict=True):
                if stamp(f) != then:  # a read past a cut end gives zeros: never commit that
                    raise CowError(f"{what} changed during the merge")
            counter.finish()
            dst.commit()
    finally:
        os.close(cfd)
        if bfd >= 0:
            os.close(bfd)
    return MergeResult(os.fspath(out), size, max(copied, 0), run_bytes, opened.verdict.notes)


def _add_leaves(ranges: list[tuple[int, int]], off: int, length: int) -> None:
    """Add the 64 KiB leaves under a run (runs come in order) to ranges."""
    a, b = off // LEAF, (off + length - 1) // LEAF + 1
    if ranges and a <= ranges[-1][1]:
        ranges[-1] = (ranges[-1][0], max(ranges[-1][1], b))
    else:
        ranges.append((a, b))


def _others(backing: str, cow: StrPath, force: bool) -> tuple[str, ...]:
    others = tuple(records.known_cows(backing, exclude=cow))
    if others and not force:
        shown = ", ".join(others[:3]) + (" ..." if len(others) > 3 else "")
        raise CowError(f"merging in place changes backing file {backing}, which "
                       f"{len(others)} other COW file(s) use ({shown}); use --force to do it anyway")
    return others


def _qcow2_to_new(cow: StrPath, out: StrPath, force: bool) -> MergeResult:
    opened = open_checked_qcow2(cow)
    if os.path.lexists(out) and same_file(out, opened.backing):
        raise CowError(f"{os.fspath(out)} is the backing file: use --in-place to merge into it")
    copied = qcow2.backing_data(cow)
    with AtomicOutput(out, force=force) as dst:
        qcow2.convert(cow, dst.path)
        dst.reopen()
        dst.commit()
    return MergeResult(os.fspath(out), opened.info.size, copied, opened.info.present,
                       opened.verdict.notes)


def _qcow2_in_place(cow: StrPath, force: bool, keep_record: bool) -> MergeResult:
    opened = open_checked_qcow2(cow)
    others = _others(opened.backing, cow, force)
    qcow2.commit(cow)
    notes = list(opened.verdict.notes)
    if opened.verdict.sidecar is not None and keep_record:
        sidecar.write(cow, sidecar.record(opened.backing))
    elif opened.verdict.sidecar is not None:
        os.unlink(sidecar.sidecar_path(cow))
        notes.append(f"note: removed {sidecar.sidecar_path(cow)} (not re-hashed)")
    notes.append(f"warning: backing file {opened.backing} changed: every other COW file "
                 "over it is now invalid")
    notes.extend(f"warning: {other} is now invalid" for other in others)
    return MergeResult(opened.backing, opened.info.size, 0, opened.info.present, tuple(notes),
                       others)


def merge_in_place(cow: StrPath, backing: str | None = None, force: bool = False,
                   progress: Progress | None = None, keep_record: bool = True) -> MergeResult:
    """Write the COW's sectors into its backing file.

    Every check runs before the first write. Other COWs over the same
    backing file become invalid: when sidecars show there are any, force is
    required. This COW stays valid (its header mtime is refreshed, and with
    keep_record its record: only the 64 KiB leaves written are hashed again), since
    its sectors now equal the backing file's. Without keep_record its
    sidecar is removed, leaving UML's size and mtime check.
    """
    if qcow2.is_qcow2(cow):
        return _qcow2_in_place(cow, force, keep_record)
    opened = open_checked(cow, backing)
    header = opened.header
    others = _others(opened.backing, cow, force)
    if keep_record and opened.verdict.sidecar is not None:
        opened.verdict.sidecar.check_leaves()  # a corrupt record stops us before any write
    try:
        cfd = os.open(cow, os.O_RDWR | os.O_CLOEXEC)
        cow_writable = True
    except PermissionError:
        cfd = open_existing(cow, os.O_RDONLY, "COW file")
        cow_writable = False
    bfd = -1
    notes = list(opened.verdict.notes)
    try:
        lock(cfd, cow_writable, "COW file", cow)
        bfd = open_existing(opened.backing, os.O_RDWR, "backing file")
        lock(bfd, True, "backing file", opened.backing)
        if file_size(bfd) != header.size:
            raise CowError(f"backing file {opened.backing} changed size while opening it")
        cow_before = stamp(cfd)
        # the bitmap is read twice only for a progress bar's total
        total = sum(n for _, n in byte_runs(cfd, header)) if progress is not None else 0
        counter = Counter(progress, "merging", total)
        written: list[tuple[int, int]] = []  # leaf ranges, merged as the runs come
        merged = 0
        for off, length in byte_runs(cfd, header):
            base = header.data_offset
            pos = off
            for d_off, d_len in data_extents(cfd, base + off, base + off + length):
                img = d_off - base
                if img > pos:
                    punch_hole(bfd, pos, img - pos)
                copy_bytes(cfd, d_off, bfd, img, d_len)
                pos = img + d_len
            if pos < off + length:
                punch_hole(bfd, pos, off + length - pos)
            _add_leaves(written, off, length)
            merged += length
            counter.add(length)
        with ThreadPoolExecutor(1) as pool:  # the leaves are hashed while the disk writes
            synced = pool.submit(os.fsync, bfd)
            if stamp(cfd) != cow_before:
                raise CowError(f"COW file {os.fspath(cow)} changed during the merge: backing "
                               f"file {opened.backing} may hold part of it")
            if file_size(bfd) != header.size:
                raise CowError(f"backing file {opened.backing} changed size during the merge")
            kept = None
            if opened.verdict.sidecar is not None and keep_record:
                kept, more = sidecar.update_written(opened.verdict.sidecar, bfd, written,
                                                    opened.backing)
                notes.extend(more)
            synced.result()
        if kept is not None:  # the record, once what it describes is on disk
            sidecar.write(cow, kept)
        elif opened.verdict.sidecar is not None:
            os.unlink(sidecar.sidecar_path(cow))
            notes.append(f"note: removed {sidecar.sidecar_path(cow)} (not re-hashed); "
                         "this COW now has only UML's size and mtime check")
        st = os.fstat(bfd)
        if cow_writable:
            os.pwrite(cfd, pack_mtime(header, int(st.st_mtime)), header.mtime_offset)
            os.fsync(cfd)
    finally:
        os.close(cfd)
        if bfd >= 0:
            os.close(bfd)
    if merged:
        notes.append(f"warning: backing file {opened.backing} changed: every other COW file "
                     "over it is now invalid")
        for other in others:
            notes.append(f"warning: {other} is now invalid")
    return MergeResult(opened.backing, header.size, 0, merged, tuple(notes), others)
