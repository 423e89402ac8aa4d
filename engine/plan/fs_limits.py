"""What the filesystem tools accept: sizes, labels and the FAT type a size gives.

Every number here was measured by running the tool `make` installs on
Debian 12 (the versions in TOOLS) at the limit and one sector past it;
tests/engine/image/test_fs_limits.py runs them again, so a tool release that
moves a limit fails a test instead of a user's build. Pure data and
arithmetic, no I/O: the planner's diagnostics and the image engine both read
it.

FAT: mkfs.vfat chooses the cluster size and the cluster count, and the
count alone decides the FAT type (Microsoft's FAT specification, which UEFI
firmware and mtools follow): under 4085 clusters FAT12, under 65525 FAT16,
else FAT32, whatever the boot sector says. `fat_geometry` is mkfs.fat 4.2's
own arithmetic (setup_tables), for a device the size of the partition; the
build makes the filesystem in a file of exactly that size and passes the
geometry (-g) and, for FAT32, the cluster size (-s) this arithmetic assumes,
so that where the partition sits in the image does not change the result
(with --offset, mkfs.fat 4.2 derives the geometry, the cluster size and a
last odd sector from the size of the whole image file).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

FsKind = Literal["ext2", "ext3", "ext4", "xfs", "btrfs", "fat16", "fat32", "swap", "squashfs"]
KINDS: tuple[FsKind, ...] = ("ext2", "ext3", "ext4", "xfs", "btrfs", "fat16", "fat32", "swap",
                             "squashfs")

TOOLS = {  # Debian 12 package -> the version every limit below was measured with
    "e2fsprogs": "1.47.0",
    "xfsprogs": "6.1.0",
    "btrfs-progs": "6.2",
    "dosfstools": "4.2",
    "mtools": "4.0.32",
    "util-linux": "2.38.1",
    "squashfs-tools": "4.5.1",
}

SECTOR = 512
KIB = 1024
MIB = 1024 * KIB
TIB = 1024**4
FAT12_MAX_CLUSTERS = 4084  # 4085 clusters or more: not FAT12 (FAT specification)
FAT16_MAX_CLUSTERS = 65524  # 65525 or more: FAT32
FAT32_MAX_CLUSTERS = 268435446  # mkfs.fat's MAX_CLUST_32
MKFS_FAT16_MIN_CLUSTERS = 4087  # mkfs.fat's MIN_CLUST_16 (two spare, against misdetection)
FAT_VFAT_AUTO_32 = 512 * MIB  # mkfs.vfat without -F picks FAT32 from 512 MiB


@dataclass(frozen=True)
class Limits:
    """What one filesystem's tool accepts. Sizes are partition bytes."""

    kind: FsKind
    package: str  # the Debian package of the tool (its version: TOOLS)
    tool: str
    min_bytes: int  # the smallest size the tool makes (and fills) this filesystem in
    min_reason: str  # what the tool says below it
    max_bytes: int | None = None  # the largest size it accepts; None: none an image reaches
    max_reason: str = ""
    label_bytes: int | None = None  # longest label the tool writes whole; None: no label
    label_refused: str = ""  # characters the tool refuses in a label
    label_ascii: bool = False  # only ASCII labels (the tools run with LC_ALL=C)
    label_past: str = ""  # what the tool does with a longer label
    journal_min_bytes: int | None = None  # ext3/ext4: below this, mke2fs leaves the journal out


_EXT_MIN = 104 * KIB  # mke2fs makes no ext filesystem in 103 KiB ("Could not allocate inode")
_EXT_MIN_REASON = ("mke2fs: Could not allocate inode in ext2 filesystem while creating"
                   " /lost+found")
_EXT_LABEL = "mke2fs cuts a longer label at 16 bytes (\"Warning: label too long\")"

LIMITS: dict[FsKind, Limits] = {
    "ext2": Limits("ext2", "e2fsprogs", "mkfs.ext2", _EXT_MIN, _EXT_MIN_REASON,
                   max_bytes=2**32 * 4096 - 1,
                   max_reason="mke2fs: too big to be expressed in 32 bits using a blocksize"
                              " of 4096 (ext2 has no 64bit feature)",
                   label_bytes=16, label_past=_EXT_LABEL),
    "ext3": Limits("ext3", "e2fsprogs", "mkfs.ext3", _EXT_MIN, _EXT_MIN_REASON,
                   max_bytes=2**32 * 4096 - 1,
                   max_reason="mke2fs: too big to be expressed in 32 bits using a blocksize"
                              " of 4096 (ext3 has no 64bit feature)",
                   label_bytes=16, label_past=_EXT_LABEL, journal_min_bytes=2 * MIB),
    # 64bit: mke2fs refuses 2^47 blocks of 4 KiB (512 PiB); no image gets there
    "ext4": Limits("ext4", "e2fsprogs", "mkfs.ext4", _EXT_MIN, _EXT_MIN_REASON,
                   label_bytes=16, label_past=_EXT_LABEL, journal_min_bytes=2 * MIB),
    "xfs": Limits("xfs", "xfsprogs", "mkfs.xfs", 300 * MIB,
                  "mkfs.xfs: Filesystem must be larger than 300MB.",
                  label_bytes=12, label_past="mkfs.xfs refuses it (\"Invalid value ... for -L\")"),
    "btrfs": Limits("btrfs", "btrfs-progs", "mkfs.btrfs", 114294784,
                    "mkfs.btrfs: minimum size for each btrfs device is 114294784",
                    label_bytes=254,
                    label_past="mkfs.btrfs 6.2 keeps 254 bytes of a 255-byte label and refuses"
                               " longer ones (\"is too long (max 255)\")"),
    "fat16": Limits("fat16", "dosfstools", "mkfs.vfat", 0, "", label_bytes=11,
                    label_refused='*?.,;:/\\|+=<>[]"', label_ascii=True,
                    label_past="mkfs.vfat refuses it (\"Label can be no longer than 11"
                               " characters\")"),
    "fat32": Limits("fat32", "dosfstools", "mkfs.vfat", 0, "",
                    max_bytes=2 * TIB - 1,
                    max_reason="mkfs.vfat: target too large, space at end will be left unused"
                               " (2^32 sectors)",
                    label_bytes=11, label_refused='*?.,;:/\\|+=<>[]"', label_ascii=True,
                    label_past="mkfs.vfat refuses it (\"Label can be no longer than 11"
                               " characters\")"),
    "swap": Limits("swap", "util-linux", "mkswap", 40 * KIB,
                   "mkswap: error: swap area needs to be at least 40 KiB",
                   label_bytes=15,
                   label_past="mkswap keeps the first 15 bytes, without a warning"),
    "squashfs": Limits("squashfs", "squashfs-tools", "mksquashfs", 4 * KIB,
                       "the image mksquashfs writes is padded to 4 KiB"),
}


# --- FAT: mkfs.fat 4.2's arithmetic --------------------------------------------

@dataclass(frozen=True)
class FatGeometry:
    """What mkfs.vfat -F BITS makes in a partition of `size` bytes."""

    bits: int  # 16 or 32: what -F asks for and the boot sector says
    heads: int
    sectors_per_track: int
    cluster_sectors: int
    clusters: int

    @property
    def read_as(self) -> str:
        """The FAT type UEFI firmware and mtools see: decided by the cluster count."""
        if self.clusters <= FAT12_MAX_CLUSTERS:
            return "FAT12"
        if self.clusters <= FAT16_MAX_CLUSTERS:
            return "FAT16"
        return "FAT32"

    @property
    def ok(self) -> bool:
        return self.read_as == f"FAT{self.bits}"


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def fat_chs(total_sectors: int) -> tuple[int, int]:
    """mkfs.fat's heads and sectors per track for a device without geometry."""
    if total_sectors <= 524288:
        heads = 2 if total_sectors <= 32768 else 4 if total_sectors <= 65536 else (
            8 if total_sectors <= 262144 else 16)
        return heads, (16 if total_sectors <= 4096 else 32)
    for heads in (16, 32, 64, 128):
        if total_sectors <= heads * 63 * 1024:
            return heads, 63
    return 255, 63


def fat32_cluster_sectors(size: int) -> int:
    """mkfs.fat's FAT32 cluster size for a device of `size` bytes (Microsoft's table)."""
    sectors = size // SECTOR
    gib = 1024 * 1024 * 2  # sectors in a GiB
    if sectors > 32 * gib:
        return 64
    if sectors > 16 * gib:
        return 32
    if sectors > 8 * gib:
        return 16
    return 8 if sectors > 260 * 1024 * 2 else 1


@lru_cache(maxsize=4096)
def fat_geometry(size: int, bits: int) -> FatGeometry | None:
    """What `mkfs.vfat -F bits -S 512 -g H/S [-s C]` makes in `size` bytes, or
    None when it refuses ("Attempting to create a too small or a too large
    filesystem", "Too few blocks for viable filesystem")."""
    blocks = size // KIB
    num_sectors = blocks * 2 + (size % KIB) // SECTOR  # mkfs.fat's "orphaned" last sector
    if num_sectors > 2**32 - 1:
        num_sectors = 2**32 - 1
        blocks = num_sectors * SECTOR // KIB
    heads, secs = fat_chs(size // SECTOR)
    num_sectors = num_sectors // secs * secs
    align = num_sectors > 8192
    reserved = 32 if bits == 32 else 1
    root_dir_sectors = _cdiv(512 * 32, SECTOR)

    def aligned(n: int, cs: int) -> int:
        return (n + cs - 1) & ~(cs - 1) if align else n

    cluster = fat32_cluster_sectors(size) if bits == 32 else 4
    max_cluster = cluster if bits == 32 else 128
    clusters = fat_length = 0
    while 0 < cluster <= max_cluster:
        fatdata32 = num_sectors - aligned(reserved, cluster)
        fatdata1216 = fatdata32 - aligned(root_dir_sectors, cluster)
        if bits == 16:
            count = (fatdata1216 * SECTOR + 2 * 4) // (cluster * SECTOR + 2 * 2)
            fat_length = aligned(_cdiv((count + 2) * 2, SECTOR), cluster)
            count = (fatdata1216 - 2 * fat_length) // cluster
            limit = min(fat_length * SECTOR // 2, FAT16_MAX_CLUSTERS)
            if count > limit or count < MKFS_FAT16_MIN_CLUSTERS:
                count = 0
        else:
            count = (fatdata32 * SECTOR + 2 * 8) // (cluster * SECTOR + 2 * 4)
            fat_length = aligned(_cdiv((count + 2) * 4, SECTOR), cluster)
            count = (fatdata32 - 2 * fat_length) // cluster
            if count > min(fat_length * SECTOR // 4, FAT32_MAX_CLUSTERS):
                count = 0
        if count > 0:
            clusters = count
            break
        cluster = (cluster << 1) & 0xFF  # an 8-bit field: 128 doubled is 0
    if clusters <= 0:
        return None
    reserved = aligned(reserved, cluster)
    root_entries = 0 if bits == 32 else (aligned(root_dir_sectors, cluster) * 16 if align
                                         else 512)
    start_data = reserved + 2 * fat_length + _cdiv(root_entries * 32, SECTOR)
    if blocks < _cdiv(start_data, 2) + 32:
        return None
    return FatGeometry(bits, heads, secs, cluster, clusters)


@lru_cache(maxsize=8)
def fat_range(bits: int) -> tuple[int, int]:
    """The smallest and largest sizes (bytes, whole sectors) that give a FAT
    of `bits` bits read as such (the fix a diagnostic names)."""
    def good(size: int) -> bool:
        geometry = fat_geometry(size, bits)
        return geometry is not None and geometry.ok

    mibs = [m for m in range(1, 4097 if bits == 16 else 129) if good(m * MIB)]
    low = mibs[0] * MIB
    while low - SECTOR > (mibs[0] - 1) * MIB and good(low - SECTOR):
        low -= SECTOR
    if bits == 32:
        return low, 2 * TIB - SECTOR
    high = mibs[-1] * MIB
    while good(high + SECTOR) and high + SECTOR < (mibs[-1] + 1) * MIB:
        high += SECTOR
    return low, high


def fat_kind(size: int) -> FsKind:
    """What a plain "vfat" partition becomes: FAT32 from 512 MiB, as mkfs.vfat picks."""
    return "fat32" if size >= FAT_VFAT_AUTO_32 else "fat16"


# --- sizes and labels ------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    """A size or label the tool refuses or quietly changes."""

    what: Literal["too-small", "too-large", "no-journal", "fat-type", "label"]
    message: str
    fix: str


def _size(n: int) -> str:
    if n >= TIB:
        return f"{n / TIB:.1f} TiB"
    if n >= MIB:
        return f"{n / MIB:.1f} MiB" if n % MIB else f"{n // MIB} MiB"
    return f"{n / KIB:.1f} KiB" if n % KIB else f"{n // KIB} KiB"


def _ceil_mib(n: int) -> int:
    return -(-n // MIB) * MIB


def size_problems(kind: FsKind, size: int) -> list[Problem]:
    """What the tool does with a `kind` filesystem of `size` bytes, if it is wrong."""
    lim = LIMITS[kind]
    version = f"{lim.tool} {TOOLS[lim.package]}"
    out: list[Problem] = []
    if kind in ("fat16", "fat32"):
        bits = 16 if kind == "fat16" else 32
        geometry = fat_geometry(size, bits)  # the range (thousands of geometries) only
        if geometry is None or not geometry.ok:  # when there is a problem to name
            low, high = fat_range(bits)
        if geometry is None:
            out.append(Problem(
                "too-small" if size < high else "too-large",
                f"{_size(size)} is outside what {version} makes as {kind.upper()}"
                f" ({_size(low)} to {_size(high)}: \"Attempting to create a too small or"
                " a too large filesystem\")",
                f"make it between {_size(_ceil_mib(low))} and {_size(high // MIB * MIB)}"
                + (" or use fat32" if bits == 16 and size > high else "")))
        elif not geometry.ok:
            out.append(Problem(
                "fat-type",
                f"{_size(size)} gives {geometry.clusters} clusters of"
                f" {geometry.cluster_sectors * SECTOR} bytes with {version}: too few for"
                f" FAT{bits}, so UEFI firmware and mtools read it as {geometry.read_as}",
                f"make it at least {_size(_ceil_mib(low))}" + (", or use fat16" if bits == 32 else "")))
        if lim.max_bytes is not None and size > lim.max_bytes:
            out.append(Problem("too-large", f"{_size(size)} is more than {version} formats:"
                               f" {lim.max_reason}", f"make it at most {_size(lim.max_bytes)}"))
        return out
    if size < lim.min_bytes:
        out.append(Problem("too-small",
                           f"{_size(size)} is below the {_size(lim.min_bytes)} {version} needs"
                           f" (\"{lim.min_reason}\")",
                           f"make it at least {_size(lim.min_bytes)}"))
    elif lim.journal_min_bytes is not None and size < lim.journal_min_bytes:
        out.append(Problem(
            "no-journal",
            f"{_size(size)} is below the {_size(lim.journal_min_bytes)} {version} needs for a"
            f" journal: it makes {'ext2' if kind == 'ext3' else 'ext4 without a journal'}"
            " (\"Filesystem too small for a journal\")",
            f"make it at least {_size(lim.journal_min_bytes)}"))
    if lim.max_bytes is not None and size > lim.max_bytes:
        out.append(Problem("too-large", f"{_size(size)} is more than {version} accepts:"
                           f" {lim.max_reason}", f"make it smaller than {_size(lim.max_bytes + 1)}"
                           + (" or use ext4" if kind in ("ext2", "ext3") else "")))
    return out


def label_problems(kind: FsKind, label: str) -> list[Problem]:
    """What the tool does with `label`, if it is not written as given."""
    lim = LIMITS[kind]
    if lim.label_bytes is None:
        return []
    version = f"{lim.tool} {TOOLS[lim.package]}"
    out: list[Problem] = []
    raw = label.encode("utf-8", "surrogateescape")
    if len(raw) > lim.label_bytes:
        out.append(Problem("label", f"label '{label}' is {len(raw)} bytes; a {kind} label holds"
                           f" {lim.label_bytes} and {lim.label_past}",
                           f"use at most {lim.label_bytes} bytes"))
    bad = sorted({c for c in label if c in lim.label_refused or ord(c) < 0x20
                  or (lim.label_ascii and ord(c) > 0x7E)})
    if bad:
        shown = "".join(bad)
        out.append(Problem("label", f"label '{label}' has characters {version} refuses in a {kind}"
                           f" label: {shown!r}", "use letters, digits, spaces, - and _"))
    elif lim.label_ascii and label.startswith(" "):
        out.append(Problem("label", f"{version} refuses a label starting with a space",
                           "drop the leading space"))
    return out
