"""KIWI NG 11.1.6 as a differential oracle for partwright's planner (test-only).

KIWI is GPL-3.0: this file runs KIWI's own partitioning code in a separate
interpreter; partwright's engine never imports it. KIWI comes from the test
extra (``kiwi==11.1.6``); sgdisk (gdisk), sfdisk and fdisk (util-linux) must be
installed.

Usage
-----
``python -m tests.support.kiwi_oracle DESCRIPTION.xml [--arch x86_64|aarch64|ppc64le]
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
sync and the fsync of the scratch disk file no-ops for the tools; the
tables are byte-for-byte the same (checked) and a call takes about 0.5 s
(0.23 s of it schematron compilation, which the server does once).
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

The code: this module is the entry and the parent side (no KIWI import);
kiwi_oracle_run.py runs KIWI in the child, kiwi_oracle_host.py keeps it away
from the host, kiwi_oracle_table.py reads the table back, and
kiwi_server.py serves many layouts from one KIWI import.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.support.kiwi_oracle_table import which
from tests.support.paths import ROOT

ARCHES = ("x86_64", "aarch64", "ppc64le")


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
            "-m",
            "tests.support.kiwi_oracle",
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
            cwd=ROOT,
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
        if which(tool) is None:
            return f"{tool} is not installed"
    return None


def main(argv: list[str] | None = None) -> int:
    from tests.support.kiwi_oracle_run import oracle

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
    result = oracle(args)
    sys.stdout.write(json.dumps(result, sort_keys=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
