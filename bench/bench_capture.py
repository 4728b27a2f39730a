"""Capture latency, measured against the raw screen grab in the same run.

Run:  .venv/bin/python bench/bench_capture.py      (needs Xvfb, xsetroot, chromium, chromedriver)

Reference: one mss grab of a 1280x800 Xvfb screen (pixels only). Measured against it:
- screen capture end to end (grab + PNG encode + file + snapshots row, SQLite);
- the kernel chart capture (canonical render + PNG + file + row) — no display needed;
- a TradingView capture of the local imitation chart page in headless Chromium (browser start,
  page load, canvas wait, element screenshot), anonymous and signed in.
Also: the wall time of a replayed week through the scheduler (SPY, 15m + 1h candles).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from core.capture.chart import chart_png
from core.capture.screen import grab_png
from core.capture.service import CaptureService
from core.capture.tradingview import TradingViewConfig, capture_tradingview_png
from core.clock import ReplayClock
from core.collection.scheduler import CollectionConfig, Scheduler, chart_capture
from core.feeds.replay import ReplayFeed
from core.market.bundle import BarLibrary
from core.paths import bundled_data_dir
from core.store import SnapshotsRepo, open_store, sqlite_url
from tests.capture_pages import GOOD_PASSWORD, GOOD_USER, pages_server


def median_ms(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return statistics.median(out)


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-capture-"))
    display = ":177"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp", "-noreset"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not Path("/tmp/.X11-unix/X177").exists():
            time.sleep(0.05)
        os.environ["DISPLAY"] = display
        subprocess.run(["xsetroot", "-solid", "#336699"], check=True)
        store = open_store(sqlite_url(tmp / "tc.db"))
        store.migrate()
        svc = CaptureService(store, tmp / "data")
        import mss

        with mss.MSS() as sct:
            ref = median_ms(lambda: sct.grab(sct.monitors[0]), 30)
        grab_png()  # warm
        screen = median_ms(lambda: svc.screen("MNQ1!"), 20)
        bars = BarLibrary(bundled_data_dir()).minute("SPY").tail(300)
        chart_png(bars)
        chart = median_ms(lambda: svc.chart_from_bars("SPY", bars), 30)
        with pages_server() as site:
            anon = TradingViewConfig(base_url=site.base_url, settle_s=0.0)
            signed = TradingViewConfig(base_url=site.base_url, username=GOOD_USER, password=GOOD_PASSWORD, settle_s=0.0)
            capture_tradingview_png(anon, "MNQ1!", "15m")  # warm the disk cache
            tv = median_ms(lambda: capture_tradingview_png(anon, "MNQ1!", "15m"), 3)
            tv_login = median_ms(lambda: capture_tradingview_png(signed, "MNQ1!", "15m"), 3)
        print(f"reference: mss grab 1280x800            {ref:8.1f} ms")
        for name, ms in (("screen capture (grab+PNG+file+row)", screen), ("kernel chart capture", chart),
                         ("TradingView, anonymous (Chromium)", tv), ("TradingView, signed in (Chromium)", tv_login)):
            print(f"{name:38s} {ms:8.1f} ms   {ms / ref:7.1f}x the raw grab")

        # A replayed week through the scheduler (jumping the paused replay clock).
        async def week() -> tuple[float, int]:
            wstore = open_store(sqlite_url(tmp / "week.db"))
            wstore.migrate()
            start = int(pd.Timestamp("2026-11-13 09:00", tz="America/New_York").value)
            until = int(pd.Timestamp("2026-11-20 16:01", tz="America/New_York").value)
            clock = ReplayClock(start, paused=True)
            feed = ReplayFeed(BarLibrary(bundled_data_dir()), clock, today=date(2026, 11, 22))
            wsvc = CaptureService(wstore, tmp / "week", clock=clock, bars=feed)
            sched = Scheduler(clock=clock, bars=feed, store=wstore, data_dir=tmp / "week", capture=chart_capture(wsvc),
                              config=CollectionConfig(symbols=("SPY",), candle_intervals=(15, 60), catch_up_days=0))
            t0 = time.perf_counter()
            task = asyncio.create_task(sched.run(until_ns=until))
            while not task.done():
                await asyncio.sleep(0.001)
                if sched.waiting and sched.captures_in_flight == 0:
                    nxt = sched.next_run_ns()
                    target = until if nxt is None else min(nxt, until)
                    if target > clock.now_ns():
                        clock.jump(target)
            await task
            n = len(SnapshotsRepo(wstore).list_snapshots(limit=10_000))
            wstore.close()
            return time.perf_counter() - t0, n

        secs, n = asyncio.run(week())
        print(f"replayed week (6 SPY sessions, 15m+1h candles): {secs:.1f} s wall, {n} captures, "
              f"{secs / n * 1000:.0f} ms per capture incl. bars + outcomes")
        store.close()
    finally:
        xvfb.terminate()
        xvfb.wait(10)


if __name__ == "__main__":
    main()
