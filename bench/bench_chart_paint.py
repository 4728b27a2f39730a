"""Chart painting with the real overlays (offscreen): what the GUI thread pays per frame.

The chart is loaded the way the smoke run shows SPY on the replay: the bundled SPY 1-min bars
served by the replay feed 3 h into its session (with the previous days), the indicator lines and
overlays the controller computes for them
(`app.chart_controller._lines_and_overlays`: VWAP/EMAs, anchored VWAPs, supply/demand zones,
FVGs, liquidity pools, volume profile with POC/VAH/VAL, key levels) and a stored plan (draggable
entry/stop/targets). The reference, measured in the same run, is the same chart with the same
bars and nothing drawn over the candles, so each ratio is what the overlays add.

Timed, each as the median of many repetitions:
  repaint   a full synchronous repaint of the chart's viewport
  pan       an x-range step of 5 bars + y-fit + repaint
  zoom      an x-range widen/narrow by 10 % + y-fit + repaint
  tick      update of the last bar + flush + repaint (a full repaint of the chart)
  tick-qt   update of the last bar + flush + the paint Qt schedules for it (the changed strips:
            the live candle and volume bar, the last-price line, the price axis), as in the app
  refresh   set_lines + every overlay setter with the same data again (the controller's refresh
            after each closed bar), + repaint

Printed per step: the median wall time of the bare chart and of the dressed one, the dressed one's
worst repetition, their ratio, and the median CPU time of the GUI thread for both (steadier than
wall time when other processes share the cores).

    .venv/bin/python bench/bench_chart_paint.py [--repeat 60]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6 import QtWidgets

from app.chart_controller import LINE_STYLE, _lines_and_overlays
from core.clock import ReplayClock
from core.feeds.replay import ReplayFeed
from core.market.bars import Bar, Bars
from core.market.bundle import BarLibrary
from core.market.intervals import M1
from core.paths import bundled_data_dir
from widgets.chart import ChartWidget, LineSpec
from widgets.chart.plan_lines import PlanView

W, H = 1400, 800


def load_spy() -> Bars:
    """SPY 1-min history as the replay feed serves it 3 h into its session (with the previous days)."""
    clock = ReplayClock(0, paused=True)
    feed = ReplayFeed(BarLibrary(bundled_data_dir()), clock, today=date(2026, 11, 20))
    feed.prepare()
    clock.jump(feed.start_time_ns("SPY") + 3 * 3600 * 10**9)
    return asyncio.run(feed.history("SPY", M1))


def make_chart(bars: Bars) -> ChartWidget:
    w = ChartWidget(throttle_ms=0)
    w.resize(W, H)
    w.show()
    w.set_bars(bars, M1, "SPY")
    QtWidgets.QApplication.processEvents()
    return w


def dress(w: ChartWidget, bars: Bars) -> dict[str, int]:
    """Everything the controller puts over the candles; returns the counts drawn."""
    lines, starts, o = _lines_and_overlays(bars, "SPY", M1)
    lines = {**lines, **o.avwaps}
    w.set_lines({n: LineSpec(v, *LINE_STYLE.get(n, ("#cccccc", 1.0, "solid")),
                             breaks=starts if n.startswith("VWAP") else None) for n, v in lines.items()})
    w.set_sd_zones(o.zones)
    w.set_fvgs(o.fvgs)
    w.set_liquidity(o.liquidity)
    w.set_volume_profile(o.profile)
    w.set_levels(o.levels)
    last = float(bars.close[-1])
    w.set_plan(PlanView("SPY-bench-1", 1, "long", last, last - 0.8, (last + 0.8, last + 1.6, last + 2.4)))
    QtWidgets.QApplication.processEvents()
    w._bench_overlays = o  # type: ignore[attr-defined]  # the refresh step replays the same data
    w._bench_lines = lines  # type: ignore[attr-defined]
    w._bench_starts = starts  # type: ignore[attr-defined]
    return {"lines": len(lines), "zones": len(o.zones), "fvgs": len(o.fvgs), "pools": len(o.liquidity),
            "levels": len(o.levels), "profile": int(o.profile is not None)}


def repaint(w: ChartWidget) -> None:
    w.graphics.viewport().repaint()


def median_ms(fn: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """(median wall ms, max wall ms, median CPU ms of this thread): on a loaded machine the CPU
    time, which waiting for a core does not count, is the steadier figure for comparisons."""
    fn()
    ts, cpu = [], []
    for _ in range(repeat):
        c0, t0 = time.thread_time(), time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1000.0)
        cpu.append((time.thread_time() - c0) * 1000.0)
    return statistics.median(ts), max(ts), statistics.median(cpu)


def steps(w: ChartWidget, bars: Bars) -> dict[str, Callable[[], None]]:
    vb = w.price_plot.getViewBox()
    state = {"dir": 1, "k": 0}

    def pan() -> None:
        (x0, x1), _ = vb.viewRange()
        d = 5 * state["dir"]
        state["dir"] = -state["dir"]
        vb.setXRange(x0 - d, x1 - d, padding=0)
        repaint(w)

    def zoom() -> None:
        (x0, x1), _ = vb.viewRange()
        f = 0.1 * (x1 - x0) * state["dir"]
        state["dir"] = -state["dir"]
        vb.setXRange(x0 - f, x1, padding=0)
        repaint(w)

    last = w.bar(len(bars) - 1)

    def tick() -> None:
        state["k"] += 1
        c = last.close + (0.01 if state["k"] % 2 else -0.01)
        w.update_bar(Bar(last.ts, last.open, max(last.high, c), min(last.low, c), c, last.volume + state["k"]))
        w.flush()
        repaint(w)

    def tick_qt() -> None:
        state["k"] += 1
        c = last.close + (0.01 if state["k"] % 2 else -0.01)
        w.update_bar(Bar(last.ts, last.open, max(last.high, c), min(last.low, c), c, last.volume + state["k"]))
        w.flush()
        QtWidgets.QApplication.processEvents()   # offscreen, the scheduled paint happens in here
        QtWidgets.QApplication.processEvents()

    def refresh() -> None:
        o = getattr(w, "_bench_overlays", None)
        if o is not None:
            lines, starts = w._bench_lines, w._bench_starts  # type: ignore[attr-defined]
            w.set_lines({n: LineSpec(v, *LINE_STYLE.get(n, ("#cccccc", 1.0, "solid")),
                                     breaks=starts if n.startswith("VWAP") else None) for n, v in lines.items()})
            w.set_sd_zones(o.zones)
            w.set_fvgs(o.fvgs)
            w.set_liquidity(o.liquidity)
            w.set_volume_profile(o.profile)
            w.set_levels(o.levels)
        repaint(w)

    return {"repaint": lambda: repaint(w), "pan": pan, "zoom": zoom, "tick": tick, "tick-qt": tick_qt,
            "refresh": refresh}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=60)
    args = ap.parse_args()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    bars = load_spy()
    ref = make_chart(bars)
    dressed = make_chart(bars)
    counts = dress(dressed, bars)
    # As the app does after start-up (app/gui.py): what was built stays out of full collections,
    # which would otherwise land a ~200 ms pause in whichever step happens to allocate then.
    gc.collect()
    gc.freeze()
    print(f"SPY 1m, {len(bars)} bars, {W}x{H}; overlays: {counts}")
    ref_steps, our_steps = steps(ref, bars), steps(dressed, bars)
    print(f"{'step':8} {'bare ms':>9} {'overlays ms':>12} {'max ms':>8} {'ratio':>6} {'bare cpu':>9}"
          f" {'overlays cpu':>13}")
    for name in ("repaint", "pan", "zoom", "tick", "tick-qt", "refresh"):
        r, _, rc = median_ms(ref_steps[name], args.repeat)
        o, mx, oc = median_ms(our_steps[name], args.repeat)
        print(f"{name:8} {r:9.2f} {o:12.2f} {mx:8.2f} {o / r:6.2f} {rc:9.2f} {oc:13.2f}")
    print(f"load average {os.getloadavg()[0]:.2f} after the run")
    app.processEvents()


if __name__ == "__main__":
    main()
