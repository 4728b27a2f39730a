"""Chart benchmark (offscreen): ChartWidget vs a naive pyqtgraph candle item, same run, same data.

Run:  QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_chart.py
Data: ES continuous 1-min (TradingView, 105,825 real bars, no volume column so the volume pane is
empty) from the shared data folder; the 1M case tiles that file ten times (timestamps shifted,
values unchanged).

(a) set_bars + first paint at 100k and 1M bars
(b) 1,000 update_bar calls on the last bar with the event loop running (throttled paints), and the
    cost of one live-update paint (update + flush + synchronous repaint)
(c) a full-view repaint (all bars in view) with LOD on and off
(d) pan/zoom frame time (x-range step + y-fit + synchronous repaint) at 100k and 1M bars, against
    finplot (PyPI, the `bench` extra) on the same data in the same run
The reference for (a)-(c) is `NaiveCandleItem`: it draws every bar on every paint, no cache, no culling.

`--panzoom-only` runs (d) alone (a few seconds instead of ~90 s).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.market.bars import Bar, Bars
from core.market.intervals import M1
from widgets.chart import ChartWidget
from widgets.theme import DARK

W, H = 1200, 700
VISIBLE = 150


def shared_data() -> Path:
    env = os.environ.get("TRADECOACH_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def load_es1m() -> Bars:
    df = pd.read_parquet(shared_data() / "intraday" /
                         "ES_continuous_1min_2025-07_to_2025-12_tradingview.parquet")
    df.index = df.index.tz_localize("UTC")
    return Bars.from_pandas(df)


def tile(bars: Bars, times: int) -> Bars:
    span = int(bars.ts[-1] - bars.ts[0]) + M1.ns
    parts = [bars.shifted(k * span) for k in range(times)]
    out = parts[0]
    for p in parts[1:]:
        out = out.concat(p)
    return out


class NaiveCandleItem(pg.GraphicsObject):
    """The textbook item: one drawLine + drawRect per bar on every paint, for every bar."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[tuple[float, float, float, float]] = []
        self._rect = QtCore.QRectF()
        self.paint_count = 0
        self._pens = (pg.mkPen(DARK.up), pg.mkPen(DARK.down))
        self._brushes = (pg.mkBrush(DARK.up), pg.mkBrush(DARK.down))

    def set_data(self, o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray) -> None:
        self.prepareGeometryChange()
        self._rows = list(zip(o.tolist(), h.tolist(), lo.tolist(), c.tolist(), strict=True))
        self._rect = QtCore.QRectF(-0.5, float(lo.min()), len(o), float(h.max() - lo.min()))
        self.update()

    def set_last(self, o: float, h: float, lo: float, c: float) -> None:
        self._rows[-1] = (o, h, lo, c)
        self.update()

    def boundingRect(self) -> QtCore.QRectF:
        return QtCore.QRectF(self._rect)

    def paint(self, p: QtGui.QPainter, *args: object) -> None:
        self.paint_count += 1
        for i, (o, h, lo, c) in enumerate(self._rows):
            k = 0 if c >= o else 1
            p.setPen(self._pens[k])
            p.drawLine(QtCore.QPointF(i, lo), QtCore.QPointF(i, h))
            p.setBrush(self._brushes[k])
            p.drawRect(QtCore.QRectF(i - 0.35, o, 0.7, c - o))


class NaiveChart:
    def __init__(self) -> None:
        self.widget = pg.PlotWidget(background=DARK.background)
        self.widget.resize(W, H)
        self.item = NaiveCandleItem()
        self.widget.addItem(self.item)
        self.widget.getViewBox().disableAutoRange()
        self.widget.show()
        QtWidgets.QApplication.processEvents()

    def set_bars(self, bars: Bars) -> None:
        self.item.set_data(bars.open, bars.high, bars.low, bars.close)
        self.show_range(len(bars) - VISIBLE, len(bars), bars)

    def show_range(self, i0: int, i1: int, bars: Bars) -> None:
        vb = self.widget.getViewBox()
        vb.setXRange(i0, i1, padding=0)
        vb.setYRange(float(bars.low[i0:i1].min()), float(bars.high[i0:i1].max()), padding=0.05)

    def repaint(self) -> None:
        self.widget.viewport().repaint()


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of fn in milliseconds."""
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000.0)
    return statistics.median(out)


def make_chart() -> ChartWidget:
    w = ChartWidget(theme=DARK)
    w.resize(W, H)
    w.show()
    QtWidgets.QApplication.processEvents()
    return w


def repaint(w: ChartWidget) -> None:
    w.graphics.viewport().repaint()


def bench_set_bars(app: QtWidgets.QApplication, bars: Bars, label: str, naive_repeat: int) -> None:
    def ours() -> None:
        w = make_chart()
        t = time.perf_counter()
        w.set_bars(bars, M1)
        repaint(w)
        times.append((time.perf_counter() - t) * 1000.0)
        w.close()
        w.deleteLater()

    def naive() -> None:
        nc = NaiveChart()
        QtWidgets.QApplication.processEvents()
        t = time.perf_counter()
        nc.set_bars(bars)
        nc.repaint()
        ntimes.append((time.perf_counter() - t) * 1000.0)
        nc.widget.close()
        nc.widget.deleteLater()

    times: list[float] = []
    ntimes: list[float] = []
    for _ in range(3):
        ours()
    for _ in range(naive_repeat):
        naive()
    a, b = statistics.median(times), statistics.median(ntimes)
    print(f"(a) set_bars + first paint, {label:>4}: chart {a:8.1f} ms   naive {b:9.1f} ms   "
          f"naive/chart {b / a:6.1f}x")


def live_bar(base: Bar, k: int) -> Bar:
    """The in-progress bar after tick k: a real bar's range walked by small steps."""
    step = (base.high - base.low) / 50.0 or 0.25
    close = base.open + step * ((k % 41) - 20)
    return Bar(base.ts, base.open, max(base.high, close), min(base.low, close), close, base.volume + k)


def bench_live(app: QtWidgets.QApplication, bars: Bars) -> None:
    n = len(bars)
    w = make_chart()
    w.set_bars(bars, M1)
    repaint(w)
    base = bars.bar(n - 1)

    # 1,000 ticks with the event loop turning between them, as with a live feed.
    paints0, flush0 = w.candles.paint_count, w.flush_count
    t = time.perf_counter()
    for k in range(1000):
        w.update_bar(live_bar(base, k))
        app.processEvents()
        time.sleep(0.0005)  # ~2,000 ticks/s feed pacing
    w.flush()
    repaint(w)
    total = (time.perf_counter() - t) * 1000.0
    paints = w.candles.paint_count - paints0
    print(f"(b) 1,000 update_bar (100k bars), event loop running: {total:7.1f} ms total, "
          f"{w.flush_count - flush0} throttled flushes, {paints} candle paints")

    # One live tick as the app sees it: update + throttled flush + the paint Qt schedules
    # (only the dirty strip of the last bar and the moved last-price line), and the same tick
    # followed by a forced repaint of the whole chart.
    k = [0]

    def tick() -> None:
        k[0] += 1
        w.update_bar(live_bar(base, k[0]))
        w.flush()

    def natural() -> None:
        tick()
        app.processEvents()
        app.processEvents()

    def full() -> None:
        tick()
        repaint(w)

    p0 = w.candles.paint_count
    per_tick = timed(natural, 200)
    assert w.candles.paint_count - p0 >= 200, "the natural tick must really paint"
    per_full = timed(full, 100)
    burst = timed(lambda: [w.update_bar(live_bar(base, j)) for j in range(1000)], 5)

    nc = NaiveChart()
    nc.set_bars(bars)
    nc.repaint()

    def naive_tick() -> None:
        k[0] += 1
        b = live_bar(base, k[0])
        nc.item.set_last(b.open, b.high, b.low, b.close)

    def naive_natural() -> None:
        naive_tick()
        app.processEvents()
        app.processEvents()

    def naive_full() -> None:
        naive_tick()
        nc.repaint()

    p0 = nc.item.paint_count
    naive_nat = timed(naive_natural, 5)
    assert nc.item.paint_count - p0 >= 5
    naive_rep = timed(naive_full, 5)
    print(f"    1,000 update_bar calls alone (no paint): {burst:6.2f} ms ({burst:.2f} us per call)")
    print(f"    live tick + scheduled paint (100k): chart {per_tick:6.2f} ms   naive {naive_nat:8.1f} ms   "
          f"naive/chart {naive_nat / per_tick:6.1f}x   (goal: chart << 16 ms)")
    print(f"    live tick + full repaint    (100k): chart {per_full:6.2f} ms   naive {naive_rep:8.1f} ms   "
          f"naive/chart {naive_rep / per_full:6.1f}x")
    print(f"    1,000 unthrottled naive paints would take ~{naive_nat:.1f} s; "
          f"the chart painted {paints} times for the same 1,000 ticks")
    w.close()
    nc.widget.close()


def bench_full_view(app: QtWidgets.QApplication, bars: Bars, label: str, naive_repeat: int) -> None:
    n = len(bars)
    w = make_chart()
    w.set_bars(bars, M1)
    w.price_plot.getViewBox().setXRange(0, n - 1, padding=0)
    repaint(w)
    w.candles.lod_enabled = w.volume_bars.lod_enabled = True
    lod_on = timed(lambda: repaint(w), 10)
    assert w.candles.lod_active
    w.candles.lod_enabled = w.volume_bars.lod_enabled = False
    repaint(w)  # builds every chunk once; the timed paints then reuse the cache
    lod_off = timed(lambda: repaint(w), 3)
    nc = NaiveChart()
    nc.set_bars(bars)
    nc.show_range(0, n, bars)
    nc.repaint()
    naive = timed(nc.repaint, naive_repeat)
    print(f"(c) full-view repaint, {label:>4}: LOD on {lod_on:7.1f} ms   LOD off (cached chunks) "
          f"{lod_off:8.1f} ms   naive {naive:9.1f} ms   off/on {lod_off / lod_on:5.1f}x   "
          f"naive/on {naive / lod_on:6.1f}x")
    w.close()
    nc.widget.close()


PAN_STEPS = 60


def pan_zoom_frames(app: QtWidgets.QApplication, vbs: list[pg.ViewBox], n: int) -> list[tuple[float, float]]:
    """Median ms of one pan frame and one zoom frame per view box: set the x-range as a drag or
    wheel step does, then turn the event loop once, which runs the chart's reactions (y-fit) and the
    paint Qt scheduled (offscreen, that paint happens inside processEvents). The charts take turns
    step by step, so a load spike on this shared machine hits both alike."""
    right = n - 1 + 3.0
    pans: list[list[float]] = [[] for _ in vbs]
    zooms: list[list[float]] = [[] for _ in vbs]
    for k in range(PAN_STEPS):
        shift = 40.0 * (k % 10)                    # back and forth across 400 bars of history
        width = VISIBLE * (1.0 + 0.1 * (k % 8))    # wheel steps out and back in
        for j, vb in enumerate(vbs):
            t = time.perf_counter()
            vb.setXRange(right - VISIBLE - shift, right - shift, padding=0)
            app.processEvents()
            pans[j].append((time.perf_counter() - t) * 1000.0)
            t = time.perf_counter()
            vb.setXRange(right - width, right, padding=0)
            app.processEvents()
            zooms[j].append((time.perf_counter() - t) * 1000.0)
    return [(statistics.median(p), statistics.median(z)) for p, z in zip(pans, zooms, strict=True)]


def bench_pan_zoom(app: QtWidgets.QApplication, bars: Bars, label: str) -> None:
    w = make_chart()
    w.set_bars(bars, M1)
    repaint(w)
    try:
        import finplot as fp
    except ImportError:
        p0 = w.candles.paint_count
        (ours,) = pan_zoom_frames(app, [w.price_plot.getViewBox()], len(bars))
        assert w.candles.paint_count - p0 >= 2 * PAN_STEPS, "every frame must really paint"
        print(f"(d) pan/zoom frame, {label:>4}: chart pan {ours[0]:6.2f} ms  zoom {ours[1]:6.2f} ms   "
              "(finplot not installed: pip install --no-deps finplot==1.9.7)")
        return
    df = pd.DataFrame({"time": pd.to_datetime(bars.ts, utc=True), "open": bars.open, "close": bars.close,
                       "high": bars.high, "low": bars.low})
    ax = fp.create_plot(f"finplot {label}", init_zoom_periods=VISIBLE)
    fp.candlestick_ochl(df, ax=ax)
    fp.show(qt_exec=False)
    win = ax.vb.win
    win.resize(W, H)
    app.processEvents()
    win.repaint()
    p0 = w.candles.paint_count
    ours, theirs = pan_zoom_frames(app, [w.price_plot.getViewBox(), ax.vb], len(bars))
    assert w.candles.paint_count - p0 >= 2 * PAN_STEPS, "every frame must really paint"
    win.close()
    fp.windows.clear()
    w.close()
    w.deleteLater()
    print(f"(d) pan/zoom frame, {label:>4}: chart pan {ours[0]:6.2f} ms  zoom {ours[1]:6.2f} ms   "
          f"finplot pan {theirs[0]:6.2f} ms  zoom {theirs[1]:6.2f} ms   frame-rate ratio chart/finplot "
          f"pan {theirs[0] / ours[0]:4.1f}x  zoom {theirs[1] / ours[1]:4.1f}x   (goals: <= 16 ms; >= 2x at 1M)")


def main() -> None:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv)
    assert isinstance(app, QtWidgets.QApplication)
    es = load_es1m()
    b100k = es[:100_000]
    b1m = tile(es, 10)[:1_000_000]
    print(f"ChartWidget benchmark, {W}x{H} offscreen, {VISIBLE} bars in view unless stated; "
          f"data: ES 1-min ({len(es):,} real bars; 1M = 10 tiles)")
    bench_pan_zoom(app, b100k, "100k")
    bench_pan_zoom(app, b1m, "1M")
    if "--panzoom-only" in sys.argv:
        return
    bench_set_bars(app, b100k, "100k", naive_repeat=3)
    bench_set_bars(app, b1m, "1M", naive_repeat=1)
    bench_live(app, b100k)
    bench_full_view(app, b100k, "100k", naive_repeat=2)
    bench_full_view(app, b1m, "1M", naive_repeat=1)


if __name__ == "__main__":
    main()
