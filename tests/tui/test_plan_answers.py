"""The partition list shows the planner's answers (what fills the rest of the
disk, whether a boot partition exists) and derives none of them itself."""

from __future__ import annotations

from engine.layout.model import Layout
from tests.support.tui import SIZE
from tui.app import PartwrightApp
from tui.widgets.partition_list import PartitionList


async def test_root_before_a_last_spare_has_a_fixed_size_not_the_rest() -> None:
    layout = Layout(firmware="efi", filesystem="ext4", size_mb=102400, spare_part_mb=500,
                    spare_part_is_last=True)
    app = PartwrightApp(layout)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        root = app.plan.entry("root")
        assert root is not None and not root.fills_rest
        assert root.sectors == 101868 * 2048  # KIWI: disk - legacy - ESP - spare - 10 MiB
        assert app.plan.rest is not None and app.plan.rest.key == "spare"
        plist = app.main.query_one(PartitionList)
        assert plist.cell("root", "size") == "99.5 GiB"


async def test_root_that_takes_the_rest_says_so() -> None:
    app = PartwrightApp(Layout(firmware="efi", filesystem="ext4", size_mb=8192))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.main.query_one(PartitionList).cell("root", "size").endswith(" (rest)")


async def test_boot_clone_without_a_boot_partition_lists_no_boot_row() -> None:
    app = PartwrightApp(Layout(firmware="efi", filesystem="ext4", size_mb=8192, boot_clone=1))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not app.plan.boot_partition
        assert app.main.query_one(PartitionList).keys == ["root"]
        codes = {d.code: d for d in app.plan.diagnostics}
        assert codes["boot-clone-no-boot"].severity == "warning"
        assert "bootpartition" in (codes["boot-clone-no-boot"].fix or "")
