"""Widget-level: an armed plan (dashed, fixed, trigger line), core overlays and their toggles, the
legend and readout, a linked second chart, PNG export — on real SPY 5-minute bars."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from app.chart_tools import chart_overlays
from core.chartdata import chart_lines
from core.errors import InputError
from core.market.bars import Bars
from core.market.calendar import calendar_for
from core.market.intervals import M5, M15
from core.market.resample import resample
from tests.conftest import shared_data_dir
from widgets.chart import OVERLAY_GROUPS, ChartWidget, LineSpec, PlanView
from widgets.chart.annotations import FILLED_FVG_ALPHA
from widgets.theme import DARK


@pytest.fixture(scope="module")
def spy() -> Bars:
    df = pd.read_csv(shared_data_dir() / "intraday" / "SPY_5min_2018-2020_ib.csv").tail(1500)
    idx = pd.DatetimeIndex(pd.to_datetime(df["bar_start_et"], utc=True))
    return Bars.from_arrays(idx.as_unit("ns").asi8, df["open"].to_numpy(), df["high"].to_numpy(),
                            df["low"].to_numpy(), df["close"].to_numpy(), df["volume_lots100"].to_numpy() * 100.0)


def _chart(qtbot, bars: Bars) -> ChartWidget:  # type: ignore[no-untyped-def]
    w = ChartWidget(theme=DARK)
    qtbot.addWidget(w)
    w.resize(1100, 650)
    w.show()
    qtbot.waitExposed(w)
    w.set_bars(bars, M5, symbol="SPY")
    w.set_title("SPY · 5m")
    return w


def test_armed_plan_overlays_toggles_legend(qtbot, spy: Bars, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = _chart(qtbot, spy)
    o = chart_overlays(spy, "SPY", M5)
    lines = {n: LineSpec(v, c) for (n, v), c in zip(chart_lines(spy, "SPY", M5).items(),
                                                    ("#f5c542", "#42a5f5", "#ab47bc", "#ff7043", "#ff7043",
                                                     "#ff7043"), strict=False)}
    lines.update({n: LineSpec(v, "#26c6da", 1.0, "dashdot") for n, v in o.avwaps.items()})
    w.set_lines(lines)
    w.set_sd_zones(o.zones)
    w.set_fvgs(o.fvgs)
    w.set_liquidity(o.liquidity)
    w.set_volume_profile(o.profile)
    w.set_levels(o.levels)
    last = float(spy.close[-1])
    w.set_plan(PlanView(None, 0, "short", last, last + 0.6, (last - 1.0, last - 1.6), armed=True,
                        trigger=last - 0.1, trigger_text="below ORL"))

    d = w.describe()
    assert d["plan"]["armed"] and set(d["plan"]["lines"]) == {"entry", "stop", "tp1", "tp2", "trigger"}
    entry = w.plan_lines().line("entry")
    assert entry.pen.style() == QtCore.Qt.PenStyle.DashLine and not entry.movable
    assert "Armed Short entry" in entry.label.format and "below ORL" in w.plan_lines().line("trigger").label.format
    assert "TP1" in w.plan_lines().line("tp1").label.format and "1.67R" in w.plan_lines().line("tp1").label.format
    # Every overlay from core is there, and each toggles on its own.
    assert all(d["overlays"][g]["items"] for g in OVERLAY_GROUPS), d["overlays"]
    filled = [b for b in w._fvg_boxes.boxes if b.alpha == FILLED_FVG_ALPHA]
    assert len(filled) == sum(1 for g in o.fvgs if g[4] is not None) > 0 and all(b.x1 is not None for b in filled)
    before = w.grab().toImage()
    w.set_overlay_visible("avwap", False)
    assert not any(n.startswith("AVWAP") for n in w.describe()["lines"]) and "AVWAP" not in w.legend_text()
    w.set_overlay_visible("volume_profile", False)
    w.set_overlay_visible("zones", False)
    assert not w._profile.isVisible() and not w._sd_boxes.isVisible()
    assert w.describe()["overlays"]["zones"]["on"] is False and w.overlay_visible("fvg")
    assert w.grab().toImage() != before
    for g in OVERLAY_GROUPS:
        w.set_overlay_visible(g, True)
    assert "EMA 9" in w.legend_text() and "AVWAP open" in w.legend_text()
    with pytest.raises(InputError) as e:
        w.set_overlay_visible("ichimoku", True)
    assert e.value.field == "group"
    # The readout names the indicator values of the hovered bar.
    assert "EMA 9 " in w.format_readout(w.bar_count() - 1)
    shots = os.environ.get("TRADECOACH_CHART_SHOTS")
    if shots:
        w.export_png(str(Path(shots) / "chart_armed_overlays_dark.png"))
    with pytest.raises(InputError) as e:
        w.export_png(str(tmp_path / "chart.jpg"))
    assert e.value.field == "path"


def test_second_chart_linked_by_crosshair(qtbot, spy: Bars) -> None:  # type: ignore[no-untyped-def]
    a = _chart(qtbot, spy)
    b = ChartWidget(theme=DARK)
    qtbot.addWidget(b)
    b.resize(800, 500)
    b.show()
    qtbot.waitExposed(b)
    b.set_bars(resample(spy, M15, calendar_for("SPY")), M15, symbol="SPY")
    a.link(b)
    i = a.bar_count() - 10
    view = a.graphics.viewport()
    pos = QtCore.QPointF(view.mapFrom(a, a.map_to_widget(i, float(spy.close[i]))))
    with qtbot.waitSignal(a.hovered_time, timeout=2000):   # b lies over a offscreen: send to a's view
        QtWidgets.QApplication.sendEvent(view, QtGui.QMouseEvent(
            QtCore.QEvent.Type.MouseMove, pos, view.mapToGlobal(pos), QtCore.Qt.MouseButton.NoButton,
            QtCore.Qt.MouseButton.NoButton, QtCore.Qt.KeyboardModifier.NoModifier))
    assert a.hovered_index() == i
    ts = int(spy.ts[i])
    j = b.bar_count() - 1
    while int(b.bar(j).ts) > ts:
        j -= 1
    assert b._vline.isVisible() and b._vline.value() == j   # the 15-min bar that holds the 5-min bar
