"""The chart as a trader navigates it (issue 17): lines and axes belong to the symbol shown, the
last-price tag on the axis, a live readout, zoom/pan limits, scroll to real time, reset, and
VWAP drawn whole between session resets."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


import numpy as np
import pandas as pd
import pytest
from PySide6 import QtCore, QtGui

from core.chartdata import chart_lines, session_starts
from core.errors import InputError
from core.market.bars import Bar, Bars
from core.market.calendar import calendar_for
from core.market.intervals import D1, H1, H4, M1, M5, M15, M30
from core.market.resample import resample
from tests.chart_fixtures import W, expected_y, grab, mask, rgb_of, shared_data_root
from widgets.chart import Y_MARGIN, ChartWidget, LineSpec
from widgets.chart.view import max_width
from widgets.chart.widget import DEFAULT_VISIBLE, RIGHT_PAD
from widgets.theme import DARK

# -- real data -------------------------------------------------------------------------------------



@pytest.fixture(scope="module")
def spx1m() -> Bars:
    """S&P 500 index 1-min, 4 sessions, volume all 0 (columns Date,Open,Close,High,Low,Volume)."""
    df = pd.read_csv(shared_data_root() / "intraday" / "SPX_index_1min_2019-11-05_to_08_mplfinance.csv")
    idx = pd.DatetimeIndex(pd.to_datetime(df["Date"])).tz_localize("America/New_York").tz_convert("UTC")
    frame = pd.DataFrame({c.lower(): df[c].to_numpy(dtype=float)
                          for c in ("Open", "High", "Low", "Close", "Volume")}, index=idx)
    return Bars.from_pandas(frame)


VWAP_COLOR = "#ff7043"


def _indicator_lines(bars: Bars, symbol: str, interval) -> dict[str, LineSpec]:  # type: ignore[no-untyped-def]
    starts = session_starts(bars, symbol)
    return {name: LineSpec(v, VWAP_COLOR if name == "VWAP" else "#42a5f5", 1.6,
                           breaks=starts if name.startswith("VWAP") else None)
            for name, v in chart_lines(bars, symbol, interval).items() if name in ("VWAP", "EMA 20")}


def test_symbol_switch_drops_the_old_lines_and_fits_the_new_symbol(chart: ChartWidget, spy5, spx1m) -> None:  # type: ignore[no-untyped-def]
    spy = spy5[0][-2000:]
    chart.set_bars(spy, M5, symbol="SPY")
    chart.set_lines(_indicator_lines(spy, "SPY", M5))
    assert chart.line_names() == ["EMA 20", "VWAP"] and chart.volume_shown()
    # SPX has no volume, so the kernel computes no VWAP for it; the SPY VWAP must not stay behind.
    chart.set_bars(spx1m, M1, symbol="SPX")
    assert chart.line_names() == [] and chart.symbol == "SPX"
    i0, i1 = chart.visible_range()
    assert i1 == len(spx1m)
    assert chart.price_plot.getViewBox().viewRange()[1] == pytest.approx(expected_y(spx1m, i0, i1))
    rgb = rgb_of(grab(chart))
    assert not mask(rgb, VWAP_COLOR).any()
    # No volume at all: the pane folds down to the time axis and shows no "0 0 1 1" ticks.
    assert not chart.volume_shown()
    assert chart.volume_plot.getViewBox().height() <= 8
    assert chart.volume_plot.getAxis("right").style["showValues"] is False
    assert chart.time_axis.isVisible() and chart.time_axis.height() > 0
    assert " V " not in chart.format_readout(i1 - 1) and " C " in chart.format_readout(i1 - 1)
    # Back to a symbol with volume: the pane comes back.
    chart.set_bars(spy, M5, symbol="SPY")
    assert chart.volume_shown() and chart.volume_plot.getViewBox().height() > 50
    assert chart.volume_plot.getAxis("right").style["showValues"] is True
    with pytest.raises(InputError) as err:
        chart.set_bars(spy, M5, symbol=" ")
    assert err.value.field == "symbol"


def test_same_series_reload_keeps_lines_and_set_lines_replaces_the_set(chart: ChartWidget, spy5) -> None:  # type: ignore[no-untyped-def]
    bars = spy5[0][:3000]
    chart.set_bars(bars, M5, symbol="SPY")
    chart.set_lines(_indicator_lines(bars, "SPY", M5))
    chart.set_bars(bars[:2990], M5, symbol="SPY")         # a reload of the same series
    assert chart.line_names() == ["EMA 20", "VWAP"]
    chart.set_lines({"EMA 20": _indicator_lines(bars, "SPY", M5)["EMA 20"]})
    assert chart.line_names() == ["EMA 20"]
    i0, i1 = chart.visible_range()
    far = np.full(len(bars), np.nan)
    far[:10] = bars.high.max() * 3        # finite only far left of the view
    chart.set_lines({"EMA 20": _indicator_lines(bars, "SPY", M5)["EMA 20"], "far": LineSpec(far, "#ffffff")})
    ema = chart_lines(bars, "SPY", M5)["EMA 20"][i0:i1]
    lo = min(bars.low[i0:i1].min(), ema.min())
    hi = max(bars.high[i0:i1].max(), ema.max())
    assert chart.price_plot.getViewBox().viewRange()[1] == pytest.approx(
        (lo - Y_MARGIN * (hi - lo), hi + Y_MARGIN * (hi - lo)))
    chart.set_bars(bars, M15, symbol="SPY")                # another interval: another series
    assert chart.line_names() == []
    with pytest.raises(InputError) as err:
        chart.set_lines({"x": bars.close})  # type: ignore[dict-item]
    assert err.value.field == "lines[0]"


def _tag_rows(rgb: np.ndarray, color: str, x0: int, x1: int) -> np.ndarray:
    """Rows where at least half of columns x0..x1 are `color` (a filled label)."""
    return np.flatnonzero(mask(rgb[:, x0:x1], color).mean(axis=1) > 0.5)


def test_last_price_tag_sits_on_the_price_axis_and_clamps_when_off_screen(chart: ChartWidget, spy5) -> None:  # type: ignore[no-untyped-def]
    bars = spy5[0][:3000]
    chart.set_bars(bars, M5)
    last = float(bars.close[-1])
    rgb = rgb_of(grab(chart))
    n = len(bars)
    axis_x = chart.map_to_widget(n - 1 + RIGHT_PAD, last).x() + 2       # right edge of the plot
    y = chart.map_to_widget(n - 1, last).y()
    rows = _tag_rows(rgb, DARK.last_price, axis_x + 2, W - 4)
    assert len(rows) >= 10 and rows.min() <= y <= rows.max()          # a filled tag on the axis
    # Over the candles only the 1-px dotted line: no filled label hides the newest bars.
    x_newest = chart.map_to_widget(n - 8, last).x()
    plot = mask(rgb[y - 8: y + 9, x_newest: axis_x - 4], DARK.last_price)
    assert plot.any(axis=1).sum() <= 2
    assert chart.price_axis.tag_edge == 0
    # Last price above the view: the tag sticks to the top of the axis, whole, with an arrow.
    chart.price_plot.getViewBox().setXRange(2000, 2100, padding=0)
    assert chart.price_plot.getViewBox().viewRange()[1][1] < last
    rgb = rgb_of(grab(chart))
    rows = _tag_rows(rgb, DARK.last_price, axis_x + 2, W - 4)
    top = chart.map_to_widget(2000, chart.price_plot.getViewBox().viewRange()[1][1]).y()
    assert chart.price_axis.tag_edge == 1
    assert len(rows) >= 10 and rows.min() <= top + 3 and rows.max() < top + 30


def _hover(chart: ChartWidget, qtbot, x: float, y: float) -> None:  # type: ignore[no-untyped-def]
    view = chart.graphics.viewport()
    qtbot.mouseMove(view, view.mapFrom(chart, chart.map_to_widget(x, y)))
    qtbot.waitUntil(lambda: chart.hovered_index() >= 0, timeout=1000)


def test_readout_follows_interval_changes_and_live_ticks_under_a_still_cursor(chart: ChartWidget, spy5, qtbot) -> None:  # type: ignore[no-untyped-def]
    m5 = spy5[0][-4000:]
    cal = calendar_for("SPY")
    chart.set_bars(resample(m5, M15, cal), M15, symbol="SPY")
    n = chart.bar_count()
    _hover(chart, qtbot, n - 10, float(chart.bar(n - 10).close))
    first = chart.readout_text()
    assert first == chart.format_readout(n - 10)
    for iv in (M30, H1, H4, D1):
        bars = resample(m5, iv, cal)
        chart.set_bars(bars, iv, symbol="SPY")
        i = chart.hovered_index()
        assert 0 <= i < len(bars)
        assert chart.readout_text() == chart.format_readout(i) != first
    # Hover the live bar and let it tick: the readout shows the new close without a mouse move.
    chart.set_bars(m5, M5, symbol="SPY")
    n = chart.bar_count()
    last = chart.bar(n - 1)
    _hover(chart, qtbot, n - 1, last.close)
    assert chart.hovered_index() == n - 1
    tick = Bar(last.ts, last.open, last.high + 0.37, last.low, last.high + 0.37, last.volume + 500)
    chart.update_bar(tick)
    chart.flush()
    assert f"C {tick.close:.2f}" in chart.readout_text()
    assert f"H {tick.high:.2f}" in chart.readout_text()


def _wheel(chart: ChartWidget, x: float, y: float, steps: int) -> None:
    view = chart.graphics.viewport()
    pos = QtCore.QPointF(view.mapFrom(chart, chart.map_to_widget(x, y)))
    ev = QtGui.QWheelEvent(pos, QtCore.QPointF(view.mapToGlobal(pos.toPoint())), QtCore.QPoint(0, 0),
                           QtCore.QPoint(0, 120 * steps), QtCore.Qt.MouseButton.NoButton,
                           QtCore.Qt.KeyboardModifier.NoModifier, QtCore.Qt.ScrollPhase.NoScrollPhase, False)
    QtCore.QCoreApplication.sendEvent(view, ev)


def test_zoom_keeps_the_live_bar_and_pan_and_zoom_out_are_limited(chart: ChartWidget, spy5) -> None:  # type: ignore[no-untyped-def]
    bars = spy5[0][:5000]
    n = len(bars)
    chart.set_bars(bars, M5)
    vb = chart.price_plot.getViewBox()
    (x0, x1), _ = vb.viewRange()
    assert x1 - x0 == pytest.approx(DEFAULT_VISIBLE + RIGHT_PAD)
    live_px = chart.map_to_widget(n - 1, 0).x()
    # Wheel-zoom in with the cursor in the middle: the live bar stays where it is.
    _wheel(chart, (x0 + x1) / 2, float(bars.close[n - 60]), 3)
    (z0, z1), _ = vb.viewRange()
    assert z1 - z0 < 0.8 * (x1 - x0)
    assert chart.visible_range()[1] == n
    assert abs(chart.map_to_widget(n - 1, 0).x() - live_px) <= 1
    # Dragging far past the last bar stops with at least half of the view on bars.
    vb.setXRange(n + 500, n + 600, padding=0)
    (p0, p1), _ = vb.viewRange()
    assert p1 - p0 == pytest.approx(100) and p1 <= n - 0.5 + 50 + 1e-6
    assert chart.visible_range()[1] - chart.visible_range()[0] >= 50
    vb.setXRange(-900, -800, padding=0)
    assert chart.visible_range()[0] == 0 and chart.visible_range()[1] >= 50
    # Zooming out stops a little past the whole history.
    vb.setXRange(-1e6, 1e6, padding=0)
    (q0, q1), _ = vb.viewRange()
    assert q1 - q0 == pytest.approx(max_width(n)) and chart.visible_range() == (0, n)


def test_scroll_to_realtime_button_and_reset_view(chart: ChartWidget, spy5, qtbot) -> None:  # type: ignore[no-untyped-def]
    bars = spy5[0][:5000]
    n = 4000
    chart.set_bars(bars[:n], M5)
    vb = chart.price_plot.getViewBox()
    button = chart.realtime_button()
    assert not button.isVisible()
    vb.setXRange(1000, 1080, padding=0)                   # the trader scrolls back
    assert button.isVisible()
    chart.update_bar(bars.bar(n))
    chart.flush()
    assert chart.visible_range() == (1000, 1081)           # panned away: new bars don't move it
    qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)
    (x0, x1), _ = vb.viewRange()
    assert x1 - x0 == pytest.approx(80) and chart.visible_range()[1] == n + 1
    assert not button.isVisible()
    chart.update_bar(bars.bar(n + 1))                       # following again: the view moves
    chart.flush()
    assert chart.visible_range()[1] == n + 2
    vb.setXRange(3000, 3010, padding=0)
    chart.reset_view()
    (x0, x1), _ = vb.viewRange()
    assert x1 - x0 == pytest.approx(DEFAULT_VISIBLE + RIGHT_PAD) and chart.visible_range()[1] == n + 2
    i0, i1 = chart.visible_range()
    assert vb.viewRange()[1] == pytest.approx(expected_y(bars, i0, i1))


def test_short_history_opens_filled(chart: ChartWidget, spy5) -> None:  # type: ignore[no-untyped-def]
    """A few days of 1-min data give ~30 hourly bars: they must fill the view, not 20 % of it."""
    hourly = resample(spy5[0][-400:], H1, calendar_for("SPY"))
    assert 20 < len(hourly) < DEFAULT_VISIBLE
    chart.set_bars(hourly, H1, symbol="SPY")
    (x0, x1), _ = chart.price_plot.getViewBox().viewRange()
    assert chart.visible_range() == (0, len(hourly))
    assert len(hourly) / (x1 - x0) > 0.85


def test_vwap_line_is_unbroken_between_session_resets(chart: ChartWidget, spy5) -> None:  # type: ignore[no-untyped-def]
    """Grid lines used to be stacked above the plot and cut a 1-px gap into the line at each one."""
    bars = spy5[0][:3000]
    chart.set_bars(bars, M5, symbol="SPY")
    starts = session_starts(bars, "SPY")
    chart.set_line("VWAP", chart_lines(bars, "SPY", M5)["VWAP"], "#ff00ff", 1.6, breaks=starts)
    for a, b in ((2000, 2300), (2600, 2999)):
        chart.price_plot.getViewBox().setXRange(a, b, padding=0)
        rgb = rgb_of(grab(chart))
        drawn = (mask(rgb, "#ff00ff") | mask(rgb, DARK.last_price)).any(axis=0)
        x0, x1 = chart.map_to_widget(a, 0).x(), chart.map_to_widget(b, 0).x()
        cuts = [chart.map_to_widget(s - 0.5, 0).x() for s in starts]
        cols = [x for x in range(x0 + 1, x1) if all(abs(x - c) > 3 for c in cuts)]
        assert len(cols) > 500
        assert [x for x in cols if not drawn[x]] == []
