"""GUI-thread responsiveness while the replay streams at high speed.

Runs the real main window (offscreen) on the replay feed at 1000×, switches symbol and interval
every second (history reload + indicator lines), and measures how late a 5 ms heartbeat on the
GUI thread fires. The reference in the same run is the same heartbeat with the window idle
(replay paused), so the ratio isolates what live streaming and switching cost the GUI thread.
A third phase loads the kernel (on its own loop thread, as in the app) with 8 threads making mixed
service calls — bars, context, scans, option ranking, notes, predictions — the way the GPT's API
requests will, and reports the GUI thread's longest stall next to the first two.

    .venv/bin/python bench/bench_gui_latency.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
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


async def main(seconds: float) -> None:
    from app.main_window import MainWindow
    from app.stall_watchdog import StallWatchdog
    from core.config import load_settings
    from core.workstation import Workstation

    dog = StallWatchdog(threshold_ms=50.0, log_stalls=False)
    dog.start()
    kernel = Workstation(load_settings(replay_speed=1000), today=date(2026, 11, 22))
    kernel.runtime.start()  # the kernel's own loop thread, as in the app
    await kernel.runtime.wrap(kernel.start())
    window = MainWindow(kernel)
    window.show()
    await window.open_initial("SPY", "1m")
    startup_stalls = list(dog.report.stalls)   # kernel start-up runs before the window is shown
    dog.report.stalls.clear()
    await kernel.runtime.wrap(kernel.market.replay_pause())
    idle = await heartbeat(seconds / 2)
    await kernel.runtime.wrap(kernel.market.replay_resume())
    busy, switches = await asyncio.gather(heartbeat(seconds), switcher(window, seconds))
    stalls_streaming = len(dog.report.stalls)
    loop = asyncio.get_running_loop()
    loaded, (calls_ok, calls_err) = await asyncio.gather(
        heartbeat(seconds), loop.run_in_executor(None, kernel_load, kernel, seconds))
    print(f"GUI heartbeat lateness, {TICK_S * 1000:.0f} ms timer, replay at 1000x, "
          f"{switches} symbol/interval switches")
    print(f"  idle (reference): {stats(idle)}")
    print(f"  streaming:        {stats(busy)}")
    p99_busy, p99_idle = statistics.quantiles(busy, n=100)[98], statistics.quantiles(idle, n=100)[98]
    print(f"  ratio p99 streaming/idle: {p99_busy / max(p99_idle, 1e-3):.2f}")
    print(f"  heartbeats later than 50 ms: {sum(1 for x in busy if x > 50)} of {len(busy)}")
    print(f"  streaming + kernel under load ({calls_ok} service calls from 8 threads, {calls_err} errors):")
    print(f"                    {stats(loaded)}")
    print(f"  longest GUI stall: idle {max(idle):.1f} ms · streaming {max(busy):.1f} ms · "
          f"kernel under load {max(loaded):.1f} ms (goal <= 50 ms on a quiet machine)")
    print(f"  heartbeats later than 50 ms under load: {sum(1 for x in loaded if x > 50)} of {len(loaded)}")
    print(f"  live updates applied to the chart: {window.controller.live_updates}")
    dog.stop()
    print(f"  GUI-thread stalls > 50 ms seen by the watchdog: {stalls_streaming} while streaming, "
          f"{len(dog.report.stalls) - stalls_streaming} under kernel load, "
          f"{len(startup_stalls)} during start-up before it is shown "
          f"(max {max((x.duration_ms for x in startup_stalls), default=0):.0f} ms)")
    for s in dog.report.worst(3):
        where = [ln for ln in s.stack.strip().splitlines() if "/work/" in ln or "site-packages" in ln
                 or ln.startswith("---")][-12:]
        print(f"    {s.duration_ms:6.0f} ms at:\n      " + "\n      ".join(where))
    window.close()
    await kernel.runtime.wrap(kernel.stop())
    kernel.runtime.stop()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--switch-interval-ms", type=float, default=None,
                   help="override the GIL switch interval (the app sets it in app.gui)")
    args = p.parse_args()
    if args.switch_interval_ms is not None:
        sys.setswitchinterval(args.switch_interval_ms / 1000)
    app = QApplication.instance() or QApplication(sys.argv)
    app.setQuitOnLastWindowClosed(False)
    qasync.run(main(args.seconds))
