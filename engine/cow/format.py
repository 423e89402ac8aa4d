"""The UML COW file format: read v1, v2, v3 and "broken v3"; write every one.

Layout (all offsets in bytes; see shared/research/cow.md section 1):

  v1   host-endian  magic, version, path[256] @8, mtime u32 @264, size u64 @268,
                    sectorsize u32 @276; header 280 bytes, bitmap at 280
  v2   big-endian   path[4096] @8, mtime @4104, size @4108, sectorsize @4116;
                    header 4120 bytes, bitmap at 4120
  v3   big-endian   mtime @8, size @12, sectorsize @20, alignment @24,
                    cow_format @28, path[4096] @32; header 4128 bytes, bitmap at
                    roundup(4128, alignment)
  v3 broken         (unpacked 64-bit struct) mtime @8 (+4 pad), size @16,
                    sectorsize @24, alignment @28, cow_format @32, path @36;
                    4136 bytes, bitmap at roundup(4136, alignment)

One bit per sector, LSB first: sector s is byte s>>3, mask 1 << (s & 7).
Sector s lives at data_offset + s * sectorsize; the data area mirrors the
backing file, so a COW file is sparse and data_offset + size bytes long.
"""

from __future__ import annotations

import os
import re
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from engine.errors import CowError

COW_MAGIC = 0x4F4F4F4D
PATH_LEN_V1 = 256
PATH_LEN = 4096
V1_SIZE = 280
V2_SIZE = 4120
V3_SIZE = 4128
V3_BROKEN_SIZE = 4136
MAX_HEADER = V3_BROKEN_SIZE
DEFAULT_SECTORSIZE = 512
DEFAULT_ALIGNMENT = 4096
BITMAP_STEP = 1 << 20  # bitmap bytes read at a time: 8 Mi sectors

_HOST = "<" if sys.byteorder == "little" else ">"


def _ceil(value: int, unit: int) -> int:
    return (value + unit - 1) // unit


def _roundup(value: int, unit: int) -> int:
    return (value + unit - 1) // unit * unit


@dataclass(frozen=True)
class CowHeader:
    """A parsed UML COW header plus the geometry derived from it."""

    version: int
    broken: bool
    backing_file: str
    mtime: int
    size: int
    sectorsize: int
    alignment: int
    header_len: int
    bitmap_offset: int
    bitmap_len: int
    data_offset: int

    @property
    def layout(self) -> str:
        return "v3-broken" if self.broken else f"v{self.version}"

    @property
    def nsectors(self) -> int:
        """Sectors of the image (the last one may be partial)."""
        return -(-self.size // self.sectorsize)

    @property
    def covered_sectors(self) -> int:
        """Sectors the bitmap has bits for. Smaller than nsectors for v1/v2
        images whose sector count is not a multiple of 8 (the old rounding
        bug): those last sectors always come from the backing file."""
        return min(self.nsectors, self.bitmap_len * 8)

    @property
    def file_len(self) -> int:
        """The length a COW file of this geometry has when created."""
        return self.data_offset + self.size

    @property
    def mtime_offset(self) -> int:
        return {1: 264, 2: 4104, 3: 8}[self.version]


def geometry(version: int, size: int, sectorsize: int, alignment: int,
             broken: bool = False) -> tuple[int, int, int]:
    """(bitmap_offset, bitmap_len, data_offset) as the kernel computes them."""
    if version < 3:
        bitmap_offset = V1_SIZE if version == 1 else V2_SIZE
        bitmap_len = (size + sectorsize - 1) // (8 * sectorsize)
        data_offset = _roundup(bitmap_offset + bitmap_len, sectorsize)
    else:
        bitmap_offset = _roundup(V3_BROKEN_SIZE if broken else V3_SIZE, alignment)
        bitmap_len = _ceil(_ceil(size, sectorsize), 8)
        data_offset = _roundup(bitmap_offset + bitmap_len, alignment)
    return bitmap_offset, bitmap_len, data_offset


def _path_field(raw: bytes, where: str) -> str:
    end = raw.find(b"\0")
    if end < 0:
        raise CowError(f"{where}: corrupt COW header: backing path is not NUL-terminated")
    if end == 0:
        raise CowError(f"{where}: corrupt COW header: empty backing path")
    return os.fsdecode(raw[:end])


def parse_header(buf: bytes, where: str) -> CowHeader:
    """Parse the first bytes of a COW file. where names it in errors."""
    if len(buf) < 8:
        raise CowError(f"{where}: truncated COW header ({len(buf)} bytes)")
    if buf[:4] == b"QFI\xfb":
        raise CowError(f"{where}: is a qcow2 image, not a UML COW file")
    (magic_host,) = struct.unpack(_HOST + "I", buf[:4])
    (magic_be, version) = struct.unpack(">II", buf[:8])
    broken = False
    if magic_host == COW_MAGIC:
        (version,) = struct.unpack(_HOST + "I", buf[4:8])
        if version != 1:
            raise CowError(f"{where}: corrupt COW header: host-endian magic with version {version}")
        need = V1_SIZE
        if len(buf) < need:
            raise CowError(f"{where}: truncated COW header ({len(buf)} of {need} bytes)")
        path = _path_field(buf[8:264], where)
        mtime, size, ss = struct.unpack(_HOST + "IQI", buf[264:280])
        align = ss
    elif magic_be == COW_MAGIC:
        if version == 2:
            need = V2_SIZE
            if len(buf) < need:
                raise CowError(f"{where}: truncated COW header ({len(buf)} of {need} bytes)")
            path = _path_field(buf[8:4104], where)
            mtime, size, ss = struct.unpack(">IQI", buf[4104:4120])
            align = ss
        elif version == 3:
            broken = len(buf) >= 36 and buf[32:36] == b"\0\0\0\0"
            need = V3_BROKEN_SIZE if broken else V3_SIZE
            if len(buf) < need:
                raise CowError(f"{where}: truncated COW header ({len(buf)} of {need} bytes)")
            if broken:
                mtime, _pad, size, ss, align, cow_format = struct.unpack(">IIQIII", buf[8:36])
                path = _path_field(buf[36:36 + PATH_LEN], where)
            else:
                mtime, size, ss, align, cow_format = struct.unpack(">IQIII", buf[8:32])
                path = _path_field(buf[32:32 + PATH_LEN], where)
            if cow_format != 0:
                raise CowError(f"{where}: unsupported COW data format {cow_format} (only 0, bitmap)")
            if align == 0:
                raise CowError(f"{where}: corrupt COW header: alignment is 0")
        else:
            raise CowError(f"{where}: corrupt COW header: unknown version {version}")
    else:
        raise CowError(f"{where}: not a UML COW file (bad magic {buf[:4].hex()})")
    if ss < 512 or ss & (ss - 1) or ss > (1 << 20):
        raise CowError(f"{where}: corrupt COW header: sector size {ss}")
    if align > (1 << 30):
        raise CowError(f"{where}: corrupt COW header: alignment {align}")
    if size > (1 << 56):
        raise CowError(f"{where}: corrupt COW header: backing size {size}")
    bitmap_offset, bitmap_len, data_offset = geometry(version, size, ss, align, broken)
    return CowHeader(version, broken, path, mtime, size, ss, align, need,
                     bitmap_offset, bitmap_len, data_offset)


def is_uml_cow(buf: bytes) -> bool:
    """Whether the first bytes of a file are a UML COW magic (either byte order)."""
    return len(buf) >= 4 and COW_MAGIC in (struct.unpack(_HOST + "I", buf[:4])[0],
                                           struct.unpack(">I", buf[:4])[0])


def read_header(path: str | os.PathLike[str]) -> CowHeader:
    """Read and parse the header of the COW file at path."""
    try:
        with open(path, "rb") as f:
            buf = f.read(MAX_HEADER)
    except FileNotFoundError:
        raise CowError(f"{os.fspath(path)}: COW file does not exist") from None
    except IsADirectoryError:
        raise CowError(f"{os.fspath(path)}: is a directory, not a COW file") from None
    except OSError as exc:
        raise CowError(f"{os.fspath(path)}: cannot read: {exc.strerror}") from None
    return parse_header(buf, os.fspath(path))


def check_length(header: CowHeader, cow_len: int, where: str) -> None:
    """Refuse a COW file cut short within its bitmap or data area."""
    bitmap_end = header.bitmap_offset + header.bitmap_len
    if cow_len < bitmap_end:
        raise CowError(
            f"{where}: bitmap is shorter than the image: {header.nsectors} sectors need "
            f"{header.bitmap_len} bitmap bytes at {header.bitmap_offset}, the file ends at {cow_len}")
    if cow_len < header.file_len:
        raise CowError(
            f"{where}: COW data area is truncated: the file is {cow_len} bytes, "
            f"a {header.size}-byte image needs {header.file_len}")


def pack_header(version: int, backing: str, mtime: int, size: int,
                sectorsize: int = DEFAULT_SECTORSIZE, alignment: int = DEFAULT_ALIGNMENT,
                broken: bool = False) -> bytes:
    """The header bytes of a COW file (v3 as the kernel and uml_mkcow write it;
    v1, v2 and broken v3 as older kernels did)."""
    raw = os.fsencode(backing)
    limit = PATH_LEN_V1 if version == 1 else PATH_LEN
    if len(raw) >= limit:
        raise CowError(f"backing path is {len(raw)} bytes; a v{version} COW header holds at most {limit - 1}")
    mtime &= 0xFFFFFFFF
    if version == 1:
        return struct.pack(_HOST + "II256sIQI", COW_MAGIC, 1, raw, mtime, size, sectorsize)
    if version == 2:
        return struct.pack(">II4096sIQI", COW_MAGIC, 2, raw, mtime, size, sectorsize)
    if version == 3 and broken:
        return struct.pack(">IIIIQIII4096s", COW_MAGIC, 3, mtime, 0, size, sectorsize,
                           alignment, 0, raw) + bytes(4)
    if version == 3:
        return struct.pack(">IIIQIII4096s", COW_MAGIC, 3, mtime, size, sectorsize, alignment, 0, raw)
    raise CowError(f"cannot write COW version {version}")


def header_for(version: int, backing: str, mtime: int, size: int,
               sectorsize: int = DEFAULT_SECTORSIZE, alignment: int = DEFAULT_ALIGNMENT,
               broken: bool = False) -> tuple[bytes, CowHeader]:
    """Packed header bytes and the parsed header they describe."""
    raw = pack_header(version, backing, mtime, size, sectorsize, alignment, broken)
    return raw, parse_header(raw, "new COW header")


def pack_mtime(header: CowHeader, mtime: int) -> bytes:
    """The 4 bytes to write at header.mtime_offset to record mtime."""
    return struct.pack(_HOST + "I" if header.version == 1 else ">I", mtime & 0xFFFFFFFF)


# --- the bitmap ------------------------------------------------------------

def _byte_runs() -> list[tuple[tuple[int, int], ...]]:
    table: list[tuple[tuple[int, int], ...]] = []
    for value in range(256):
        runs: list[tuple[int, int]] = []
        bit = 0
        while bit < 8:
            if value >> bit & 1:
                start = bit
                while bit < 8 and value >> bit & 1:
                    bit += 1
                runs.append((start, bit - start))
            else:
                bit += 1
        table.append(tuple(runs))
    return table


_BYTE_RUNS = _byte_runs()
_NONZERO = re.compile(rb"\xff+|[^\x00]")


def runs_in_bitmap(bitmap: bytes, first_sector: int = 0) -> Iterator[tuple[int, int]]:
    """(sector, count) runs of set bits; bit 0 of bitmap is first_sector.
    Adjacent runs are not coalesced across calls (see bitmap_runs)."""
    start = -1
    end = -1
    for m in _NONZERO.finditer(bitmap):
        base = first_sector + m.start() * 8
        if m.end() - m.start() > 1 or bitmap[m.start()] == 0xFF:
            pieces: tuple[tuple[int, int], ...] = ((0, (m.end() - m.start()) * 8),)
        else:
            pieces = _BYTE_RUNS[bitmap[m.start()]]
        for off, count in pieces:
            s = base + off
            if s == end:
                end += count
            else:
                if start >= 0:
                    yield start, end - start
                start, end = s, s + count
    if start >= 0:
        yield start, end - start


def bitmap_runs(fd: int, header: CowHeader, step: int = BITMAP_STEP) -> Iterator[tuple[int, int]]:
    """Stream the (sector, count) runs of set bits of an open COW file,
    coalesced, clipped to the sectors the bitmap covers. Memory: one step."""
    limit = header.covered_sectors
    pend_start = pend_end = -1
    pos = 0
    while pos < header.bitmap_len:
        n = min(step, header.bitmap_len - pos)
        chunk = os.pread(fd, n, header.bitmap_offset + pos)
        if len(chunk) < n:
            raise CowError(f"COW bitmap is truncated at byte {header.bitmap_offset + pos + len(chunk)}")
        for s, count in runs_in_bitmap(chunk, pos * 8):
            if s >= limit:
                break
            count = min(count, limit - s)
            if s == pend_end:
                pend_end += count
            else:
                if pend_start >= 0:
                    yield pend_start, pend_end - pend_start
                pend_start, pend_end = s, s + count
        pos += n
    if pend_start >= 0:
        yield pend_start, pend_end - pend_start


def count_sectors(fd: int, header: CowHeader) -> int:
    """Sectors present in the COW (set bits within the image)."""
    return sum(count for _, count in bitmap_runs(fd, header))


def set_sectors(fd: int, header: CowHeader, sector: int, data: bytes) -> None:
    """Write whole sectors into the COW as the kernel does: data into the data
    area, then the bits. data is a multiple of sectorsize long."""
    ss = header.sectorsize
    if len(data) % ss:
        raise ValueError("data must be whole sectors")
    count = len(data) // ss
    if sector < 0 or sector + count > header.covered_sectors:
        raise ValueError("sectors outside the bitmap")
    os.pwrite(fd, data, header.data_offset + sector * ss)
    mark_sectors(fd, header, sector, count)


def mark_sectors(fd: int, header: CowHeader, sector: int, count: int) -> None:
    """Set the bits of sectors [sector, sector+count) (data not touched)."""
    if count <= 0:
        return
    first, last = sector >> 3, (sector + count - 1) >> 3
    raw = bytearray(os.pread(fd, last - first + 1, header.bitmap_offset + first))
    raw.extend(bytes(last - first + 1 - len(raw)))
    for s in range(sector, sector + count):
        raw[(s >> 3) - first] |= 1 << (s & 7)
    os.pwrite(fd, bytes(raw), header.bitmap_offset + first)


def bitmap_bytes(sectors: list[tuple[int, int]], first_sector: int, nbytes: int) -> bytes:
    """A bitmap piece of nbytes whose bit 0 is first_sector (a multiple of 8),
    with bits set for the given (sector, count) runs."""
    out = bytearray(nbytes)
    for s, count in sectors:
        rel = s - first_sector
        end = rel + count
        while rel < end:
            if rel & 7 == 0 and end - rel >= 8:
                full = (end - rel) >> 3
                out[rel >> 3:(rel >> 3) + full] = b"\xff" * full
                rel += full * 8
            else:
                out[rel >> 3] |= 1 << (rel & 7)
                rel += 1
    return bytes(out)
