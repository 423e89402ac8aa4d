"""Counts and sizes past what any table or image holds: an error diagnostic
in milliseconds and flat memory, never millions of requests; the failure
reason is a typed value."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from engine.layout.example import EXAMPLE_LAYOUT as SEED
from engine.layout.model import Layout, Partition, SystemDisk, Volume
from engine.plan.kiwi_order import REQUEST_LIMIT, requests, resolve
from engine.plan.placement import GptTable, MsdosTable, PlacementError
from engine.plan.planner import plan
from engine.units import GPT_MAX_ENTRIES, MAX_IMAGE_BYTES, MIB

EFI = Layout(firmware="efi", filesystem="ext4", size_mb=8192)
BIOS_EXT = Layout(firmware="bios", filesystem="ext4", size_mb=8192, dosparttable_extended_layout=True)

HUGE = {
    "root_clone": lambda n: SEED.with_changes(root_clone=n),
    "boot_clone": lambda n: SEED.with_changes(boot_clone=n),
    "clone": lambda n: SEED.with_partition("home", clone=n),
    "msdos-clone": lambda n: BIOS_EXT.with_changes(partitions=(Partition("slot", 10, clone=n),)),
    "msdos-root-clone": lambda n: BIOS_EXT.with_changes(root_clone=n),
}


@pytest.mark.parametrize("count", [10**7, 10**9])
@pytest.mark.parametrize("what", sorted(HUGE))
def test_a_huge_count_is_an_error_in_milliseconds_and_flat_memory(what: str, count: int) -> None:
    layout = HUGE[what](count)
    tracemalloc.start()
    began = time.perf_counter()
    p = plan(layout)
    seconds = time.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert seconds < 1.0, seconds
    assert peak < 20 * MIB, peak
    codes = {d.code for d in p.errors}
    assert codes & {"gpt-entries", "msdos-numbers"}, codes
    message = next(d.message for d in p.errors if d.code in ("gpt-entries", "msdos-numbers"))
    assert "KIWI fails creating partition" in message
    assert str(count) in message.replace(",", "") or str(count + 1) in message or "partitions" in message
    assert len(p.entries) <= GPT_MAX_ENTRIES + 1


def test_requests_are_counted_not_built() -> None:
    layout = SEED.with_changes(root_clone=10**9)
    wanted, _ = requests(layout, resolve(layout))
    assert len(wanted.kept) == REQUEST_LIMIT
    assert wanted.total == 10**9 + 8  # bios_grub, ESP, 2 boot, 3 home, root
    # the kept ones are exactly the first of KIWI's creation order
    assert [q.key for q in wanted.kept[:9]] == [
        "efi_csm", "efi", "bootclone1", "boot", "homeclone1", "homeclone2", "home",
        "rootclone1", "rootclone2"]
    assert wanted.kept[-1].clone_index == REQUEST_LIMIT - 7


def test_the_gpt_message_says_the_whole_count() -> None:
    p = plan(SEED.with_changes(root_clone=10**7))
    d = next(d for d in p.errors if d.code == "gpt-entries")
    assert f"needs {10**7 + 8} partitions" in d.message
    assert d.partition == "rootclone122"


def test_msdos_past_60_numbers_is_an_error() -> None:
    p = plan(BIOS_EXT.with_changes(partitions=(Partition("slot", 10, clone=58),)))
    d = next(d for d in p.errors if d.code == "msdos-numbers")
    assert "61" in d.message


@pytest.mark.parametrize("layout", [
    EFI.with_changes(size_mb=99999999999 * 1024),  # <size unit="G">99999999999</size>
    EFI.with_changes(size_mb=None, spare_part_mb=2**50),
    EFI.with_changes(size_mb=None, partitions=(Partition("data", 2**50, "/data"),)),
], ids=["size-G", "spare", "estimate"])
def test_a_disk_no_image_file_can_be_is_an_error(layout: Layout) -> None:
    p = plan(layout)
    assert "disk-too-large" in {d.code for d in p.errors}
    assert p.disk_bytes > MAX_IMAGE_BYTES


def test_the_largest_gpt_disk_an_image_file_can_be_plans() -> None:
    p = plan(EFI.with_changes(size_mb=MAX_IMAGE_BYTES // MIB))
    assert "disk-too-large" not in {d.code for d in p.diagnostics}


def test_many_volumes_are_an_error() -> None:
    volumes = tuple(Volume(f"v{i}", 10, mountpoint=f"/v{i}") for i in range(1001))
    p = plan(EFI.with_changes(systemdisk=SystemDisk(volumes=volumes)))
    assert "too-many-volumes" in {d.code for d in p.errors}
    assert "too-many-volumes" not in {d.code for d in plan(EFI.with_changes(
        systemdisk=SystemDisk(volumes=volumes[:1000]))).diagnostics}


@pytest.mark.parametrize(("build", "kind"), [
    (lambda: GptTable(8192 * 2048).add(129, 10), "table-full"),
    (lambda: _twice(GptTable(8192 * 2048)), "number-in-use"),
    (lambda: GptTable(8192 * 2048).add(1, 10**6), "does-not-fit"),
    (lambda: MsdosTable(8192 * 2048).add_primary(5, 10), "table-full"),
    (lambda: _logical(MsdosTable(8192 * 2048), 57), "table-full"),
    # +SIZE onto the last sector: fdisk's prompt refuses it, the sector before is fine
    (lambda: MsdosTable(11 * 2048).add_primary(1, 10), "last-sector"),
    (lambda: MsdosTable(11 * 2048).add_primary(1, 11), "does-not-fit"),
])
def test_placement_failures_carry_their_kind(build: object, kind: str) -> None:
    with pytest.raises(PlacementError) as caught:
        build()  # type: ignore[operator]
    assert caught.value.kind == kind


def test_msdos_size_ends_before_the_last_sector_and_all_free_on_it() -> None:
    assert MsdosTable(12 * 2048).add_primary(1, 10).end == 11 * 2048 - 1
    assert MsdosTable(11 * 2048).add_primary(1, None).end == 11 * 2048 - 1
    table = MsdosTable(12 * 2048)
    table.add_extended(1)
    with pytest.raises(PlacementError) as caught:
        table.add_logical(10)  # its EBR takes the first MiB of the extended one
    assert caught.value.kind == "last-sector"
    assert table.add_logical(9).end == 12 * 2048 - 2049


def _twice(table: GptTable) -> None:
    table.add(1, 10)
    table.add(1, 10)


def _logical(table: MsdosTable, count: int) -> None:
    table.add_extended(1)
    for _ in range(count):
        table.add_logical(10)


def test_diagnostics_choose_by_kind_not_by_message_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """The msdos-logical-id diagnostic follows the kind even if the tool's words change."""
    from engine.plan import partitioner

    original = partitioner.place

    def reworded(*args: object) -> partitioner.Placement:
        out = original(*args)  # type: ignore[arg-type]
        if out.failure is not None:
            out.failure = PlacementError(out.failure.kind, out.failure.number, "reworded")
        return out

    monkeypatch.setattr("engine.plan.planner.place", reworded)
    p = plan(BIOS_EXT.with_changes(rootpart_id=30, partitions=(
        Partition("a1", 10), Partition("b1", 10), Partition("c1", 10))))
    assert "msdos-logical-id" in {d.code for d in p.errors}
