"""GUI-thread work split into short slices: the Qt bridge delivers a burst over several turns of
the event loop (in order, intra-bar updates still coalesced); the data table updates cells in
place and only where they changed; the event log appends a burst of lines at once."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt

from app.qt_bridge import SLICE_MS, QtBridge
from core.bus import Bus
from core.events import BarClosed, BarUpdated
from core.market.bars import Bar
from core.market.intervals import parse_interval
from widgets.panels.event_log import EventLogPanel
from widgets.panels.table import DataTable

M1 = parse_interval("1m")


def _bar(ts: int, close: float) -> Bar:
    return Bar(ts, close, close, close, close, 1.0)


def test_a_slow_burst_is_delivered_in_order_over_several_slices(qtbot) -> None:  # type: ignore[no-untyped-def]
    bridge = QtBridge(Bus())
    seen: list[tuple[str, int, float]] = []

    def slow(kind: str):  # type: ignore[no-untyped-def]
        def slot(e: BarClosed | BarUpdated) -> None:
            time.sleep(SLICE_MS / 4000.0)   # four such slots fill a slice
            seen.append((kind, e.bar.ts, e.bar.close))
        return slot

    bridge.bar_closed.connect(slow("closed"))
    bridge.bar_updated.connect(slow("updated"))
    for ts in range(20):   # as the kernel thread does: straight into the bridge
        bridge._on_event(BarClosed("SPY", M1, _bar(ts, 1.0), "t"))
    bridge._on_event(BarUpdated("SPY", M1, _bar(20, 1.0), "t"))
    qtbot.waitUntil(lambda: len(seen) >= 5, timeout=2000)
    # Arriving while the burst is still being delivered: coalesced with the one still waiting.
    bridge._on_event(BarUpdated("SPY", M1, _bar(20, 2.0), "t"))
    qtbot.waitUntil(lambda: len(seen) >= 21 and seen[-1][0] == "updated", timeout=3000)
    qtbot.wait(50)
    assert [ts for _k, ts, _c in seen] == list(range(21))
    assert seen[-1] == ("updated", 20, 2.0)   # the newest state of the bar, delivered once
    assert bridge.slices >= 3
    assert bridge.coalesced == 1
    bridge.close()


def test_table_updates_only_changed_cells_and_keeps_keys_after_sorting(qtbot) -> None:  # type: ignore[no-untyped-def]
    t = DataTable(("Symbol", "Conf"))
    qtbot.addWidget(t)
    assert t.set_rows([("A", 1.0), ("B", 2.0)], keys=["a", "b"], colors=[(None, "#ff0000"), (None, None)]) == 4
    first = t.item(0, 0)
    assert t.set_rows([("A", 1.0), ("B", 3.0)], keys=["a", "b"]) == 2   # B's value, A's colour cleared
    assert t.item(0, 0) is first                                       # the same item, not a new one
    assert t.item(1, 1).text() == "3.00"
    assert t.item(0, 1).data(Qt.ItemDataRole.ForegroundRole) is None
    t.sortItems(1, Qt.SortOrder.DescendingOrder)
    t.set_rows([("A", 5.0), ("B", 3.0), ("C", 4.0)], keys=["a", "b", "c"])
    assert t.column_values(0) == ["A", "C", "B"]     # re-sorted by the trader's column
    assert [t.key_at(r) for r in range(3)] == ["a", "c", "b"]
    t.set_rows([("C", 4.0)], keys=["c"])
    assert t.rowCount() == 1 and t.key_at(0) == "c"


def test_event_log_shows_every_line_of_a_burst_in_order(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = EventLogPanel()
    qtbot.addWidget(panel)
    for i in range(30):
        panel.append(f"line {i}")
    assert panel.list.count() == 0                       # one batch, a moment later
    qtbot.waitUntil(lambda: panel.list.count() == 30, timeout=1000)
    panel.append("late")
    assert panel.lines() == [*(f"line {i}" for i in range(30)), "late"]   # reading flushes first


async def test_chart_lines_are_applied_one_per_turn_and_a_switch_stops_the_rest(qtbot, spy1m) -> None:  # type: ignore[no-untyped-def]
    """The chart controller's line pass: stale lines go, the new set lands one line per turn of
    the loop with the chart's painting held until the end; a switch meanwhile leaves the rest
    to the new symbol's pass and painting is back on."""
    import asyncio
    from types import SimpleNamespace

    import numpy as np

    from app.chart_controller import ChartController
    from app.chart_tools import ChartOverlays
    from widgets.chart import ChartWidget, LineSpec

    chart = ChartWidget()
    qtbot.addWidget(chart)
    bars = spy1m[-400:]
    chart.set_bars(bars, M1, symbol="SPY")
    ctl = ChartController(SimpleNamespace(), chart)  # type: ignore[arg-type]  # no kernel call is made here
    ctl.symbol, ctl.interval = "SPY", M1
    chart.set_line("old", np.asarray(bars.close), "#ffffff")
    specs = {f"L{i}": LineSpec(np.asarray(bars.close) + i, "#ff0000", 1.0, "solid") for i in range(4)}
    seen: list[tuple[list[str], bool]] = []

    async def watch() -> None:
        for _ in range(4):
            seen.append((chart.line_names(), chart.updatesEnabled()))
            await asyncio.sleep(0)

    await asyncio.gather(ctl._apply_lines(specs, ChartOverlays(levels=[("PDH", 1.0)]), "SPY", M1), watch())
    assert chart.line_names() == ["L0", "L1", "L2", "L3"] and chart.updatesEnabled()
    assert ctl.overlays.levels == [("PDH", 1.0)]
    partial = [names for names, painting in seen if 0 < len(names) < 4]
    assert partial and not any(painting for names, painting in seen if 0 < len(names) < 4)  # spread, held

    async def switch_soon() -> None:
        await asyncio.sleep(0)
        ctl.symbol = "AAPL"

    more = {f"M{i}": spec for i, spec in enumerate(specs.values())}
    await asyncio.gather(ctl._apply_lines(more, ChartOverlays(), "SPY", M1), switch_soon())
    assert 0 < sum(n.startswith("M") for n in chart.line_names()) < 4   # stopped part-way
    assert chart.updatesEnabled()


def test_the_window_freezes_the_heap_once_per_process(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import app.main_window as mw

    calls: list[int] = []
    monkeypatch.setattr(mw, "_heap_frozen", False)
    monkeypatch.setattr(mw.gc, "freeze", lambda: calls.append(1))
    mw.freeze_heap()
    mw.freeze_heap()   # a second window (tests open many)
    assert calls == [1]


def _block_for_watchdog() -> None:
    time.sleep(0.25)


def test_the_stall_watchdog_samples_where_the_gui_thread_was(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QTimer

    from app.stall_watchdog import StallWatchdog

    dog = StallWatchdog(threshold_ms=50.0, log_stalls=False)
    dog.start()
    try:
        qtbot.wait(50)
        QTimer.singleShot(0, _block_for_watchdog)
        qtbot.waitUntil(lambda: bool(dog.report.stalls), timeout=3000)
    finally:
        dog.stop()
    stall = dog.report.worst(1)[0]
    assert stall.duration_ms > 50
    assert any("_block_for_watchdog" in where for where in stall.samples), stall.profile()
    assert "_block_for_watchdog" in stall.profile()


def test_notes_list_updates_in_place_and_keeps_the_open_note_current(qtbot) -> None:  # type: ignore[no-untyped-def]
    from widgets.panels.notes import NotesPanel, NoteView

    p = NotesPanel()
    qtbot.addWidget(p)
    a, b = NoteView(1, "A", "SPY", ""), NoteView(2, "B", "", "", tags=("orb",))
    p.set_notes([a, b])
    p.show_note(b)
    p.set_notes([a, b])
    first = p.list.item(0)
    p.set_notes([NoteView(3, "C", "", ""), a, b])         # a new note on top: rows shift down
    assert [p.list.item(i).text() for i in range(3)] == ["C", "A · SPY", "B #orb"]
    assert [p.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(3)] == [3, 1, 2]
    assert p.list.item(0) is first                          # reused, not rebuilt
    assert p.list.currentRow() == 2 and p.list.currentItem().data(Qt.ItemDataRole.UserRole) == 2
    p.set_notes([a])
    assert p.list.count() == 1 and p.list.currentRow() == -1   # the open note is no longer listed
