"""`/gpt/context` under load, against a bare FastAPI route measured in the same run, and the window's
GUI-thread stall while that load runs.

The app runs as in production: the real main window (offscreen) on the GUI thread, the kernel on its
own loop thread, the API server (uvicorn) on the kernel loop. A separate load process sends requests
open-loop at a fixed rate (default 200/s) over loopback and records each latency. The reference is a
bare FastAPI route (`{"ok": true}`) served by uvicorn in this process on its own thread, loaded the
same way just before. The GUI thread runs a 5 ms heartbeat throughout; its lateness is the stall.

    .venv/bin/python bench/bench_api.py [--rate 200] [--seconds 5] [--lookback 100]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("TRADECOACH_DATA_DIR", tempfile.mkdtemp(prefix="tc-bench-"))
os.environ.setdefault("TRADECOACH_CONFIG_DIR", tempfile.mkdtemp(prefix="tc-bench-cfg-"))

import qasync
from PySide6.QtWidgets import QApplication

TICK_S = 0.005
LOAD = r"""
import asyncio, json, sys, time, httpx
url, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
async def main():
    lat, errors = [], 0
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(timeout=60, limits=limits) as c:
        async def one():
            nonlocal errors
            t0 = time.perf_counter()
            try:
                r = await c.get(url)
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                lat.append((time.perf_counter() - t0) * 1000)
            else:
                errors += 1
        await c.get(url)  # warm the connection and any cache
        tasks, start, n = [], time.perf_counter(), int(rate * seconds)
        for i in range(n):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
        print(json.dumps({"lat": lat, "errors": errors, "wall": time.perf_counter() - start}))
asyncio.run(main())
"""


def run_load(url: str, rate: float, seconds: float) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", LOAD, url, str(rate), str(seconds)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def bare_server() -> str:
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/bare")
    async def bare() -> dict[str, bool]:
        return {"ok": True}

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, loop="asyncio", lifespan="off", log_level="warning",
                                           access_log=False))
    threading.Thread(target=lambda: server.run(sockets=[sock]), daemon=True, name="bare-api").start()
    while not server.started:
        time.sleep(0.01)
    return f"http://127.0.0.1:{sock.getsockname()[1]}/bare"


async def heartbeat(stop: asyncio.Event) -> list[float]:
    late: list[float] = []
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.sleep(TICK_S)
        late.append((time.perf_counter() - t0 - TICK_S) * 1000.0)
    return late


async def loaded(url: str, rate: float, seconds: float) -> tuple[dict[str, object], list[float]]:
    stop = asyncio.Event()
    beat = asyncio.ensure_future(heartbeat(stop))
    result = await asyncio.get_running_loop().run_in_executor(None, run_load, url, rate, seconds)
    stop.set()
    return result, await beat


async def main(rate: float, seconds: float, lookback: int, freeze: bool = True) -> None:
    from app.main_window import MainWindow
    from app.stall_watchdog import StallWatchdog
    from core.api.server import ApiServer
    from core.api.settings import ApiOptions
    from core.config import load_settings
    from core.workstation import Workstation

    dog = StallWatchdog(threshold_ms=50.0, log_stalls=False)
    dog.start()
    kernel = Workstation(load_settings())
    kernel.runtime.start()
    await kernel.runtime.wrap(kernel.start())
    window = MainWindow(kernel)
    window.show()
    await window.open_initial("SPY", "5m")
    for _ in range(600):   # the panels open in a task of their own (the first scan, the best plan
        # drawn); the window then freezes its heap: measure the steady state, not the opening
        p = window.panels
        if (p.scanner_ctl.refreshes and p.context_ctl.loaded
                and (p.plan_ctl.plan is not None or not p.scanner_ctl.candidates)):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)
    if not freeze:
        gc.unfreeze()   # measure without the window's gc.freeze() (app/main_window.freeze_heap)
    print(f"objects frozen out of the collector's sight: {gc.get_freeze_count()}")
    server = ApiServer(kernel, "127.0.0.1", 0, options=ApiOptions(rate_per_s=1e6, burst=1_000_000))
    address = await kernel.runtime.wrap(server.start())
    bare_url = bare_server()
    ctx_url = f"{address.url}/gpt/context/SPY?interval=5m&lookback={lookback}"

    try:
        await report(kernel, server, window, dog, bare_url, ctx_url, rate, seconds, lookback)
    except Exception:
        import traceback

        traceback.print_exc()
        raise


async def report(kernel, server, window, dog, bare_url: str, ctx_url: str, rate: float,  # type: ignore[no-untyped-def]
                 seconds: float, lookback: int) -> None:
    from app.stall_watchdog import GcPauses, StallReport

    dog.report.stalls.clear()   # start-up is not what this measures
    gcp = GcPauses()
    gcp.start()
    bare, beat_bare = await loaded(bare_url, rate, seconds)
    bare_stalls, dog.report.stalls = dog.report.stalls, []
    gc_bare = gcp.summary()
    gcp.pauses.clear()
    ctx, beat_ctx = await loaded(ctx_url, rate, seconds)
    ctx_stalls, dog.report.stalls = dog.report.stalls, []
    gc_ctx = gcp.summary()
    gcp.stop()
    dog.stop()
    b50, b99 = pct(bare["lat"], 0.5), pct(bare["lat"], 0.99)          # type: ignore[arg-type]
    c50, c99 = pct(ctx["lat"], 0.5), pct(ctx["lat"], 0.99)            # type: ignore[arg-type]
    print(f"load: {rate:.0f} requests/s for {seconds:.0f} s over loopback (open loop)")
    print(f"  bare FastAPI route (reference): p50 {b50:.1f} ms · p99 {b99:.1f} ms · "
          f"errors {bare['errors']}")
    print(f"  /gpt/context SPY 5m lookback {lookback}: p50 {c50:.1f} ms · p99 {c99:.1f} ms · "
          f"errors {ctx['errors']} · sent in {ctx['wall']:.1f} s")
    print(f"  ratio context/bare: p50 {c50 / b50:.1f}× · p99 {c99 / b99:.1f}× (goal ≤ 3×)")
    print(f"  GUI thread, 5 ms heartbeat lateness: under bare load max {max(beat_bare):.1f} ms "
          f"(median {statistics.median(beat_bare):.1f}); under /gpt/context load max {max(beat_ctx):.1f} ms "
          f"(median {statistics.median(beat_ctx):.1f}) (goal ≤ 50 ms); GIL switch interval "
          f"{sys.getswitchinterval() * 1000:.1f} ms")
    print(f"  garbage collections (a full one holds the GIL): under bare load {gc_bare} · "
          f"under /gpt/context load {gc_ctx}")
    for title, stalls in (("under bare load", bare_stalls), ("under /gpt/context load", ctx_stalls)):
        print(f"  GUI-thread stalls > 50 ms {title}: {len(stalls)}")
        for st in StallReport(stalls).worst(3):
            print(textwrap.indent(st.describe(), "    "))
    await kernel.runtime.wrap(server.stop())
    window.close()
    await kernel.runtime.wrap(kernel.stop())
    kernel.runtime.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--lookback", type=int, default=100)
    ap.add_argument("--switch-interval-ms", type=float, default=1.0,
                    help="the GIL switch interval; the app sets 1 ms (app/gui.py), Python's default is 5")
    ap.add_argument("--no-gc-freeze", action="store_true", help="undo the window's gc.freeze() after start-up")
    args = ap.parse_args()
    sys.setswitchinterval(args.switch_interval_ms / 1000)
    app = QApplication.instance() or QApplication(sys.argv)
    app.setQuitOnLastWindowClosed(False)
    try:
        qasync.run(main(args.rate, args.seconds, args.lookback, not args.no_gc_freeze))
    except RuntimeError as exc:  # qasync hides the coroutine's own error behind this one
        print(f"bench stopped: {exc}", file=sys.stderr)
