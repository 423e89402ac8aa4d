"""`partwright build` and `partwright inspect`: write a disk image, read one back.

A build stops cleanly on Ctrl-C, SIGTERM and SIGHUP (a closed terminal or a
dropped SSH session) at any moment: the tools stop, nothing is left behind,
the target stays as it was, and the exit status is 128 + the signal's
number. What the engine notes on the way (a scratch directory left by a
killed build and removed now) is printed on stderr as it happens.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

from engine.errors import PartwrightError
from engine.host.signals import Interrupted, stopping_signals
from partwright import render
from partwright.commands import HELP


def register(sub: Any) -> None:
    b = sub.add_parser("build", help=HELP["build"])
    b.add_argument("file", metavar="FILE", help="KIWI description or bare <type> element")
    b.add_argument("-o", "--output", metavar="IMAGE", required=True, help="the image to write")
    b.add_argument("--format", choices=("raw", "qcow2"), default="raw", help="image format")
    b.add_argument("--root-tree", metavar="DIR",
                   help="fill root and the partitions mounted below it from DIR")
    b.add_argument("--seed", metavar="TEXT",
                   help="derive every UUID, serial and the disk GUID from TEXT (same bytes every time)")
    b.add_argument("--profile", help="use the <type> of this profile")
    b.add_argument("--luks-key", metavar="SOURCE",
                   help="the LUKS key instead of the layout's luks attribute: env:NAME (the"
                        " variable's value) or file:PATH (the file's bytes)")
    b.add_argument("--json", action="store_true", help="the build report as one JSON object")
    b.set_defaults(func=_stoppable(run_build))

    i = sub.add_parser("inspect", help=HELP["inspect"])
    i.add_argument("image", metavar="IMAGE",
                   help="a disk image to read: raw, qcow2 (or another format qemu-img reads),"
                        " a UML COW file over its backing file, or a block device (read only)")
    i.add_argument("--json", action="store_true", help="one JSON object on stdout")
    i.add_argument("--strict", action="store_true",
                   help="exit 1 when there are warnings (a corrupt GPT copy, identifiers used"
                        " twice, IMAGE.partids disagreeing with the table)")
    i.set_defaults(func=run_inspect)


class _Notes(logging.Handler):
    """The engine's warnings (logger `engine`), one line each on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(OSError):
            sys.stderr.write(f"partwright: note: {record.getMessage()}\n")
            sys.stderr.flush()


@contextlib.contextmanager
def _engine_notes() -> Iterator[None]:
    logger = logging.getLogger("engine")
    handler = _Notes(logging.WARNING)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def _stoppable(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run a command with SIGINT, SIGTERM and SIGHUP turned into a clean stop:
    one line, exit status 128 + the signal (a closed terminal may no longer
    take the line: then only the status)."""

    def run(args: argparse.Namespace) -> int:
        try:
            with stopping_signals(), _engine_notes():
                return func(args)
        except Interrupted as stop:
            with contextlib.suppress(OSError):
                sys.stderr.write("partwright: interrupted\n")
                sys.stderr.flush()
            return stop.exit_status

    return run


def run_build(args: argparse.Namespace) -> int:
    from engine.image.build import build
    from engine.image.luks import KeySource
    from engine.kiwi.read import load
    from engine.plan.planner import plan as make_plan

    key = None
    if args.luks_key is not None:  # checked before anything else: a bad source is one line
        if not args.luks_key.startswith(("env:", "file:")):  # never echo it: it may be the secret
            raise PartwrightError("--luks-key takes env:NAME or file:PATH (a passphrase is never"
                                  " given on the command line)")
        key = KeySource.parse(args.luks_key)
        key.read()
    desc = load(args.file, profile=args.profile)
    layout = desc.layout
    if args.root_tree and os.path.isdir(args.root_tree):
        from engine.plan.root_tree import with_root_tree

        layout = with_root_tree(layout, args.root_tree)  # KIWI sizes the disk from it
    plan = make_plan(layout)
    report = _with_progress(
        lambda progress: build(plan, args.output, fmt=args.format, root_tree=args.root_tree,
                               seed=args.seed, progress=progress, luks_key=key,
                               reads=(args.file,))
    )
    if args.json:
        render.json_out(report.to_json())
    else:
        render.build_report(report)
    return 0


def _with_progress(work: Any) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from engine.image.build import STEPS

    console = Console(stderr=True)
    if not console.is_terminal:
        return work(None)
    with Progress(TextColumn("{task.description:<12}"), BarColumn(), TextColumn("{task.fields[step]}"),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("building", total=len(STEPS), step="")

        def progress(step: str, done: int, total: int) -> None:
            index = STEPS.index(step) if step in STEPS else 0
            fraction = done / total if total else 1.0
            bar.update(task, completed=index + fraction, step=f"{step} {done}/{total}")

        return work(progress)


def run_inspect(args: argparse.Namespace) -> int:
    from engine.image.inspect import inspect

    try:
        report = inspect(args.image)
    except OSError as exc:  # unreadable on the way (permissions, an I/O error)
        raise PartwrightError(f"{exc.filename or args.image}: {exc.strerror or exc}") from exc
    if args.json:
        render.json_out(report.to_json())
    else:
        render.inspect_report(report)
    for warning in report.warnings:
        sys.stderr.write(f"partwright: warning: {warning}\n")
    return 1 if args.strict and report.warnings else 0
