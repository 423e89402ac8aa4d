"""KIWI NG 11.1.6 as a differential oracle for partwright's planner (test-only).

KIWI is GPL-3.0: this file runs KIWI's own partitioning code in a separate
interpreter; partwright's engine never imports it. KIWI comes from the test
extra (``kiwi==11.1.6``); sgdisk (gdisk), sfdisk and fdisk (util-linux) must be
installed.

Usage
-----
``python tests/kiwi_oracle.py DESCRIPTION.xml [--arch x86_64|aarch64|ppc64le]
[--root-mbytes N] [--profile NAME] [--verbose] [--keep FILE]`` prints one JSON
object::

    {"table": "gpt" | "msdos" | null,
     "disk_sectors": N,          # size of the final disk file, 512-byte sectors
     "disk_mbytes": M,           # the MiB KIWI partitions (get_disksize_mbytes;
                                 # <size unpartitioned> is appended afterwards)
     "partitions": [{"number", "start", "end", "code", "name",
                     "type_guid" (gpt) | "bootable" (msdos)}, ...],
     "partids": {key: value},    # /config.partids, in KIWI's (sorted) order
     "error": null | "one line", # "<stage>: <Exception>: <message>"
     "calculated_mbytes": C,     # KIWI's size estimate, even when <size> wins
     "mbr": null | [...],        # MBR slots when they are not one protective EE
                                 # (gpt_hybrid_mbr)
     "kiwi_warnings": [...]}     # KIWI's own warning log lines

``code``: sgdisk's 4-hex code on gpt ("EF02", "8300"; "FFFF" for a GUID this
sgdisk does not know, see ``type_guid``); on msdos the type byte in lower-case
hex without leading zeros ("83", "5", "8e", "fd", "82", "41"). ``name`` is the
GPT name, null on msdos. When KIWI fails, ``error`` says why and the table
that was written so far is still read back, with the partids registered so far.

``run_oracle(xml_text, arch, root_mbytes, profile)`` runs the same in a
subprocess (``sys.executable``) and returns the parsed JSON: KIWI keeps global
state (platform name, temp dir, runtime config) that must not leak between runs.

What runs, what is stubbed
--------------------------
* ``XMLDescription.load()`` (RelaxNG + schematron), ``XMLState`` with the
  profile; the ``oem`` build type (the default type when it is oem).
* ``Defaults.set_platform_name(arch)`` before anything else: aarch64 gets no
  p.legacy and firmware efi by default, ppc64le gets ofw, gpt and p.prep.
* The real ``DiskBuilder.__init__``, with only ``BootImage`` (initrd) and
  ``SystemSetup`` replaced by inert stand-ins (neither takes part in
  partitioning); then, as ``DiskBuilder.create_disk`` does,
  ``disk_setup.get_disksize_mbytes(root_clone, boot_clone)``, a sparse file of
  that many MiB (what ``LoopDevice.create`` makes with qemu-img), the real
  ``Disk`` from ``DiskBuilder._disk_instance`` on a DeviceProvider that names
  the file, and the real ``_build_and_map_disk_partitions``: sgdisk, fdisk and
  sfdisk run on the file exactly as KIWI calls them.
* Stubbed: ``Disk.map_partitions`` (kpartx/partx) and ``Disk.get_device``
  (device nodes), so nothing under /dev is created or opened.
* msdos start-sector fix-up: KIWI *always* calls
  ``PartitionerMsDos.set_start_sector`` on msdos (disk_start_sector defaults to
  2048), which runs fdisk ``d 1, n p [1] START`` on the disk. It runs for real
  here; only its ``lsblk`` query (``BlockID.get_partition_count``, which needs
  a block device) is answered with 0, which is what lsblk reports for KIWI's
  loop device (``losetup -f --show``, no partition scan, nothing mapped yet).
  ``KIWI_ORACLE_MSDOS_START=scanned`` answers with the table's partition count
  instead (same tables in every case tried); ``=stub`` skips the fix-up for
  2048 and reports an error for other start sectors (the older oracle).
* After ``_build_and_map_disk_partitions``, the partids edits that
  ``create_disk`` makes: overlayroot without write partition sets
  kiwi_RootPart = kiwi_ROPart; mdraid adds kiwi_RaidPart = kiwi_RootPart and
  kiwi_RaidDev = "/dev/md0" (``RaidDevice`` takes the first /dev/mdN that does
  not exist on the build host: md0 on a clean host; the oracle does not look).
* ``<size unpartitioned>``: ``append_unpartitioned_space`` is replayed: the
  file grows by that much and KIWI's ``Partitioner.resize_table()`` runs
  (gpt: ``sgdisk --resize-table 128`` moves the backup GPT to the new end).
* ``apply_dps_codes``: KIWI asks the host's ``systemd-id128 show``; for
  ``--arch`` other than the host's, the oracle answers with the host's table
  whose generic root/usr rows are replaced by the target arch rows, as a
  native build host would answer (aarch64 root -> sgdisk 8305; ppc64le root
  GUID C31C45E6-... is unknown to sgdisk 1.0.9 and shows as FFFF).
* overlayroot without ``overlayroot_readonly_partsize`` makes a squashfs of
  the root tree: it needs mksquashfs, else the error is
  ``KiwiCommandNotFound: Command "mksquashfs" not found``.

Isolation: HOME, TMPDIR and KIWI's temp location (``/var/tmp`` by default) are
a fresh temp dir, removed afterwards; KIWI's runtime config files
(/etc/kiwi.yml, /usr/share/kiwi/kiwi.yml, ~/.config/kiwi) are not read; KIWI's
logger goes to a private handler (``--verbose`` copies it to stderr). No root
needed; as root nothing on the host is touched either.

Speed: sgdisk does ``sync(); sleep(1)`` after every write, sfdisk sleeps
0.25 s: 19.6 s for the seed example, 3.3 s for a 7-row msdos table. When a C
compiler is present the oracle preloads a tiny library (built once, cached in
the temp dir as kiwi-oracle-nosleep-UID-HASH.so) that makes sleep/nanosleep/
sync no-ops for the tools; the tables are byte-for-byte the same (checked)
and a call takes about 0.5 s (0.23 s of it schematron compilation).
``KIWI_ORACLE_NO_SHIM=1`` turns it off.

The disk size KIWI computes (no ``<size>``)
-------------------------------------------
``DiskSetup.get_disksize_mbytes`` (storage/setup.py), all in MiB::

    D = R * (root_clone + 1)
      + sum over <partition> WITH a mountpoint: (size - data) * (clone + 1)
      + (LVM ? 80 + V : swap)
      + legacy + boot * (boot_clone + 1) + spare + efi + prep + recovery

* R = int(f(du)), du = int(``du -s --apparent-size --block-size 1`` of the
  root tree without proc/sys/dev, / 1048576), floored to whole MiB first.
  f: ext2/3/4: du * 1.5 + 2 * files * 256 / 1048576 (files = ``find root |
  wc -l``, the root dir included; 256 = kiwi_inode_size); xfs, btrfs:
  du * 1.5; anything else: du. The clone factor multiplies the int.
* The oracle's root tree is one directory holding one sparse file of
  ``--root-mbytes`` N MiB apparent size: du = N (the directory's own apparent
  size, 40..4096 bytes, is floored away), files = 2, the ext inode term is
  2 * 2 * 256 / 1048576 = 0.0009765625 MiB and never changes the int. So for
  ext*, xfs and btrfs alike: R = floor(3 * N / 2) (N=1024: 1536, N=1001: 1501).
* Custom partitions: ``data`` is the customized size of root/<mountpoint>
  (0 here: the fake tree has no such dir); squashfs counts its full size; a
  result <= 0 raises KiwiPartitionTooSmallError. Partitions WITHOUT a
  mountpoint add nothing.
* LVM (``<systemdisk>`` with a non-btrfs filesystem, or ``preferlvm``): 80 +
  V; with oem-resize (the default) V = min_volume * (number of volumes, the
  root volume LVRoot included, and LVSwap when oem-swap is on); min_volume =
  btrfs 120, xfs 300, else 30. With oem-resize false: per volume with a
  size, (size - data) or freespace, + min_volume; plus, when ``@root`` has a
  size, (size - R + data of all volumes) + min_volume. The swap size itself
  is never added with LVM. btrfs + systemdisk is not LVM (swap is added).
* swap = oem-swapsize or 128 when oem-swap is true (oem-swapsize alone: 0).
* legacy = 2 (x86_64 EFI firmware, gpt with eficsm not false, or
  efiparttable msdos); boot = bootpartsize or 300 when a boot partition is
  needed (0 otherwise, so boot_clone adds nothing without one); spare =
  spare_part (middle or last); efi = efipartsize or 20; prep = 8 (ofw);
  recovery = int(oem-recovery-part-size * 1.7) with oem-inplace-recovery.
* Not counted: the 1 MiB before partition 1, the GPT backup, msdos logical
  partition gaps, the overlayroot read-only partition, the raid metadata.
* ``<size>``: value (unit G = *1024; ``unpartitioned`` subtracted first, in
  the same unit) replaces D, even when smaller (warning only);
  ``additive="true"`` gives value + D.

Worked examples (root 1024 MiB, x86_64):

* bios, ext4 or xfs, nothing else: 1536 (msdos, root 2048..3145727).
* efi, ext4 or xfs: 1536 + 2 + 20 = 1558; aarch64 efi: 1556.
* efi, xfs, root_clone=1: 2 * 1536 + 22 = 3094; ext4 root_clone=2: 4630.
* efi, xfs, home size=10 clone=2 with mountpoint /home: 1558 + 3 * 10 =
  1588; the same without mountpoint: 1558.
* the seed example without its <size>: 2 * 1536 + 30 + 2 + 2 * 300 + 20 =
  3724 (and KIWI then fails: 2 x 2048 MiB oem-systemsize do not fit).
* bios LVM ext4 (boot partition implied): 1536 + 80 + 30 + 300 = 1946; xfs:
  1536 + 80 + 300 + 300 = 2216; with oem-swap: + one more min_volume.
* bios ext4 oem-swap: 1536 + 128 = 1664; spare_part=1G: 1536 + 1024 = 2560.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

ARCHES = ("x86_64", "aarch64", "ppc64le")
#: RuntimeChecker checks KIWI's build task runs (tasks/base.py) that concern
#: the layout (the others look at packages, repositories and the boot setup)
LAYOUT_CHECKS = (
    "check_volume_setup_defines_reserved_labels",
    "check_volume_setup_defines_multiple_fullsize_volumes",
    "check_volume_setup_has_no_root_definition",
    "check_volume_label_used_with_lvm",
    "check_swap_name_used_with_lvm",
    "check_partuuid_persistency_type_used_with_mbr",
)
SECTOR = 512
MIB = 1024 * 1024

#: sgdisk sleeps 1 s after every write (sync(); sleep(1) before it asks the
#: kernel to re-read the table) and sfdisk 0.25 s. On a plain file that wait
#: protects nothing; this preload library turns the waits and the global
#: sync() into no-ops for the tools KIWI runs. Every byte they write is the same.
_NOSLEEP_C = r"""
#include <time.h>
#include <unistd.h>
unsigned int sleep(unsigned int s) { (void)s; return 0; }
int usleep(useconds_t u) { (void)u; return 0; }
int nanosleep(const struct timespec *a, struct timespec *b) { (void)a; (void)b; return 0; }
int clock_nanosleep(clockid_t c, int f, const struct timespec *a, struct timespec *b)
{ (void)c; (void)f; (void)a; (void)b; return 0; }
void sync(void) { }
"""


# ---------------------------------------------------------------------------
# parent side: no KIWI import here
# ---------------------------------------------------------------------------


def run_oracle(
    xml_text: str,
    arch: str = "x86_64",
    root_mbytes: int = 1024,
    profile: str | None = None,
    timeout: float = 120.0,
    root_tree: str | None = None,
) -> dict[str, Any]:
    """Run the oracle on ``xml_text`` in a fresh interpreter; return its JSON."""
    with tempfile.TemporaryDirectory(prefix="kiwi-oracle-in-") as tmp:
        xml_path = Path(tmp) / "config.xml"
        xml_path.write_text(xml_text, encoding="utf-8")
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            str(xml_path),
            "--arch",
            arch,
            "--root-mbytes",
            str(root_mbytes),
        ]
        if profile:
            cmd += ["--profile", profile]
        if root_tree:
            cmd += ["--root-tree", root_tree]
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise RuntimeError(
            f"kiwi oracle printed no JSON (rc={proc.returncode}): "
            f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        ) from exc


def kiwi_available() -> str | None:
    """None when the oracle can run, else the reason it cannot."""
    proc = subprocess.run(
        [sys.executable, "-c", "import kiwi.builder.disk"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return f"KIWI NG cannot be imported ({last}); pip install 'kiwi==11.1.6'"
    for tool in ("sgdisk", "sfdisk", "fdisk"):
        if _which(tool) is None:
            return f"{tool} is not installed"
    return None


def _which(tool: str) -> str | None:
    found = shutil.which(tool)
    if found:
        return found
    for extra in ("/usr/sbin", "/sbin"):
        if os.access(os.path.join(extra, tool), os.X_OK):
            return os.path.join(extra, tool)
    return None


# ---------------------------------------------------------------------------
# child side
# ---------------------------------------------------------------------------


def _one_line(text: str, limit: int = 400) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _nosleep_library(private_dir: Path) -> str | None:
    """Build (once, cached in the temp dir) the no-sleep preload library.

    A cached copy that is not ours or is writable by others is not used; the
    library is then built in ``private_dir`` for this run only.
    """
    if os.environ.get("KIWI_ORACLE_NO_SHIM"):
        return None
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return None
    digest = hashlib.sha256(_NOSLEEP_C.encode()).hexdigest()[:12]
    target = Path(tempfile.gettempdir()) / f"kiwi-oracle-nosleep-{os.getuid()}-{digest}.so"
    with contextlib.suppress(FileNotFoundError):
        st = target.stat()
        if st.st_uid == os.getuid() and not st.st_mode & 0o022:
            return str(target)
        target = private_dir / target.name
    with tempfile.TemporaryDirectory(prefix="kiwi-oracle-cc-") as tmp:
        src = Path(tmp) / "nosleep.c"
        src.write_text(_NOSLEEP_C)
        out = Path(tmp) / "nosleep.so"
        proc = subprocess.run(
            [cc, "-shared", "-fPIC", "-O2", "-o", str(out), str(src)],
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            return None
        tmp_target = target.with_suffix(f".{os.getpid()}.tmp")
        shutil.copyfile(out, tmp_target)
        tmp_target.chmod(0o644)
        os.replace(tmp_target, target)
    return str(target)


class _Capture(logging.Handler):
    def __init__(self, stream: Any = None) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if self.stream is not None:
            with contextlib.suppress(Exception):
                self.stream.write(f"{record.levelname}: {record.getMessage()}\n")


def _tool(name: str) -> str:
    return _which(name) or name


def _read_table(disk_file: str) -> dict[str, Any]:
    """Read the table back: label, partitions, hybrid MBR entries."""
    out: dict[str, Any] = {"table": None, "partitions": [], "mbr": None}
    proc = subprocess.run(
        [_tool("sfdisk"), "--json", disk_file], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        return out
    pt = json.loads(proc.stdout)["partitiontable"]
    label = pt.get("label")
    if label == "dos":
        out["table"] = "msdos"
        for p in pt.get("partitions", []):
            number = int(re.search(r"(\d+)$", p["node"]).group(1))  # type: ignore[union-attr]
            start = int(p["start"])
            out["partitions"].append(
                {
                    "number": number,
                    "start": start,
                    "end": start + int(p["size"]) - 1,
                    "code": format(int(p["type"], 16), "x"),
                    "name": None,
                    "bootable": bool(p.get("bootable", False)),
                }
            )
        return out
    if label != "gpt":
        out["table"] = label
        return out
    out["table"] = "gpt"
    guids = {
        int(re.search(r"(\d+)$", p["node"]).group(1)): p["type"].upper()  # type: ignore[union-attr]
        for p in pt.get("partitions", [])
    }
    proc = subprocess.run(
        [_tool("sgdisk"), "-p", disk_file], capture_output=True, text=True, check=False
    )
    row = re.compile(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+[\d.]+\s+\S+\s+([0-9A-Fa-f]{4})\s{2}(.*)$")
    for line in proc.stdout.splitlines():
        m = row.match(line)
        if m:
            out["partitions"].append(
                {
                    "number": int(m.group(1)),
                    "start": int(m.group(2)),
                    "end": int(m.group(3)),
                    "code": m.group(4).upper(),
                    "name": m.group(5).rstrip(),
                    "type_guid": guids.get(int(m.group(1))),
                }
            )
    # a hybrid MBR (gpt_hybrid_mbr) or a failed force_mbr: decode the MBR itself
    mbr = _read_mbr(disk_file)
    if mbr is not None and not (len(mbr) == 1 and mbr[0]["code"] == "ee" and mbr[0]["start"] == 1):
        out["mbr"] = mbr
    return out


def _read_mbr(disk_file: str) -> list[dict[str, Any]] | None:
    """The four primary MBR slots, decoded from sector 0 (no tool guesses)."""
    with open(disk_file, "rb") as fh:
        sector0 = fh.read(SECTOR)
    if len(sector0) < SECTOR or sector0[510:512] != b"\x55\xaa":
        return None
    entries = []
    for slot in range(4):
        raw = sector0[446 + 16 * slot : 446 + 16 * (slot + 1)]
        ptype = raw[4]
        if ptype == 0:
            continue
        start = int.from_bytes(raw[8:12], "little")
        size = int.from_bytes(raw[12:16], "little")
        entries.append(
            {
                "slot": slot + 1,
                "start": start,
                "end": start + size - 1,
                "code": format(ptype, "x"),
                "bootable": raw[0] == 0x80,
            }
        )
    return entries


def _oracle(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {
        "table": None,
        "disk_sectors": None,
        "disk_mbytes": None,
        "partitions": [],
        "partids": {},
        "error": None,
        "calculated_mbytes": None,
        "mbr": None,
        "kiwi_warnings": [],
    }
    work = Path(tempfile.mkdtemp(prefix="kiwi-oracle-"))
    capture = _Capture(sys.stderr if args.verbose else None)
    try:
        _isolate(work)
        logging.getLogger("kiwi").addHandler(capture)
        logging.getLogger("kiwi").propagate = False
        _run_kiwi(args, work, result, capture)
    finally:
        result["kiwi_warnings"] = sorted(
            {_one_line(r.getMessage()) for r in capture.records if r.levelno >= logging.WARNING}
        )
        shutil.rmtree(work, ignore_errors=True)
    return result


def _isolate(work: Path) -> None:
    """Keep KIWI away from the host: temp HOME, no runtime config, temp TMPDIR."""
    lib = _nosleep_library(work)  # cached in the host temp dir: before TMPDIR moves
    home = work / "home"
    home.mkdir()
    tmp = work / "tmp"
    tmp.mkdir()
    os.environ["HOME"] = str(home)
    os.environ["TMPDIR"] = str(tmp)
    os.environ["LC_ALL"] = "C"
    os.environ["LANG"] = "C"
    tempfile.tempdir = str(tmp)
    if lib:
        os.environ["LD_PRELOAD"] = lib
    else:
        os.environ.pop("LD_PRELOAD", None)
    # system tools live in /usr/sbin on Debian; a root-less PATH may lack it
    path = os.environ.get("PATH", "")
    for extra in ("/usr/sbin", "/sbin"):
        if extra not in path.split(os.pathsep):
            path = path + os.pathsep + extra
    os.environ["PATH"] = path


def _run_kiwi(
    args: argparse.Namespace, work: Path, result: dict[str, Any], capture: _Capture | None = None
) -> None:
    import platform

    import kiwi.defaults as kiwi_defaults
    from kiwi.defaults import Defaults

    # no /etc/kiwi.yml, /usr/share/kiwi/kiwi.yml or ~/.config/kiwi of the host
    for attr in ("USR_RUNTIME_CONFIG_FILE", "ETC_RUNTIME_CONFIG_FILE"):
        if hasattr(kiwi_defaults, attr):
            setattr(kiwi_defaults, attr, str(work / "no-such-kiwi.yml"))
    for attr in ("USR_RUNTIME_CONFIG_DIR", "ETC_RUNTIME_CONFIG_DIR"):
        if hasattr(kiwi_defaults, attr):
            setattr(kiwi_defaults, attr, str(work / "no-such-kiwi.yml.d"))
    Defaults.set_platform_name(args.arch)
    Defaults.set_temp_location(os.environ["TMPDIR"])  # not /var/tmp
    if args.arch != platform.machine():
        _target_arch_systemd_id128(work, args.arch)

    from kiwi.builder import disk as builder_disk
    from kiwi.exceptions import KiwiError
    from kiwi.partitioner import Partitioner
    from kiwi.storage.device_provider import DeviceProvider
    from kiwi.xml_description import XMLDescription
    from kiwi.xml_state import XMLState

    stage = "load description"
    disk = None
    disk_file = str(work / "disk.raw")
    try:
        xml_data = XMLDescription(args.description).load()
        profiles = [args.profile] if args.profile else []
        state = XMLState(xml_data, profiles)
        if state.get_build_type_name() != "oem":
            state = XMLState(xml_data, profiles, "oem")

        stage = "runtime checks"
        # the RuntimeChecker checks of KIWI's build task that concern the layout
        from kiwi.runtime_checker import RuntimeChecker

        checker = RuntimeChecker(state)
        for check in LAYOUT_CHECKS:
            getattr(checker, check)()

        stage = "root tree"
        if args.root_tree:
            root = Path(args.root_tree)  # a real tree: KIWI measures it itself
        else:
            root = work / "root"
            root.mkdir()
            # a name no mountpoint will match (KIWI measures data below each mountpoint)
            with open(root / ".partwright-oracle-root-data", "wb") as fh:
                fh.truncate(args.root_mbytes * MIB)

        stage = "DiskBuilder"
        builder = _disk_builder(builder_disk, state, str(root), str(work / "target"))

        stage = "create_disk"
        # DiskBuilder.create_disk's own checks, for real, up to its first step
        # after them (the recovery archive, stubbed to stop the call there)
        try:
            builder.create_disk()
        except _ReachedDiskCreation:
            pass

        stage = "disk size"
        disksize_mbytes = builder.disk_setup.get_disksize_mbytes(
            root_clone=builder.root_clone_count, boot_clone=builder.boot_clone_count
        )
        result["disk_mbytes"] = disksize_mbytes
        calc = builder_disk.DiskSetup(state, str(root))
        calc.configured_size = None
        result["calculated_mbytes"] = calc.get_disksize_mbytes(
            root_clone=builder.root_clone_count, boot_clone=builder.boot_clone_count
        )

        stage = "partition"
        # LoopDevice.create: a sparse file of disksize_mbytes MiB (qemu-img create NM)
        with open(disk_file, "wb") as fh:
            fh.truncate(int(disksize_mbytes) * MIB)

        class FileProvider(DeviceProvider):
            """The sparse disk file, standing in for the loop device."""

            def get_device(self) -> str:
                return disk_file

            def is_loop(self) -> bool:
                return True

        provider = FileProvider()
        disk = builder._disk_instance(provider)
        # nothing gets mapped: no kpartx / partx / partprobe, no /dev nodes
        disk.map_partitions = lambda: None
        disk.get_device = lambda: {"root": None, "readonly": None}
        if builder.firmware.get_partition_table_type() == "msdos":
            _patch_msdos_start_sector(disk, args, disk_file, result)
        builder._build_and_map_disk_partitions(disk, disksize_mbytes)

        stage = "post-partition"
        ids = disk.public_partition_id_map
        # DiskBuilder.create_disk after _build_and_map_disk_partitions:
        if (
            builder.root_filesystem_is_overlay
            and builder.root_filesystem_has_write_partition is False
        ):
            ids["kiwi_RootPart"] = ids["kiwi_ROPart"]
        if builder.mdraid:
            # DiskBuilder._map_raid; RaidDevice takes the first /dev/mdN that
            # does not exist on the build host: /dev/md0 on a clean host
            ids["kiwi_RaidPart"] = ids["kiwi_RootPart"]
            ids["kiwi_RaidDev"] = "/dev/md0"
        # DiskBuilder.append_unpartitioned_space (after the disk is built)
        if builder.unpartitioned_bytes:
            stage = "unpartitioned"
            with open(disk_file, "r+b") as fh:
                fh.truncate(os.path.getsize(disk_file) + int(builder.unpartitioned_bytes))
            Partitioner.new(builder.firmware.get_partition_table_type(), provider).resize_table()
    except Exception as exc:  # report anything KIWI raises, KiwiError or not
        name = type(exc).__name__
        detail = ""
        if not isinstance(exc, KiwiError):
            # e.g. a bare NotImplementedError: say where KIWI raised it
            tb = traceback.extract_tb(exc.__traceback__)
            if tb:
                where = tb[-1]
                detail = f" (in {where.name}, {Path(where.filename).name}:{where.lineno})"
        if name == "KiwiDescriptionInvalid" and capture is not None:
            # the reasons only go to KIWI's log, one "--> reason" line each
            reasons = [
                r.getMessage().strip()
                for r in capture.records
                if r.getMessage().strip().startswith("-->")
            ]
            if reasons:
                detail = " " + reasons[0].splitlines()[0]
        result["error"] = _one_line(f"{stage}: {name}: {exc}{detail}")
    finally:
        if disk is not None:
            result["partids"] = {k: str(v) for k, v in disk.get_public_partition_id_map().items()}
        if args.keep and os.path.exists(disk_file):
            shutil.copyfile(disk_file, args.keep)
        if os.path.exists(disk_file):
            result["disk_sectors"] = os.path.getsize(disk_file) // SECTOR
            table = _read_table(disk_file)
            result["table"] = table["table"]
            result["partitions"] = table["partitions"]
            result["mbr"] = table["mbr"]


_SYSTEMD_ARCH = {"x86_64": "x86-64", "aarch64": "arm64", "ppc64le": "ppc64-le"}


def _target_arch_systemd_id128(work: Path, arch: str) -> None:
    """Answer ``systemd-id128 show`` as a native build host of ``arch`` would.

    Disk.get_discoverable_partition_ids (apply_dps_codes) asks the host's
    systemd-id128, whose generic ``root``/``usr`` rows name the host arch. A
    cross-arch run therefore gets the host's table with those rows replaced
    by the target arch rows (``root-arm64`` ...). Without the tool on the host
    KIWI falls back to its built-in table, as it would on the target host.
    """
    host_tool = shutil.which("systemd-id128")
    if host_tool is None:
        return
    proc = subprocess.run([host_tool, "show"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return
    rows = [line.split() for line in proc.stdout.splitlines()[1:] if line.split()]
    table = {r[0]: r[1] for r in rows if len(r) == 2}
    suffix = _SYSTEMD_ARCH[arch]
    lines = [proc.stdout.splitlines()[0]]
    for name, uuid in table.items():
        for generic in ("root", "usr"):
            for tail in ("", "-verity", "-verity-sig"):
                if name == generic + tail:
                    uuid = table.get(f"{generic}-{suffix}{tail}", uuid)
        lines.append(f"{name:<28}{uuid}")
    fake = work / "fakebin"
    fake.mkdir(exist_ok=True)
    (fake / "systemd-id128.out").write_text("\n".join(lines) + "\n")
    stub = fake / "systemd-id128"
    stub.write_text(f"#!/bin/sh\nexec cat '{fake / 'systemd-id128.out'}'\n")
    stub.chmod(0o755)
    os.environ["PATH"] = str(fake) + os.pathsep + os.environ["PATH"]


def _patch_msdos_start_sector(
    disk: Any, args: argparse.Namespace, disk_file: str, result: dict[str, Any]
) -> None:
    """PartitionerMsDos.set_start_sector needs lsblk on a block device."""
    partitioner = disk.partitioner
    mode = os.environ.get("KIWI_ORACLE_MSDOS_START", "zero")
    if mode == "stub":

        def set_start_sector(start_sector: int) -> None:
            if start_sector == partitioner.default_start:
                return
            raise RuntimeError("msdos disk_start_sector unsupported by oracle")

        partitioner.set_start_sector = set_start_sector
        return
    from kiwi.partitioner import msdos as msdos_mod

    class _BlockID:
        def __init__(self, device: str) -> None:
            self.device = device

        def get_partition_count(self) -> int:
            if mode == "zero":
                return 0
            t = _read_table(disk_file)
            return len(t["partitions"])

    msdos_mod.BlockID = _BlockID


class _ReachedDiskCreation(Exception):
    """create_disk got past its checks (the oracle partitions on its own)."""


def _disk_builder(builder_disk: Any, state: Any, root_dir: str, target_dir: str) -> Any:
    """A real DiskBuilder.__init__, with the initrd and system setup stubbed."""

    class _BootImage:
        boot_root_directory = target_dir + "/boot"

        @staticmethod
        def new(*_a: Any, **_k: Any) -> _BootImage:
            return _BootImage()

        def has_initrd_support(self) -> bool:
            return True

        def include_file(self, *_a: Any, **_k: Any) -> None:
            return None

    class _SystemSetup:
        def __init__(self, *_a: Any, **_k: Any) -> None:
            pass

        def create_recovery_archive(self) -> None:
            raise _ReachedDiskCreation

    builder_disk.BootImage = _BootImage
    builder_disk.SystemSetup = _SystemSetup
    return builder_disk.DiskBuilder(state, target_dir, root_dir)


def serve() -> int:
    """Answer one JSON request a line on stdin, one JSON result a line on stdout.

    KIWI is imported once, here; each request runs in a forked child, so the
    global state KIWI changes (platform, temp dir, runtime config, loggers)
    dies with it, and no request pays for the imports again.
    """
    import kiwi.builder.disk  # noqa: F401
    import kiwi.runtime_checker  # noqa: F401
    import kiwi.xml_description  # noqa: F401
    import kiwi.xml_state  # noqa: F401

    _compile_schema_once()
    environ = dict(os.environ)
    for line in sys.stdin:
        request = json.loads(line)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: one oracle run, its JSON into the pipe
            os.close(read_fd)
            quiet = os.open(os.devnull, os.O_WRONLY)  # KIWI's log handlers write to stdout
            os.dup2(quiet, 1)
            os.dup2(quiet, 2)
            status = 0
            try:
                with tempfile.TemporaryDirectory(prefix="kiwi-oracle-in-") as tmp:
                    xml_path = Path(tmp) / "config.xml"
                    xml_path.write_text(request["xml"], encoding="utf-8")
                    args = argparse.Namespace(
                        description=str(xml_path), arch=request["arch"],
                        root_mbytes=request["root_mbytes"], root_tree=request.get("root_tree"),
                        profile=request.get("profile"), verbose=False, keep=None)
                    data = json.dumps(_oracle(args)).encode()
                with os.fdopen(write_fd, "wb") as out:
                    out.write(data)
            except BaseException:  # noqa: BLE001 - the parent reports a child without JSON
                status = 1
            os._exit(status)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as answer:
            data = answer.read()
        os.waitpid(pid, 0)
        os.environ.clear()
        os.environ.update(environ)
        sys.stdout.write((data.decode() or "null") + "\n")
        sys.stdout.flush()
    return 0


def _compile_schema_once() -> None:
    """XMLDescription.load compiles KIWI's RelaxNG schema and schematron rules
    for every description (0.2 s); the server compiles them once and hands
    every child the same validators (the same schema file, the same rules)."""
    import types

    import kiwi.xml_description as xml_description
    from kiwi.defaults import Defaults
    from lxml import etree, isoschematron

    schema_doc = etree.parse(Defaults.get_schema_file())
    relaxng = etree.RelaxNG(schema_doc)
    schematron = isoschematron.Schematron(schema_doc, store_report=True)

    class _Etree(types.ModuleType):
        def __getattr__(self, name: str) -> Any:
            return getattr(etree, name)

    cached = _Etree("lxml.etree")
    cached.RelaxNG = lambda *_a, **_k: relaxng  # type: ignore[attr-defined]
    xml_description.etree = cached  # type: ignore[attr-defined]
    module = types.ModuleType("kiwi_oracle_schematron")
    module.Schematron = lambda *_a, **_k: schematron  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    Defaults.get_schematron_module_name = staticmethod(lambda: module.__name__)  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    if (argv if argv is not None else sys.argv[1:]) == ["--serve"]:
        return serve()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("description", help="KIWI description (config.xml / .kiwi)")
    parser.add_argument("--arch", choices=ARCHES, default="x86_64")
    parser.add_argument("--root-mbytes", type=int, default=1024)
    parser.add_argument("--root-tree", default=None,
                        help="measure this directory instead of a one-file fake tree")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--verbose", action="store_true", help="KIWI's log to stderr")
    parser.add_argument("--keep", metavar="FILE", help="copy the partitioned disk file here")
    args = parser.parse_args(argv)
    args.description = str(Path(args.description).resolve())
    result = _oracle(args)
    sys.stdout.write(json.dumps(result, sort_keys=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
