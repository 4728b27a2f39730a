"""GUI-thread responsiveness while the replay streams.

Runs the real main window (offscreen, 1920×1200, every dock side by side so every panel paints) on
the replay feed and measures how late a 5 ms heartbeat on the GUI thread fires. The reference in the
same run is the same heartbeat with the window idle (replay paused). Then: a replayed session at
100× with live rescans of the watchlist and every panel open (issue 12's case, nothing else); the
replay at 1000× with a symbol/interval switch every second (history reload + indicator lines).
A fourth phase loads the kernel (on its own loop thread, as in the app) with 8 threads making mixed
service calls — bars, context, scans, option ranking, notes, predictions — the way the GPT's API
requests will, and reports the GUI thread's longest stall next to the first two.

    .venv/bin/python bench/bench_gui_latency.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import statistics
import sys
import tempfile
import textwrap
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("TRADECOACH_DATA_DIR", tempfile.mkdtemp(prefix="tc-bench-"))
os.environ.setdefault("TRADECOACH_CONFIG_DIR", tempfile.mkdtemp(prefix="tc-bench-cfg-"))

import qasync
from PySide6.QtWidgets import QApplication

TICK_S = 0.005


async def heartbeat(seconds: float) -> list[float]:
    late: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        await asyncio.sleep(TICK_S)
        late.append((time.perf_counter() - t0 - TICK_S) * 1000.0)
    return late


async def switcher(window, seconds: float) -> int:  # type: ignore[no-untyped-def]
    combos = [("SPY", "1m"), ("AAPL", "5m"), ("SPY", "15m"), ("IBM", "1m"), ("SPY", "1D"), ("BAC", "1m")]
    n = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        sym, iv = combos[n % len(combos)]
        await window.controller.show(sym, iv)
        n += 1
        await asyncio.sleep(1.0)
    return n


def kernel_load(kernel, seconds: float, threads: int = 8) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """8 threads calling kernel services for `seconds`; returns (calls answered, errors)."""
    import threading

    from core.services.predictor import PredictRequest

    image = (Path(__file__).resolve().parents[1] / "docs" / "images" / "main-window.png").read_bytes()
    end = time.perf_counter() + seconds
    only = os.environ.get("BENCH_ONLY_SLOT")  # measure one kind of call alone
    counts = {"ok": 0, "err": 0}
    lock = threading.Lock()

    def one(i: int):  # type: ignore[no-untyped-def]
        sym = ("SPY", "AAPL", "IBM", "GOOG")[i % 4]
        slot = int(only) if only else i % 10
        if slot < 4:
            return kernel.market.bars(sym, ("1m", "5m", "15m", "1h")[i % 4], limit=500)
        if slot < 6:
            return kernel.context.context(sym, "5m", lookback=100)
        if slot == 6:
            return kernel.plans.scan([sym], "1m")
        if slot == 7:
            return kernel.options.rank(sym, "long", "swing")
        if slot == 8:
            return kernel.predictor.predict(PredictRequest(image, sym, store=False))
        return kernel.notes.create(f"bench note {i}", symbol=sym)

    def worker(t: int) -> None:
        i = t
        while time.perf_counter() < end:
            try:
                kernel.runtime.call(one(i), timeout=60)
                key = "ok"
            except Exception:
                logging.getLogger("bench").exception("service call %d failed", i)
                key = "err"
            with lock:
                counts[key] += 1
            i += threads

    pool = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    return counts["ok"], counts["err"]


def stats(ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=100)
    return f"n={len(ms):5d}  p50={q[49]:6.2f} ms  p99={q[98]:6.2f} ms  max={max(ms):6.2f} ms"


def show_every_panel(window) -> int:  # type: ignore[no-untyped-def]
    """Every dock side by side (none hidden behind a tab), so every panel paints while measured."""
    from PySide6.QtCore import Qt

    window.resize(1920, 1200)
    docks = [window.predictor_dock, *window.panels.docks.values()]
    right = [d for d in docks if d.objectName() in ("predictor_dock", "plan_dock", "contracts_dock",
                                                  "context_dock")]
    bottom = [d for d in docks if d not in right and d.objectName() != "watchlist_dock"]
    for area, group in ((Qt.DockWidgetArea.RightDockWidgetArea, right),
                        (Qt.DockWidgetArea.BottomDockWidgetArea, bottom)):
        for d in group:
            window.addDockWidget(area, d)   # re-adding a tabified dock takes it out of its tab group
            d.show()
    return sum(1 for d in window.findChildren(type(window.chart_dock))
               if d.isVisible() and not d.visibleRegion().isEmpty())


def print_stalls(title: str, stalls: list) -> None:  # type: ignore[type-arg]
    """The worst stalls of a phase with where the GUI thread was sampled during each."""
    from app.stall_watchdog import StallReport

    if stalls:
        print(f"  worst GUI-thread stalls {title} ('… x' is our code that called in):")
        for st in StallReport(stalls).worst(3):
            print(textwrap.indent(st.describe(), "    "))


async def main(seconds: float, freeze: bool = True) -> None:
    from app.main_window import MainWindow
    from app.stall_watchdog import GcPauses, StallWatchdog
    from core.config import load_settings
    from core.workstation import Workstation

    dog = StallWatchdog(threshold_ms=50.0, log_stalls=False)
    dog.start()
    gcp = GcPauses()
    gcp.start()
    gc_by_phase: dict[str, str] = {}
    kernel = Workstation(load_settings(replay_speed=100), today=date(2026, 11, 22))
    kernel.runtime.start()  # the kernel's own loop thread, as in the app
    await kernel.runtime.wrap(kernel.start())
    window = MainWindow(kernel)
    window.show()
    await window.open_initial("SPY", "1m")
    visible = show_every_panel(window)
    # The panels open (watchlist, then live rescans of it) in a task of their own: wait for it.
    for _ in range(600):
        if kernel.plans.live_report is not None and window.panels.scanner_ctl.refreshes:
            break
        await asyncio.sleep(0.05)
    for _ in range(600):   # the window freezes its heap once the panels are open (the best plan drawn)
        if gc.get_freeze_count() and (window.panels.plan_ctl.plan is not None
                                      or not window.panels.scanner_ctl.candidates):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)   # what the opening left queued
    if not freeze:
        gc.unfreeze()   # measure without the window's gc.freeze() (app/main_window.freeze_heap)
    print(f"objects frozen out of the collector's sight: {gc.get_freeze_count()}")
    startup_stalls = list(dog.report.stalls)   # kernel start-up runs before the window is shown
    dog.report.stalls.clear()
    gcp.pauses.clear()

    async def phase(name: str = "") -> list:  # type: ignore[type-arg]
        out = list(dog.report.stalls)
        dog.report.stalls.clear()
        if name:
            gc_by_phase[name] = gcp.summary()
        gcp.pauses.clear()
        return out

    await kernel.runtime.wrap(kernel.market.replay_pause())
    idle = await heartbeat(seconds / 2)
    idle_stalls = await phase("idle")

    # Issue 12's case: a replayed session at 100× with live rescans of the watchlist and every panel
    # open, no symbol switching and no synthetic load.
    scans0, refresh0 = kernel.plans.live_report, window.panels.scanner_ctl.refreshes
    live0 = window.controller.live_updates
    await kernel.runtime.wrap(kernel.market.replay_resume())
    session = await heartbeat(seconds)
    session_stalls = await phase("session 100x")
    report1 = kernel.plans.live_report
    rescans = window.panels.scanner_ctl.refreshes - refresh0
    session_live = window.controller.live_updates - live0

    await kernel.runtime.wrap(kernel.market.replay_set_speed(1000.0))
    busy, switches = await asyncio.gather(heartbeat(seconds), switcher(window, seconds))
    busy_stalls = await phase("streaming 1000x")
    loop = asyncio.get_running_loop()
    loaded, (calls_ok, calls_err) = await asyncio.gather(
        heartbeat(seconds), loop.run_in_executor(None, kernel_load, kernel, seconds))
    loaded_stalls = await phase("kernel load")
    n_syms = len(report1.symbols) if report1 is not None else 0
    print(f"GUI heartbeat lateness, {TICK_S * 1000:.0f} ms timer; {visible} docks visible side by side; "
          f"switch interval {sys.getswitchinterval() * 1000:.1f} ms")
    print(f"  idle (reference, replay paused):      {stats(idle)}")
    print(f"  session 100x, live scan, all panels:  {stats(session)}")
    print(f"      ({session_live} live bar updates on the chart, {rescans} scanner refreshes of "
          f"{n_syms} watched symbols, report as of "
          f"{scans0.as_of if scans0 else None} -> {report1.as_of if report1 else None})")
    print(f"  streaming 1000x + {switches} switches:    {stats(busy)}")
    print(f"  1000x + kernel load ({calls_ok} calls from 8 threads, {calls_err} errors):")
    print(f"                                        {stats(loaded)}")
    p99_busy, p99_idle = statistics.quantiles(busy, n=100)[98], statistics.quantiles(idle, n=100)[98]
    print(f"  ratio p99 streaming/idle: {p99_busy / max(p99_idle, 1e-3):.2f}")
    for name, beats in (("session 100x", session), ("streaming 1000x", busy), ("kernel load", loaded)):
        print(f"  heartbeats later than 50 ms, {name}: {sum(1 for x in beats if x > 50)} of {len(beats)}")
    print(f"  longest GUI stall: idle {max(idle):.1f} ms · session 100x {max(session):.1f} ms "
          f"(issue 12 goal <= 50 ms) · streaming+switching 1000x {max(busy):.1f} ms · "
          f"kernel under load {max(loaded):.1f} ms")
    print(f"  live updates applied to the chart: {window.controller.live_updates}")
    dog.stop()
    print(f"  GUI-thread stalls > 50 ms seen by the watchdog: idle {len(idle_stalls)}, session 100x "
          f"{len(session_stalls)}, streaming {len(busy_stalls)}, kernel load {len(loaded_stalls)}, "
          f"start-up {len(startup_stalls)} (max {max((x.duration_ms for x in startup_stalls), default=0):.0f} ms)")
    gcp.stop()
    print("  garbage collections (all threads; a full one holds the GIL): "
          + " | ".join(f"{k}: {v}" for k, v in gc_by_phase.items()))
    for title, st in (("idle", idle_stalls), ("session 100x", session_stalls), ("streaming 1000x", busy_stalls),
                      ("kernel load", loaded_stalls)):
        print_stalls(title, st)
    window.close()
    await kernel.runtime.wrap(kernel.stop())
    kernel.runtime.stop()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--switch-interval-ms", type=float, default=1.0,
                   help="the GIL switch interval; the app sets 1 ms (app/gui.py), Python's default is 5")
    p.add_argument("--no-gc-freeze", action="store_true", help="undo the window's gc.freeze() after start-up")
    args = p.parse_args()
    sys.setswitchinterval(args.switch_interval_ms / 1000)
    app = QApplication.instance() or QApplication(sys.argv)
    app.setQuitOnLastWindowClosed(False)
    qasync.run(main(args.seconds, not args.no_gc_freeze))
