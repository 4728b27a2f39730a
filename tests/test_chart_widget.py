"""ChartWidget on real market data: state, autoscale, overlays, pixels, LOD, New York time axis."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from PySide6 import QtCore, QtGui

from core.errors import InputError
from core.market.bars import Bar, Bars
from core.market.intervals import D1, M1, M5
from tests.chart_fixtures import H, W, expected_y, grab, mask, pixel, rgb_of, shared_data_root
from widgets.chart import CHUNK, Y_MARGIN, ChartWidget
from widgets.theme import DARK, LIGHT


# -- state -----------------------------------------------------------------------------------------
def test_set_bars_counts_and_shows_the_right_edge(chart: ChartWidget, spy5) -> None:  # type: ignore[no-untyped-def]
    bars, _ = spy5
    assert chart.bar_count() == 0
    chart.set_bars(bars, M5)
    assert chart.bar_count() == len(bars) == 58_020
    start, stop = chart.visible_range()
    assert stop == len(bars)
    assert 50 < stop - start < 400
    assert chart.bar(len(bars) - 1) == bars.bar(len(bars) - 1)
    chart.set_bars(bars[:1000], M5)
    assert chart.bar_count() == 1000
    chart.set_bars(Bars.empty(), M5)
    assert chart.bar_count() == 0 and chart.visible_range() == (0, 0)
    rgb = rgb_of(grab(chart))
    assert not (mask(rgb, DARK.up) | mask(rgb, DARK.down)).any()  # no candles left on screen


def test_update_bar_builds_a_live_bar_then_appends(chart: ChartWidget, spy1m) -> None:  # type: ignore[no-untyped-def]
    """Feed 1-min trades of two 5-min buckets as in-progress updates of 5-min bars."""
    ts5 = spy1m.ts - spy1m.ts % M5.ns
    buckets = np.unique(ts5)
    history = Bars.from_arrays(*(getattr(spy1m, c)[:1] for c in ("ts", "open", "high", "low", "close",
                                                                  "volume")))
    chart.set_bars(history[:0], M5)
    for b5 in buckets[100:102]:
        rows = np.flatnonzero(ts5 == b5)
        live: Bar | None = None
        for r in rows:
            m = spy1m.bar(int(r))
            live = Bar(int(b5), m.open, m.high, m.low, m.close, m.volume) if live is None else live.merged(m)
            chart.update_bar(live)
        # Independent aggregate of the bucket from the raw minute rows:
        got = chart.bar(chart.bar_count() - 1)
        assert got.ts == int(b5)
        assert got.open == spy1m.open[rows[0]] and got.close == spy1m.close[rows[-1]]
        assert got.high == spy1m.high[rows].max() and got.low == spy1m.low[rows].min()
        assert got.volume == pytest.approx(spy1m.volume[rows].sum())
    assert chart.bar_count() == 2  # same ts replaced, newer ts appended exactly once per bucket
    with pytest.raises(InputError) as err:
        chart.update_bar(Bar(int(buckets[100]), 1.0, 1.0, 1.0, 1.0, 0.0))
    assert err.value.field == "bar.ts"
    with pytest.raises(InputError):
        chart.update_bar(Bar(int(buckets[102]), float("nan"), 1.0, 1.0, 1.0, 0.0))


def test_follow_live_scrolls_only_at_the_right_edge(chart: ChartWidget, spy5) -> None:  # type: ignore[no-untyped-def]
    bars, _ = spy5
    n = 5000
    chart.set_bars(bars[:n], M5)
    start, stop = chart.visible_range()
    chart.update_bar(bars.bar(n))
    chart.flush()
    assert chart.bar_count() == n + 1
    assert chart.visible_range() == (start + 1, stop + 1)
    # Scrolled back: a new bar must not move the view.
    chart.price_plot.getViewBox().setXRange(1000, 1100, padding=0)
    before = chart.visible_range()
    chart.update_bar(bars.bar(n + 1))
    chart.flush()
    assert chart.visible_range() == before
    # follow_live off: no scrolling even at the right edge.
    chart.follow_live = True
    assert chart.visible_range()[1] == n + 2
    vb = chart.price_plot.getViewBox()
    at_edge = vb.viewRange()[0]
    chart.follow_live = False
    chart.update_bar(bars.bar(n + 2))
    chart.flush()
    assert vb.viewRange()[0] == at_edge
    assert chart.bar_count() == n + 3


def test_set_bars_keeps_the_users_window_when_scrolled_back(chart: ChartWidget, spy5) -> None:  # type: ignore[no-untyped-def]
    bars, _ = spy5
    chart.set_bars(bars[1000:6000], M5)
    chart.price_plot.getViewBox().setXRange(2000, 2100, padding=0)
    t_first = bars.ts[1000 + chart.visible_range()[0]]
    # Backfill: 1000 older bars prepended; the same moment must stay in view.
    chart.set_bars(bars[:6000], M5)
    start, stop = chart.visible_range()
    assert bars.ts[start] == t_first
    assert stop - start == pytest.approx(101, abs=2)
    # At the right edge a replace shows the new end.
    chart.follow_live = True
    chart.set_bars(bars[:7000], M5)
    assert chart.visible_range()[1] == 7000


# -- autoscale -------------------------------------------------------------------------------------
def test_autoscale_fits_visible_bars_and_follows_scrolling(chart: ChartWidget, spy5) -> None:  # type: ignore[no-untyped-def]
    bars, _ = spy5
    chart.set_bars(bars, M5)
    vb = chart.price_plot.getViewBox()
    vb.setXRange(1000, 1100, padding=0)
    assert chart.visible_range() == (1000, 1101)
    y0, y1 = vb.viewRange()[1]
    assert (y0, y1) == pytest.approx(expected_y(bars, 1000, 1101), rel=1e-9)
    vb.setXRange(40_000, 40_300, padding=0)
    assert vb.viewRange()[1] == pytest.approx(expected_y(bars, 40_000, 40_301), rel=1e-9)
    assert vb.viewRange()[1][0] > y1  # SPY in 2020 traded far above early 2018
    vol_top = chart.volume_plot.getViewBox().viewRange()[1][1]
    assert vol_top == pytest.approx(bars.volume[40_000:40_301].max() * 1.1)


def test_autoscale_includes_visible_overlay_lines_and_skips_nan(chart: ChartWidget, spy5) -> None:  # type: ignore[no-untyped-def]
    bars, _ = spy5
    chart.set_bars(bars, M5)
    vb = chart.price_plot.getViewBox()
    vb.setXRange(1000, 1100, padding=0)
    hi = bars.high[1000:1101].max()
    line = np.full(len(bars), np.nan)
    line[1050] = hi + 2.0              # visible spike: must widen the range
    line[5000] = hi + 50.0             # off-screen spike: must not
    chart.set_line("probe", line, "#ff00ff")
    lo = bars.low[1000:1101].min()
    top = hi + 2.0
    assert vb.viewRange()[1] == pytest.approx((lo - Y_MARGIN * (top - lo), top + Y_MARGIN * (top - lo)))
    chart.remove_line("probe")
    assert vb.viewRange()[1] == pytest.approx(expected_y(bars, 1000, 1101))


def test_wheel_zooms_x_only_and_y_refits(chart: ChartWidget, spy5, qtbot) -> None:  # type: ignore[no-untyped-def]
    bars, _ = spy5
    chart.set_bars(bars, M5)
    vb = chart.price_plot.getViewBox()
    vb.setXRange(2000, 2200, padding=0)
    centre = chart.map_to_widget(2100, float(bars.close[2100]))
    view = chart.graphics.viewport()
    pos = QtCore.QPointF(view.mapFrom(chart, centre))
    ev = QtGui.QWheelEvent(pos, QtCore.QPointF(view.mapToGlobal(pos.toPoint())), QtCore.QPoint(0, 0),
                           QtCore.QPoint(0, 240), QtCore.Qt.MouseButton.NoButton,
                           QtCore.Qt.KeyboardModifier.NoModifier, QtCore.Qt.ScrollPhase.NoScrollPhase,
                           False)
    QtCore.QCoreApplication.sendEvent(view, ev)
    (x0, x1), (y0, y1) = vb.viewRange()
    assert x1 - x0 < 200 * 0.9            # zoomed in on X
    i0, i1 = chart.visible_range()
    assert (y0, y1) == pytest.approx(expected_y(bars, i0, i1))  # Y is the fit, not a wheel zoom


# -- overlays --------------------------------------------------------------------------------------
def test_line_with_nan_gap_is_broken_on_screen(chart: ChartWidget, spy5) -> None:  # type: ignore[no-untyped-def]
    bars, _ = spy5
    chart.set_bars(bars[:3000], M5)
    chart.price_plot.getViewBox().setXRange(2000, 2099, padding=0)
    ema = pd.Series(bars.close[:3000]).ewm(span=9, min_periods=9).mean().to_numpy(copy=True)
    ema[2030:2060] = np.nan  # e.g. an anchored VWAP that restarts
    chart.set_line("ema9", ema, "#ff00ff", width=1.0)
    assert chart.line_names() == ["ema9"]
    rgb = rgb_of(grab(chart))
    magenta = mask(rgb, "#ff00ff")
    gap = slice(chart.map_to_widget(2030, 0).x(), chart.map_to_widget(2059, 0).x() + 1)
    drawn = slice(chart.map_to_widget(2001, 0).x(), chart.map_to_widget(2028, 0).x() + 1)
    assert not magenta[:, gap].any()
    assert magenta[:, drawn].any(axis=0).mean() > 0.6  # the last-price line may cover a few columns
    chart.remove_line("ema9")
    assert chart.line_names() == []
    assert not mask(rgb_of(grab(chart)), "#ff00ff").any()
    with pytest.raises(InputError) as err:
        chart.set_line("x", ema, "#ff00ff", style="wiggly")
    assert err.value.field == "style"
    with pytest.raises(InputError) as err:
        chart.set_line("x", np.zeros((2, 2)), "#ff00ff")
    assert err.value.field == "values"
    with pytest.raises(InputError) as err:
        chart.set_line("x", ema, "not-a-colour")
    assert err.value.field == "color"


def test_plan_bands_draw_and_clear(chart: ChartWidget, spy5) -> None:  # type: ignore[no-untyped-def]
    bars, _ = spy5
    chart.set_bars(bars[:3000], M5)
    i0, i1 = chart.visible_range()
    lo, hi = bars.low[i0:i1].min(), bars.high[i0:i1].max()
    entry, stop = lo + 0.6 * (hi - lo), lo + 0.4 * (hi - lo)
    targets = [lo + 0.8 * (hi - lo), hi]
    background = rgb_of(grab(chart))
    chart.set_plan_bands(entry, stop, targets, "long")
    assert len(chart.plan_items()) == 6  # risk + reward bands, entry, stop, 2 targets
    scene = chart.graphics.scene()
    assert all(item.scene() is scene for item in chart.plan_items())
    with_bands = rgb_of(grab(chart))
    # Rows strictly inside the risk band changed colour (translucent red over the background).
    y_in = chart.map_to_widget(i0, (entry + stop) / 2).y()
    assert (with_bands[y_in] != background[y_in]).any(axis=1).mean() > 0.5
    old = chart.plan_items()
    chart.set_plan_bands(entry, None, [], "short")  # replaces, does not accumulate
    assert len(chart.plan_items()) == 1
    assert all(item.scene() is None for item in old)
    chart.clear_plan_bands()
    assert chart.plan_items() == []
    assert np.array_equal(rgb_of(grab(chart)), background)


def test_levels_and_zones(chart: ChartWidget, spy5) -> None:  # type: ignore[no-untyped-def]
    bars, _ = spy5
    chart.set_bars(bars[:3000], M5)
    i0, i1 = chart.visible_range()
    lo, hi = bars.low[i0:i1].min(), bars.high[i0:i1].max()
    chart.set_levels([("PDH", float(hi)), ("PDL", float(lo))])
    assert [line.value() for line in chart.level_items()] == [hi, lo]
    chart.set_levels([("ORH", float(hi))])
    assert len(chart.level_items()) == 1
    chart.set_levels([])
    background = rgb_of(grab(chart))
    start = (i0 + i1) // 2
    z_lo, z_hi = lo + 0.1 * (hi - lo), lo + 0.3 * (hi - lo)
    chart.set_zones([(z_lo, z_hi, "demand", "#2196f3", start)])
    assert chart.zones()[0].start == start
    shaded = rgb_of(grab(chart))
    y = chart.map_to_widget(start, (z_lo + z_hi) / 2).y()
    x_start = chart.map_to_widget(start - 0.5, 0).x()
    changed = (shaded[y] != background[y]).any(axis=1)
    assert not changed[: x_start - 12].any()          # nothing left of the zone start
    assert changed[x_start + 2: chart.map_to_widget(i1 - 1, 0).x()].mean() > 0.5
    chart.set_zones([])
    assert np.array_equal(rgb_of(grab(chart)), background)
    with pytest.raises(InputError) as err:
        chart.set_zones([(1.0, 2.0, "x", "nope")])
    assert err.value.field == "zones[0].color"


# -- pixels ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("theme", [DARK, LIGHT], ids=["dark", "light"])
def test_candles_paint_their_colours_where_the_bars_are(qtbot, spy5, theme) -> None:  # type: ignore[no-untyped-def]
    bars, _ = spy5
    w = ChartWidget(theme=theme)
    qtbot.addWidget(w)
    w.resize(W, H)
    w.show()
    qtbot.waitExposed(w)
    w.set_bars(bars[:2000], M5)
    w.price_plot.getViewBox().setXRange(1900, 1960, padding=0)
    img = grab(w)
    assert not w.candles.lod_active
    body = bars.close[1900:1961] - bars.open[1900:1961]
    up_i, down_i = 1900 + int(np.argmax(body)), 1900 + int(np.argmin(body))
    assert body.max() > 0 > body.min()
    for i, color in ((up_i, theme.up), (down_i, theme.down)):
        mid = (bars.open[i] + bars.close[i]) / 2
        assert pixel(img, w.map_to_widget(i, mid)) == color
    # Above every visible high there is only background in the price plot.
    top = bars.high[1900:1961].max()
    above = w.map_to_widget(up_i, top + (top - bars.low[1900:1961].min()) * Y_MARGIN * 0.5)
    assert pixel(img, above) == theme.background


def test_lod_on_100k_bars_still_paints_candle_colours(chart: ChartWidget, es1m) -> None:  # type: ignore[no-untyped-def]
    assert len(es1m) > 100_000
    chart.set_bars(es1m, M1)
    chart.price_plot.getViewBox().setXRange(0, len(es1m) - 1, padding=0)
    rgb = rgb_of(grab(chart))
    assert chart.candles.lod_active
    up, down = mask(rgb, DARK.up), mask(rgb, DARK.down)
    assert up.sum() > 1000 and down.sum() > 1000
    ys = np.flatnonzero((up | down).any(axis=1))
    y_top = chart.map_to_widget(0, float(es1m.high.max())).y()
    y_bottom = chart.map_to_widget(0, float(es1m.low.min())).y()
    assert ys.min() >= y_top - 1 and ys.max() <= y_bottom + 1
    assert ys.min() <= y_top + 2 and ys.max() >= y_bottom - 2  # the extremes are drawn
    # Columns with candle pixels span the whole data width, not just the last chunk.
    xs = np.flatnonzero((up | down).any(axis=0))
    assert xs.min() <= chart.map_to_widget(50, 0).x()
    assert xs.max() >= chart.map_to_widget(len(es1m) - 500, 0).x()  # ~4 px from the end
    # Zoomed in again, candles are drawn as bodies.
    chart.price_plot.getViewBox().setXRange(50_000, 50_100, padding=0)
    grab(chart)
    assert not chart.candles.lod_active


# -- live painting ---------------------------------------------------------------------------------
def test_live_update_rebuilds_only_the_live_bar(chart: ChartWidget, spy5) -> None:  # type: ignore[no-untyped-def]
    bars, _ = spy5
    n = 10 * CHUNK + 17
    chart.set_bars(bars[:n], M5)
    chart.price_plot.getViewBox().setXRange(n - 3 * CHUNK, n + 2, padding=0)
    grab(chart)
    builds, tails = chart.candles.chunk_builds, chart.candles.tail_builds
    assert builds == 4 and tails == 1  # the chunks in view, no more; the live bar on its own
    last = bars.bar(n - 1)
    chart.update_bar(Bar(last.ts, last.open, last.high + 1.0, last.low, last.high + 1.0, last.volume))
    img = grab(chart)
    assert (chart.candles.chunk_builds, chart.candles.tail_builds) == (builds, tails + 1)  # no chunk rebuilt
    assert chart.price_plot.getViewBox().viewRange()[1][1] >= last.high + 1.0  # y grew for the tick
    # The repaint shows the new high: the taller wick is up-coloured above the old high.
    p = chart.map_to_widget(n - 1, last.high + 0.5)
    assert pixel(img, p) == DARK.up
    # A new bar: the previous live bar joins its chunk (that one chunk is rebuilt) and is still drawn.
    nxt = bars.bar(n)
    chart.update_bar(nxt)
    img = grab(chart)
    assert (chart.candles.chunk_builds, chart.candles.tail_builds) == (builds + 1, tails + 2)
    assert pixel(img, chart.map_to_widget(n - 1, last.high + 0.5)) == DARK.up


def test_update_bar_bursts_are_coalesced(chart: ChartWidget, spy1m, qtbot) -> None:  # type: ignore[no-untyped-def]
    chart.set_bars(spy1m[:300], M1)
    grab(chart)
    flushes, paints = chart.flush_count, chart.candles.paint_count
    base = spy1m.bar(300)
    live = base
    for k in range(500):
        live = live.merged(Bar(base.ts, base.close, base.close + 0.01 * (k % 7), base.close - 0.01 * (k % 5),
                               base.close + 0.001 * k, 100.0))
        chart.update_bar(live)
    assert chart.flush_count - flushes == 1  # only the leading call ran synchronously
    qtbot.waitUntil(lambda: chart.flush_count - flushes == 2, timeout=2000)
    qtbot.wait(150)
    assert chart.flush_count - flushes == 2
    assert chart.candles.paint_count - paints <= 4
    assert chart.bar_count() == 301
    assert chart.bar(300) == live


# -- time axis and readout -------------------------------------------------------------------------
@pytest.mark.parametrize("day", ["2018-01-03", "2018-07-03"], ids=["EST", "EDT"])
def test_time_axis_labels_in_new_york_time(chart: ChartWidget, spy5, day: str) -> None:  # type: ignore[no-untyped-def]
    bars, df = spy5
    chart.set_bars(bars, M5)
    rows = np.flatnonzero(df["bar_start_et"].str.startswith(day).to_numpy())
    first, later = int(rows[0]), int(rows[6])
    et = [datetime.fromisoformat(df["bar_start_et"].iloc[i]) for i in (first, later, later + 1)]
    ax = chart.time_axis
    # A session's first bar is a new day -> date; later ticks of the same day -> HH:MM (ET).
    assert ax.tickStrings([first, later, later + 1], 1.0, 1.0) == [
        et[0].strftime("%b %d"), et[1].strftime("%H:%M"), et[2].strftime("%H:%M")]
    assert ax.tickStrings([later], 1.0, 1.0) == [et[1].strftime("%H:%M")]
    assert et[0].strftime("%H:%M") == "09:30"  # the data itself says so; the axis must agree
    assert ax.tickStrings([later + 0.5], 1.0, 1.0) == [""]  # no label between bars
    # Auto ticks over the session land on bars and read as round NY clock times.
    last = int(rows[-1])
    ticks = ax.tickValues(first - 0.5, last + 0.5, 800)[0][1]
    labels = ax.tickStrings(ticks, 1.0, 1.0)
    assert len(ticks) >= 3
    assert all(float(t).is_integer() and first <= t <= last for t in ticks)
    expected = [datetime.fromisoformat(df["bar_start_et"].iloc[int(t)]) for t in ticks]
    assert labels[0] == expected[0].strftime("%b %d")
    for label, t in zip(labels[1:], expected[1:], strict=True):
        assert label == t.strftime("%H:%M") and t.minute in (0, 15, 30, 45)
    assert "12:00" in labels
    assert chart.format_readout(later).startswith(et[1].strftime("%Y-%m-%d %H:%M ET"))


def test_crosshair_readout_follows_the_mouse(chart: ChartWidget, spy5, qtbot) -> None:  # type: ignore[no-untyped-def]
    bars, df = spy5
    chart.set_bars(bars[:3000], M5)
    chart.set_title("SPY 5m")
    i = 2950
    p = chart.map_to_widget(i, float(bars.close[i]))
    view = chart.graphics.viewport()
    with qtbot.waitSignal(chart.hovered_bar, timeout=1000) as sig:
        qtbot.mouseMove(view, view.mapFrom(chart, p))
    assert sig.args == [i]
    text = chart.readout_text()
    assert text.startswith(datetime.fromisoformat(df["bar_start_et"].iloc[i]).strftime("%Y-%m-%d %H:%M"))
    for v in (bars.open[i], bars.high[i], bars.low[i], bars.close[i]):
        assert f"{v:.2f}" in text
    assert chart.header_text() == f"SPY 5m\n{text}"


@pytest.mark.parametrize("stamp", ["utc-midnight", "ny-open"])
def test_daily_axis_shows_the_session_date(chart: ChartWidget, stamp: str) -> None:
    """Daily bars stamped at UTC midnight (19:00/20:00 ET the evening before) or at the 09:30 ET
    open must both be labelled with their session date."""
    df = pd.read_csv(shared_data_root() / "daily" / "lean_us_equities_daily_raw.csv")
    df = df[df["symbol"] == "SPY"].reset_index(drop=True)
    dates = pd.to_datetime(df["date"])
    if stamp == "utc-midnight":
        idx = pd.DatetimeIndex(dates).tz_localize("UTC")
    else:
        idx = pd.DatetimeIndex(dates + pd.Timedelta(hours=9, minutes=30)).tz_localize("America/New_York")
    chart.set_bars(Bars.from_pandas(df.set_index(idx)[["open", "high", "low", "close", "volume"]]), D1)
    i = int(np.flatnonzero((df["date"] == "2008-10-10").to_numpy())[0])
    j = int(np.flatnonzero(df["date"].str.startswith("2009-01")).min())  # first session of 2009
    assert chart.time_axis.tickStrings([i, i + 1], 1.0, 1.0) == ["Oct 10", "Oct 13"]
    assert chart.time_axis.tickStrings([j - 1, j], 1.0, 1.0) == ["Dec 31", "2009"]
    assert chart.format_readout(i).startswith("2008-10-10  O ")


def test_line_breaks_keep_values_aligned_with_bars(chart: ChartWidget, spy5) -> None:  # type: ignore[no-untyped-def]
    """A session-reset line (VWAP) is cut at each break, and autoscale still reads bar i's value."""
    bars = spy5[0][:400]
    w = chart
    w.set_bars(bars, M5)
    w.price_plot.getViewBox().setXRange(0, 400, padding=0)
    values = bars.close.copy()
    values[-1] = bars.high.max() * 1.05          # an outlier on the very last bar
    w.set_line("VWAP", values, "#ff7043", breaks=np.array([78, 156, 234, 312]))
    x, y = w.line_item("VWAP").getData()
    assert len(x) == len(values) + 4 and np.isnan(y).sum() == 4
    assert set(x[np.isnan(y)]) == {77.5, 155.5, 233.5, 311.5}
    w.flush()
    _, y1 = w.price_plot.getViewBox().viewRange()[1]
    assert y1 >= values[-1]                        # autoscale saw the last bar's value, not a shifted one


# -- issue 17: symbol switches, last-price tag, stale readout, zoom limits ---------------------------
