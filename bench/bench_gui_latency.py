"""GUI-thread responsiveness while the replay streams at high speed.

Runs the real main window (offscreen) on the replay feed at 1000×, switches symbol and interval
every second (history reload + indicator lines), and measures how late a 5 ms heartbeat on the
GUI thread fires. The reference in the same run is the same heartbeat with the window idle
(replay paused), so the ratio isolates what live streaming and switching cost the GUI thread.

    .venv/bin/python bench/bench_gui_latency.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
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
    await kernel.start()
    window = MainWindow(kernel)
    window.show()
    await window.open_initial("SPY", "1m")
    startup_stalls = list(dog.report.stalls)   # kernel start-up runs before the window is shown
    dog.report.stalls.clear()
    kernel.replay_pause()
    idle = await heartbeat(seconds / 2)
    kernel.replay_resume()
    busy, switches = await asyncio.gather(heartbeat(seconds), switcher(window, seconds))
    print(f"GUI heartbeat lateness, {TICK_S * 1000:.0f} ms timer, replay at 1000x, "
          f"{switches} symbol/interval switches")
    print(f"  idle (reference): {stats(idle)}")
    print(f"  streaming:        {stats(busy)}")
    p99_busy, p99_idle = statistics.quantiles(busy, n=100)[98], statistics.quantiles(idle, n=100)[98]
    print(f"  ratio p99 streaming/idle: {p99_busy / max(p99_idle, 1e-3):.2f}")
    print(f"  heartbeats later than 50 ms: {sum(1 for x in busy if x > 50)} of {len(busy)}")
    print(f"  live updates applied to the chart: {window.controller.live_updates}")
    dog.stop()
    print(f"  GUI-thread stalls > 50 ms seen by the watchdog: {len(dog.report.stalls)} with the window up, "
          f"{len(startup_stalls)} during start-up before it is shown "
          f"(max {max((x.duration_ms for x in startup_stalls), default=0):.0f} ms)")
    for s in dog.report.worst(3):
        where = [ln for ln in s.stack.strip().splitlines() if "/work/" in ln or "site-packages" in ln
                 or ln.startswith("---")][-12:]
        print(f"    {s.duration_ms:6.0f} ms at:\n      " + "\n      ".join(where))
    window.close()
    await kernel.stop()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=10.0)
    args = p.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    app.setQuitOnLastWindowClosed(False)
    qasync.run(main(args.seconds))
