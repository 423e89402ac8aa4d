"""Median time from a `+` keypress to the updated table on the screen.

Headless (Textual's run_test) at 120x40. The clock starts when the key event
is handed to the driver, exactly as a terminal's key would be; it stops when
the screen has been composited after the table was rebuilt (the frame the
user sees). In between: Textual's key dispatch, the re-plan, the partition
list, table, disk map and diagnostics updates, layout and rendering. Each
sample is checked: the table must show (or no longer show) the clone.
Pilot.press is not used for timing: it waits for the process to look idle.

Two layouts: the seed example (9 partitions) and one of 128 partitions
(home with 121 clones). Every sample times a `+` on the home row of that
layout (the 129th entry brings its gpt-entries error); an untimed `-` then
puts the layout back. Target: under 50 ms.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time

from textual import events

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from engine.layout.example import EXAMPLE_LAYOUT  # noqa: E402
from engine.layout.model import Layout  # noqa: E402
from tui.app import PartwrightApp  # noqa: E402
from tui.widgets.partition_list import PartitionList  # noqa: E402
from tui.widgets.plan_table import PlanTable  # noqa: E402

TARGET_MS = 50.0


async def measure(layout: Layout, presses: int) -> tuple[float, float, float, int]:
    """(median ms, max ms, median CPU ms, table rows after `+`) of `presses`
    `+` keypresses on the home row. The CPU time is this process's, so other load on the machine
    shows in the wall time only."""
    app = PartwrightApp(layout)
    times: list[float] = []
    cpu: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.main
        plist = screen.query_one(PartitionList)
        plist.focus()
        plist.move_to(plist.keys.index("home"))
        await pilot.pause()
        table = screen.query_one(PlanTable)
        marks: dict[str, float] = {}
        show, refresh = table.show, screen._compositor_refresh

        def timed_show(*args: object) -> None:
            show(*args)  # type: ignore[arg-type]
            marks["shown"] = time.perf_counter()

        def timed_refresh() -> None:
            refresh()
            if "shown" in marks and "frame" not in marks:
                marks["frame"] = time.perf_counter()
                marks["frame_cpu"] = time.process_time()

        table.show = timed_show  # type: ignore[method-assign]
        screen._compositor_refresh = timed_refresh  # type: ignore[method-assign]
        driver = app._driver
        assert driver is not None
        for _ in range(presses):
            for key, char in (("plus", "+"), ("minus", "-")):
                before = app.layout.partition("home").clone  # type: ignore[union-attr]
                marks.clear()
                event = events.Key(key, char)
                event.set_sender(app)
                c0, t0 = time.process_time(), time.perf_counter()
                driver.send_message(event)
                while "frame" not in marks:
                    await asyncio.sleep(0.0005)
                    if time.perf_counter() - t0 > 10:
                        raise RuntimeError("no frame after the keypress")
                if key == "plus":
                    times.append(marks["frame"] - t0)
                    cpu.append(marks["frame_cpu"] - c0)
                    rows = table.row_count
                after = app.layout.partition("home").clone  # type: ignore[union-attr]
                assert after == before + (1 if key == "plus" else -1)
                want = f"homeclone{before + 1}"
                assert (want in table.row_keys) == (key == "plus"), "the table did not follow"
                await pilot.pause()
    return (statistics.median(times) * 1000, max(times) * 1000,
            statistics.median(cpu) * 1000, rows)


def main() -> int:
    big = EXAMPLE_LAYOUT.with_partition("home", clone=121)  # 9 - 2 + 121 = 128 partitions
    failed = False
    for label, layout, presses in (("seed example", EXAMPLE_LAYOUT, 30),
                                   ("128 partitions", big, 30)):
        median, worst, cpu, rows = asyncio.run(measure(layout, presses))
        ok = median < TARGET_MS
        failed |= not ok
        print(f"tui '+' to updated table, {label:15s} median {median:7.2f} ms"
              f"  (CPU {cpu:6.2f} ms, max {worst:7.2f} ms, {rows} rows; target < {TARGET_MS:.0f} ms)"
              f"{'' if ok else '  OVER TARGET'}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    print(f"(load average {load:.1f} on {os.cpu_count()} CPUs while measuring)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
