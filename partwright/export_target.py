"""`partwright export FILE --target rauc|swupdate|mender|repart|sysupdate -o OUT`:
the configuration of the updater that uses the clones.

The engine (engine.targets) answers with files and diagnostics; this module
resolves the device naming the user chose (`--disk`, by-partlabel, or the
PARTUUIDs of `--image IMAGE` or `--seed`), prints the diagnostics and writes
the files: OUT is the file for a one-file target (swupdate) and a folder for
the others. Nothing is written when a check fails (exit 1, one line). A new
folder appears whole (built next to it, then renamed); in an existing folder
each file is replaced atomically, and a file this export would not write
there is refused rather than left to confuse the updater.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from engine.errors import PartwrightError
from engine.plan.model import Diagnostic, Plan
from engine.targets.model import (
    BOOTLOADERS,
    SCHEMES,
    TARGETS,
    Naming,
    Options,
    Scheme,
    TargetExport,
)

# names an updater reads from its folder: a stale one would be read too
FOLDER_PATTERNS = {"repart": "*.conf", "sysupdate": "*.transfer"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("updater configuration (--target)")
    g.add_argument("--target", choices=TARGETS,
                   help="write the slot configuration of this updater instead of the description")
    g.add_argument("--disk", metavar="DEV",
                   help="the disk's device (/dev/sda, /dev/mmcblk0): slots are its partitions")
    g.add_argument("--devices", choices=SCHEMES,
                   help="how slots name devices (default: partuuid with --image/--seed,"
                        " disk with --disk, else partlabel)")
    g.add_argument("--image", metavar="IMAGE", dest="target_image",
                   help="a raw image partwright built: slots by its PARTUUIDs")
    g.add_argument("--seed", metavar="TEXT", dest="target_seed",
                   help="the --seed of the build: slots by the PARTUUIDs it gives")
    g.add_argument("--bootloader", choices=BOOTLOADERS, default="grub",
                   help="RAUC's bootloader backend (default grub)")
    g.add_argument("--grubenv", metavar="PATH",
                   help="where RAUC keeps the grubenv (default: on the ESP)")
    g.add_argument("--check", metavar="CONF", dest="check_file",
                   help="check an existing RAUC system.conf against RAUC's rules and the layout")
    g.add_argument("--json", action="store_true", dest="target_json",
                   help="print the files and diagnostics as one JSON object")


def refuse_mixing(args: argparse.Namespace) -> None:
    """Target options without --target, or description options with it."""
    if args.target is None:
        given = [flag for flag, value in (
            ("--disk", args.disk), ("--devices", args.devices), ("--image", args.target_image),
            ("--seed", args.target_seed), ("--grubenv", args.grubenv), ("--check", args.check_file),
            ("--json", args.target_json)) if value]
        if given:
            raise PartwrightError(f"{given[0]} needs --target")
        if not args.output:
            raise PartwrightError("-o OUT is required")
        return
    for flag, value in (("--type-only", args.type_only), ("--upgrade", args.upgrade)):
        if value:
            raise PartwrightError(f"{flag} writes a description; it does not go with --target")
    if args.check_file and args.target != "rauc":
        raise PartwrightError("--check reads a RAUC system.conf: use it with --target rauc")
    if not (args.output or args.check_file or args.target_json):
        raise PartwrightError("-o OUT is required")


def naming(args: argparse.Namespace, plan: Plan) -> Naming:
    from engine.targets.slots import check_disk

    disk = check_disk(args.disk) if args.disk else None
    scheme: Scheme = args.devices or (
        "partuuid" if (args.target_image or args.target_seed) else "disk" if disk else "partlabel")
    if scheme == "disk" and disk is None:
        raise PartwrightError("--devices disk needs --disk DEV")
    if scheme != "partuuid":
        return Naming(scheme, disk)
    if args.target_image and args.target_seed:
        raise PartwrightError("give --image or --seed, not both")
    from engine.image.table import image_ids, planned_ids

    if args.target_image:
        if not os.path.isfile(args.target_image):
            raise PartwrightError(f"--image {args.target_image}: no such file")
        ids = image_ids(args.target_image, plan)
        source = args.target_image
    elif args.target_seed is not None:
        from engine.image.identity import make_identity

        ids = planned_ids(plan, make_identity(args.target_seed))
        source = f"--seed {args.target_seed}"
    else:
        raise PartwrightError("--devices partuuid needs --image IMAGE or --seed TEXT")
    return Naming("partuuid", disk, ids.partuuids, source)


def _line(d: Diagnostic) -> str:
    where = f" ({d.partition})" if d.partition else ""
    fix = f"; fix: {d.fix}" if d.fix else ""
    return f"{d.code}{where}: {d.message}{fix}"


def _report(export: TargetExport) -> int:
    if export.errors:
        first, rest = export.errors[0], export.errors[1:]
        more = f" (and {len(rest)} more: {', '.join(d.code for d in rest)})" if rest else ""
        sys.stderr.write(f"partwright: error: {export.target}: {_line(first)}{more}\n")
        return 1
    for d in export.diagnostics:
        if d.severity == "warning":
            sys.stderr.write(f"partwright: warning: {_line(d)}\n")
    return 0


def run(args: argparse.Namespace, desc: Any, plan: Plan) -> int:
    from engine.targets.export import export_target

    names = naming(args, plan)
    if args.check_file:
        return _check(args.check_file, plan, names)
    root = None if desc.bare else desc.doc.getroot()
    name = args.name
    if root is not None and args.name == "partwright-image" and root.get("name"):
        name = root.get("name")
    version = root.findtext(".//preferences/version") if root is not None else None
    opts = Options(args.target, names, name=name, version=(version or "1.0.0").strip(),
                   bootloader=args.bootloader, grubenv=args.grubenv)
    export = export_target(plan, opts)
    if args.target_json:
        json.dump(export.to_json(), sys.stdout, indent=1)
        sys.stdout.write("\n")
    status = _report(export)
    if status or not args.output:
        return status
    write(export, args.output)
    return 0


def _check(path: str, plan: Plan, names: Naming) -> int:
    from engine.targets.rauc_conf import check_text

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PartwrightError(f"--check {path}: cannot read: {exc}") from None
    status = 0
    for d in check_text(text, plan, names):
        sys.stderr.write(f"partwright: {d.severity}: {path}: {_line(d)}\n")
        status = 1 if d.severity == "error" else status
    return status


def write(export: TargetExport, output: str) -> None:
    from engine.kiwi.write import write_atomic

    if output == "-":
        for f in export.files:
            if export.folder:
                sys.stdout.write(f"# ==> {f.path} <==\n")
            sys.stdout.write(f.text)
        sys.stdout.flush()
        return
    out = Path(output)
    if not export.folder:
        only = export.files[0]
        write_atomic(out / only.path if out.is_dir() else out, only.text.encode())
        return
    if out.exists() and not out.is_dir():
        raise PartwrightError(f"{output} is a file: --target {export.target} writes a folder")
    if not out.exists():
        _new_folder(export, out)
        return
    pattern = FOLDER_PATTERNS.get(export.target)
    if pattern:
        ours = {f.path for f in export.files}
        stale = sorted(p.name for p in out.glob(pattern) if p.name not in ours)
        if stale:
            raise PartwrightError(
                f"{output} holds {stale[0]}, which this export does not write and"
                f" {export.target} would read: remove it or choose another folder")
    for f in export.files:
        write_atomic(out / f.path, f.text.encode())


def _new_folder(export: TargetExport, out: Path) -> None:
    parent = out.parent if str(out.parent) else Path(".")
    try:
        tmp = tempfile.mkdtemp(dir=parent, prefix=f".{out.name}.", suffix=".partial")
    except OSError as exc:
        raise PartwrightError(f"{out}: cannot write: {exc.strerror or exc}") from None
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        for f in export.files:
            with open(os.path.join(tmp, f.path), "wb") as fh:
                fh.write(f.text.encode())
                fh.flush()
                os.fsync(fh.fileno())
        os.rename(tmp, out)
        tmp = ""
        fd = os.open(parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise PartwrightError(f"{out}: cannot write: {exc.strerror or exc}") from None
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
