"""The chart's plan, drawings, alerts, overlays and markers on a real kernel (replay feed, SQLite
store): line drags become new plan versions through the controller and the plans service."""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from app.chart_controller import ChartController
from core.config import load_settings
from core.scanner.events import FollowerEvent
from core.scanner.plan import Plan, save_plan
from core.services.drawings import DrawingsService
from core.store.plans import PlansRepo
from core.workstation import Workstation
from widgets.chart import OVERLAY_GROUPS, ChartWidget
from widgets.theme import LIGHT


def _mouse(view: QtWidgets.QWidget, kind: QtCore.QEvent.Type, pos: QtCore.QPoint,
           buttons: QtCore.Qt.MouseButton) -> None:
    if kind == QtCore.QEvent.Type.MouseMove:
        # pyqtgraph's scene drops moves closer than 1/mouseRateLimit (10 ms): move at a hand's pace.
        time.sleep(1.2 / pg.getConfigOption("mouseRateLimit"))
    local = QtCore.QPointF(pos)
    ev = QtGui.QMouseEvent(kind, local, QtCore.QPointF(view.mapToGlobal(pos)), QtCore.Qt.MouseButton.LeftButton,
                           buttons, QtCore.Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(view, ev)


def drag(chart: ChartWidget, x: float, y0: float, y1: float, during: Callable[[], None] | None = None) -> None:
    """Press at data (x, y0), move in steps to (x, y1), release — real mouse events on the view."""
    view = chart.graphics.viewport()
    a = view.mapFrom(chart, chart.map_to_widget(x, y0))
    b = view.mapFrom(chart, chart.map_to_widget(x, y1))
    left, none = QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.MouseButton.NoButton
    _mouse(view, QtCore.QEvent.Type.MouseMove, a, none)
    _mouse(view, QtCore.QEvent.Type.MouseButtonPress, a, left)
    for k in range(1, 9):
        p = QtCore.QPoint(a.x(), round(a.y() + (b.y() - a.y()) * k / 8))
        _mouse(view, QtCore.QEvent.Type.MouseMove, p, left)
        if k == 4 and during is not None:
            during()
    _mouse(view, QtCore.QEvent.Type.MouseButtonRelease, b, none)


def click(chart: ChartWidget, x: float, y: float) -> None:
    view = chart.graphics.viewport()
    p = view.mapFrom(chart, chart.map_to_widget(x, y))
    _mouse(view, QtCore.QEvent.Type.MouseMove, p, QtCore.Qt.MouseButton.NoButton)
    _mouse(view, QtCore.QEvent.Type.MouseButtonPress, p, QtCore.Qt.MouseButton.LeftButton)
    _mouse(view, QtCore.QEvent.Type.MouseButtonRelease, p, QtCore.Qt.MouseButton.NoButton)


async def until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if cond():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


def _plan(symbol: str, entry: float, bar_ts: int) -> Plan:
    return Plan(plan_id=f"{symbol}-test-drag", version=0, symbol=symbol, playbook="orb_retest", direction="long",
                entry=entry, stop=round(entry - 1.0, 2), targets=(round(entry + 2, 2), round(entry + 3, 2),
                                                                   round(entry + 4, 2)),
                rr=(2.0, 3.0, 4.0), confidence=0.6, confidence_raw=0.6, confidence_source="heuristic",
                expected_move=2.0, notes=(), reasons=(), key_levels=(), target_labels=(None, None, None),
                invalidation=round(entry - 1.0, 2), invalidation_note="", created_at=datetime.now(UTC),
                session_phase="morning", bar_ts=bar_ts)


@pytest.mark.slow   # a real kernel (replay feed, store)
async def test_plan_drag_overlays_drawings_alerts_markers(isolated_dirs: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    k = Workstation(load_settings(), today=date(2026, 11, 22))
    await k.start()
    drawings = DrawingsService(k.market, k.store, k.bus, k.runtime)
    await drawings.start()
    chart = ChartWidget(theme=LIGHT)
    qtbot.addWidget(chart)
    chart.resize(1100, 650)
    chart.show()
    qtbot.waitExposed(chart)
    ctrl = ChartController(k, chart, drawings=drawings)
    try:
        await k.market.replay_pause()   # no live bar moves the view between a pixel lookup and the drag
        await ctrl.show("SPY", "5m")
        await until(lambda: bool(ctrl.overlays.levels) and "EMA 20" in chart.line_names(), 30)
        n = chart.bar_count()
        last = chart.bar(n - 1)
        entry = round(last.close, 2)
        assert k.store is not None
        store = k.store
        stored = await k.runtime.run_io(save_plan, PlansRepo(store), _plan("SPY", entry, last.ts))
        plan = await ctrl.show_plan(stored.plan_id)
        assert chart.plan() is not None and chart.plan().version == plan.version == 1
        assert set(chart.plan_lines().fields()) == {"entry", "stop", "tp1", "tp2", "tp3"}

        # Drag the stop up by 0.5: R:R relabels while dragging, the release stores version 2.
        seen: list[str] = []
        x = n - 20
        drag(chart, x, plan.stop, plan.stop + 0.5,
             during=lambda: seen.append(chart.plan_lines().line("tp1").label.format))
        await until(lambda: ctrl.plan is not None and ctrl.plan.version == 2)
        again = await k.runtime.wrap(k.plans.get(plan.plan_id))
        assert again.version == 2 and abs(again.stop - (plan.stop + 0.5)) < 0.05   # ≤ a pixel or two
        assert math.isclose(again.rr[0], 2.0 / (again.entry - again.stop), rel_tol=1e-9)
        mid_rr = float(seen[0].split()[-1].rstrip("R"))   # the TP1 label halfway through the drag
        assert 2.1 < mid_rr < again.rr[0] - 0.1, seen
        assert f"{again.rr[0]:.2f}R" in chart.plan_lines().line("tp1").label.format
        assert chart.describe()["plan"]["version"] == 2

        # TP1 dragged below the entry: refused by the kernel, shown at the line, lines restored.
        drag(chart, x, again.targets[0], again.entry - 0.3)
        await until(lambda: bool(chart.plan_error()))
        assert "above entry" in chart.plan_error()
        assert (await k.runtime.wrap(k.plans.get(plan.plan_id))).version == 2
        assert abs(chart.plan_lines().line("tp1").value() - again.targets[0]) < 1e-9

        # Overlays from core, each toggleable.
        d = chart.describe()
        assert {g for g, v in d["overlays"].items() if v["items"]} >= {"zones", "levels", "fvg", "avwap"}
        assert {lv["label"] for lv in d["overlays"]["levels"]["items"]} >= {"PDH", "PDL", "PDC"}
        for group in OVERLAY_GROUPS:
            chart.set_overlay_visible(group, False)
        assert not any(line.startswith("AVWAP") for line in chart.describe()["lines"])
        assert all(not it.isVisible() for it in chart.level_items())
        for group in OVERLAY_GROUPS:
            chart.set_overlay_visible(group, True)

        # Drawing tools: a horizontal line (one click) and a trend line (two clicks), stored per symbol.
        y_line = again.entry + 1.0
        chart.set_drawing_tool("hline")
        click(chart, x, y_line)
        await until(lambda: len(chart.drawings()) == 1)
        chart.set_drawing_tool("trend")
        click(chart, n - 60, again.stop)
        click(chart, n - 10, again.entry)
        await until(lambda: len(chart.drawings()) == 2)
        chart.set_drawing_tool("text", "retest here")
        click(chart, n - 40, again.targets[1])
        await until(lambda: len(chart.drawings()) == 3)
        hline = chart.drawings()[0]
        assert hline.kind == "hline" and abs(hline.points[0][1] - y_line) < 0.05
        assert [dd.kind for dd in await k.runtime.wrap(drawings.drawings("SPY"))] == ["hline", "trend", "text"]
        alert = await ctrl.add_alert(drawing_id=hline.id)
        await ctrl.add_alert(price=round(again.stop, 2), label="plan stop")
        assert [a.label for a in chart.alerts()] == [alert.label, "plan stop"]
        # The right-click menu: an alert on a key level near the click, then deleting it again.
        pdh = dict(ctrl.overlays.levels)["PDH"]
        acts = {a.text(): a for a in chart.context_actions(x, pdh)}
        acts[f"Add alert on PDH {pdh:.2f}"].trigger()
        await until(lambda: [a.label for a in chart.alerts()][-1:] == ["PDH"])
        acts = {a.text(): a for a in chart.context_actions(x, pdh)}
        acts["Delete alert PDH"].trigger()
        await until(lambda: "PDH" not in [a.label for a in chart.alerts()])

        # Follower markers: entry, TP1, exit with P/L in R and $.
        for kind, price, target in (("entered", again.entry, 0), ("tp_hit", again.targets[0], 1),
                                    ("exited", again.targets[0], 0)):
            ctrl.on_follower_event(FollowerEvent(plan.plan_id, kind, "x", int(chart.bar(n - 5).ts), price,
                                                 target=target))
        exit_text = chart.markers()[-1].text
        r = (again.targets[0] - again.entry) / (again.entry - again.stop)
        assert exit_text == f"{r:+.2f}R  +${(again.targets[0] - again.entry) * 100:,.0f}"
        chart.flush()
        chart.export_png(str(isolated_dirs / "chart.png"))
        assert (isolated_dirs / "chart.png").stat().st_size > 10_000
        shots = os.environ.get("TRADECOACH_CHART_SHOTS")   # a folder: refresh the docs' screenshots
        if shots:
            chart.export_png(str(Path(shots) / "chart_plan_overlays_drawings.png"))

        # Another interval of the same symbol: the drawings come back at the same time and price.
        await ctrl.show("SPY", "15m")
        assert [dd.kind for dd in chart.drawings()] == ["hline", "trend", "text"]
        assert chart.plan() is not None and chart.plan().version == 2
        trend = chart.drawings()[1]
        assert chart.data_to_time(chart.time_to_x(trend.points[0][0])) // 10**9 == trend.points[0][0] // 10**9
    finally:
        ctrl.close()
        await drawings.close()
        await k.stop()
