"""The KIWI oracle's child side (test-only): KIWI's own DiskBuilder and
partitioning code run on a sparse file, what it wrote read back as one JSON
result (see kiwi_oracle.py for what runs and what is stubbed)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

from tests.support.kiwi_oracle_host import isolate
from tests.support.kiwi_oracle_table import SECTOR, read_table

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
MIB = 1024 * 1024


def one_line(text: str, limit: int = 400) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."



class Capture(logging.Handler):
    def __init__(self, stream: Any = None) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if self.stream is not None:
            with contextlib.suppress(Exception):
                self.stream.write(f"{record.levelname}: {record.getMessage()}\n")



def oracle(args: argparse.Namespace) -> dict[str, Any]:
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
    capture = Capture(sys.stderr if args.verbose else None)
    try:
        isolate(work)
        logging.getLogger("kiwi").addHandler(capture)
        logging.getLogger("kiwi").propagate = False
        _run_kiwi(args, work, result, capture)
    finally:
        result["kiwi_warnings"] = sorted(
            {one_line(r.getMessage()) for r in capture.records if r.levelno >= logging.WARNING}
        )
        shutil.rmtree(work, ignore_errors=True)
    return result



def _run_kiwi(
    args: argparse.Namespace, work: Path, result: dict[str, Any], capture: Capture | None = None
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
        result["error"] = one_line(f"{stage}: {name}: {exc}{detail}")
    finally:
        if disk is not None:
            result["partids"] = {k: str(v) for k, v in disk.get_public_partition_id_map().items()}
        if args.keep and os.path.exists(disk_file):
            shutil.copyfile(disk_file, args.keep)
        if os.path.exists(disk_file):
            result["disk_sectors"] = os.path.getsize(disk_file) // SECTOR
            table = read_table(disk_file)
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
            t = read_table(disk_file)
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
