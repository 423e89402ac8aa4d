"""`partwright cow`: copy-on-write overlays (UML COW and qcow2).

  cow create --backing BASE OUT [--format uml|qcow2]
  cow merge COW (-o FLAT | --in-place) [--force]
  cow rebase BASE IMG... --out-dir DIR [--pick-base]
  cow check COW [--full] [--refresh]
  cow info COW [--json]

Results go to stdout, notes and warnings to stderr, a progress bar to stderr
when it is a terminal. Bad input is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

from engine import cow as engine_cow
from engine.errors import CowError
from engine.host.progress import Progress
from partwright.commands import HELP


def register(sub: Any) -> None:
    p = sub.add_parser("cow", help=HELP["cow"])
    p.set_defaults(func=lambda args: _help(p))
    cs = p.add_subparsers(dest="cow_command", metavar="ACTION", parser_class=type(p))

    c = cs.add_parser("create", help="a new, empty COW file over a backing file")
    c.add_argument("out", metavar="OUT", help="the COW file to write")
    c.add_argument("--backing", required=True, metavar="BASE", help="the backing file")
    c.add_argument("--format", choices=("uml", "qcow2"), default="uml",
                   help="UML COW v3 (default) or a qcow2 overlay")
    c.add_argument("--force", action="store_true", help="replace OUT if it exists")
    c.add_argument("--no-record", action="store_true",
                   help=f"do not write OUT{engine_cow.sidecar.SUFFIX} (no digests)")
    c.set_defaults(func=_guard(run_create))

    m = cs.add_parser("merge", help="merge a COW file with its backing file")
    m.add_argument("cow", metavar="COW", help="the COW file to merge (UML COW or qcow2)")
    where = m.add_mutually_exclusive_group(required=True)
    where.add_argument("-o", "--output", metavar="FLAT", help="write a new flat image")
    where.add_argument("--in-place", action="store_true",
                       help="write the COW's sectors into the backing file")
    m.add_argument("--force", action="store_true",
                   help="replace FLAT; merge in place even though other COWs use the backing")
    m.add_argument("--backing", metavar="PATH",
                   help="the backing file, if it moved (as uml_moo -b)")
    m.add_argument("--drop-record", action="store_true",
                   help="in place: do not re-hash the chunks written; remove the COW's "
                        "backing record instead")
    m.set_defaults(func=_guard(run_merge))

    r = cs.add_parser("rebase", help="diff flat images against BASE into one COW file each")
    r.add_argument("base", metavar="BASE", help="the flat image the COW files share")
    r.add_argument("images", metavar="IMG", nargs="+",
                   help="flat images of the same size as BASE, each to become IMG.cow")
    r.add_argument("--out-dir", required=True, metavar="DIR",
                   help="the directory to write the COW files (and their records) into; made"
                        " when it does not exist")
    r.add_argument("--pick-base", action="store_true",
                   help="use whichever of BASE and the images minimises the total COW bytes")
    r.add_argument("--force", action="store_true", help="replace existing COW files")
    r.add_argument("--json", action="store_true", help="one JSON object on stdout")
    r.set_defaults(func=_guard(run_rebase))

    k = cs.add_parser("check", help="check a COW file and that its backing file is unchanged")
    k.add_argument("cow", metavar="COW", help="the COW file to check (UML COW or qcow2)")
    k.add_argument("--full", action="store_true", help="re-hash the backing file even if unchanged")
    k.add_argument("--backing", metavar="PATH", help="the backing file, if it moved")
    k.add_argument("--refresh", action="store_true",
                   help="when the backing file was replaced by an equal copy or moved: record"
                        " it as it is now (the COW's record, and the UML header's mtime and"
                        " path); without it check writes nothing")
    k.set_defaults(func=_guard(run_check))

    i = cs.add_parser("info", help="describe a COW file")
    i.add_argument("cow", metavar="COW", help="the COW file to describe (UML COW or qcow2)")
    i.add_argument("--json", action="store_true", help="one JSON object on stdout")
    i.set_defaults(func=_guard(run_info))


def _guard(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn an unexpected OS error (disk full, I/O error) into one line, exit 2."""

    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except BrokenPipeError:
            raise
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            raise CowError(f"{where}{exc.strerror or exc}") from None

    return run


def _help(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return 2


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[Progress | None]:
    """A rich progress bar on stderr when it is a terminal, else nothing."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=total)

        yield update


def _notes(notes: tuple[str, ...] | list[str]) -> None:
    for note in notes:
        sys.stderr.write(f"partwright: {note}\n")


def run_create(args: argparse.Namespace) -> int:
    with progress_bar("recording backing file") as prog:
        made = engine_cow.create_cow(args.backing, args.out, fmt=args.format, force=args.force,
                                 record=not args.no_record, progress=prog)
    print(f"created {made.format} COW {made.cow} over {made.backing} ({made.size} bytes)")
    return 0


def run_merge(args: argparse.Namespace) -> int:
    if args.in_place:
        with progress_bar("merging in place") as prog:
            res = engine_cow.merge_in_place(args.cow, backing=args.backing, force=args.force,
                                            progress=prog, keep_record=not args.drop_record)
        _notes(res.notes)
        print(f"merged {res.cow_bytes} bytes of {args.cow} into {res.target}")
        return 0
    with progress_bar("merging") as prog:
        res = engine_cow.merge_to_new(args.cow, args.output, backing=args.backing,
                                      force=args.force, progress=prog)
    _notes(res.notes)
    print(f"wrote {res.target} ({res.size} bytes: {res.cow_bytes} from the COW, "
          f"{res.backing_bytes} copied from the backing file)")
    return 0


def run_rebase(args: argparse.Namespace) -> int:
    with progress_bar("rebasing") as prog:
        res = engine_cow.rebase_images(args.base, args.images, args.out_dir, choose=args.pick_base,
                                force=args.force, progress=prog)
    if args.json:
        json.dump(dataclasses.asdict(res), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    if res.costs:
        for cand, cost in res.costs:
            print(f"base candidate {cand}: {cost} bytes of COW in total")
    print(f"base: {res.base}")
    for item in res.items:
        print(f"{item.cow}: {item.sectors} sectors ({item.sectors * 512} bytes) differ from "
              f"the base; {item.changed_chunks} changed 4 MiB chunks verified by merging back")
    return 0


def run_check(args: argparse.Namespace) -> int:
    with progress_bar("hashing backing file") as prog:
        verdict = engine_cow.check(args.cow, backing=args.backing, full=args.full, progress=prog,
                                   refresh=args.refresh)
    _notes(verdict.notes)
    how = {"fast": "size, mtime, ctime and inode unchanged",
           "rehashed": "content digests match",
           "uml": "size and mtime only (no backing record)",
           "none": "not checked (no backing record)"}[verdict.how]
    print(f"ok: {args.cow} over {verdict.backing} ({how})")
    return 0


def run_info(args: argparse.Namespace) -> int:
    inf = engine_cow.cow_info(args.cow)
    if args.json:
        json.dump(dataclasses.asdict(inf), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    rows: list[tuple[str, object]] = [
        ("format", f"{inf.format} {inf.version}"),
        ("backing file", inf.backing + ("" if inf.backing_exists else "  (missing)")),
        ("image size", inf.size),
        ("sectors present", f"{inf.sectors_present} ({inf.bytes_present} bytes)"),
        ("file length", inf.file_len),
        ("allocated", inf.allocated),
        ("backing record", "yes" if inf.sidecar else "no (UML's size+mtime check only)"),
    ]
    if inf.format == "uml":
        rows += [("sector size", inf.sectorsize), ("alignment", inf.alignment),
                 ("bitmap", f"{inf.bitmap_len} bytes at {inf.bitmap_offset}"),
                 ("data offset", inf.data_offset), ("header mtime", inf.header_mtime)]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0
