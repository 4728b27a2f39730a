"""One kernel, two faces, many threads: the kernel on its own loop thread, the window up
(offscreen) on the GUI thread, 8 threads making 2,000 mixed service calls while the replay streams
at 1000×. Also the chart controller's defects (out-of-order reload, leaked streams)."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from core.config import load_settings
from core.services.predictor import PredictRequest
from core.workstation import Workstation

REPO = Path(__file__).resolve().parents[1]
CALLS, THREADS = 2000, 8


def _call_mix(k: Workstation, image: bytes, i: int) -> object:
    """The i-th call of the mix, as a coroutine to run on the kernel loop."""
    sym = ("SPY", "AAPL", "IBM", "GOOG")[i % 4]
    slot = i % 20
    if slot < 8:
        return k.market.bars(sym, ("1m", "5m", "15m", "1h")[i % 4], limit=500)
    if slot < 11:
        return _notes_round_trip(k, i)
    if slot < 13:
        return k.context.context(sym, "5m", lookback=100)
    if slot == 13:
        return k.context.multi_context(sym, ["5m", "15m"], lookback=100)
    if slot == 14:
        return k.options.rank(sym, "long", "swing")
    if slot == 15:
        return k.plans.scan([sym], "1m")
    if slot == 16:
        return k.predictor.predict(PredictRequest(image, sym, store=True))
    if slot == 17:
        return k.notes.search(f"thread {i % 8}")
    if slot == 18:
        return k.market.last_price(sym)
    return k.jobs.list(limit=5)


async def _notes_round_trip(k: Workstation, i: int) -> int:
    note = await k.notes.create(f"thread {i % 8} call {i}", title=f"t{i}", symbol="SPY")
    changed = await k.notes.update(note.id, content=f"thread {i % 8} call {i} edited")
    assert changed.content.endswith("edited")
    got = await k.notes.get(note.id)
    if i % 3 == 0:
        await k.notes.delete(note.id)
    return got.id


@pytest.mark.slow
async def test_eight_threads_two_thousand_calls_with_the_window_up(isolated_dirs: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from core.store import PlansRepo

    image = (REPO / "tests" / "data" / "app_window_spy1m_20131011.png").read_bytes()
    k = Workstation(load_settings(replay_speed=1000), today=date(2026, 11, 22))
    k.runtime.start()                                   # the engine thread, as in the app
    await k.runtime.wrap(k.start())
    window = MainWindow(k)
    qtbot.addWidget(window)
    window.show()
    try:
        await window.open_initial("SPY", "1m")
        gui_thread = threading.get_ident()
        answered: Counter[str] = Counter()
        errors: list[str] = []
        counter = itertools.count()

        def worker(t: int) -> None:
            assert threading.get_ident() != gui_thread
            for _ in range(CALLS // THREADS):
                i = next(counter)
                try:
                    k.runtime.call(_call_mix(k, image, i), timeout=120)  # type: ignore[arg-type]
                    answered[str(i % 20)] += 1
                except Exception as exc:  # noqa: BLE001 - every failure is collected and reported below
                    errors.append(f"call {i} (slot {i % 20}): {type(exc).__name__}: {exc}")

        pool = ThreadPoolExecutor(THREADS)
        futures = [pool.submit(worker, t) for t in range(THREADS)]
        longest_gap, last = 0.0, time.perf_counter()
        updates_before = window.controller.live_updates
        while not all(f.done() for f in futures):       # the GUI thread keeps painting meanwhile
            QApplication.processEvents()
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            longest_gap, last = max(longest_gap, now - last), now
        for f in futures:
            f.result()
        pool.shutdown()
        assert errors == [], errors[:5]
        assert sum(answered.values()) == CALLS
        assert window.controller.live_updates > updates_before   # the chart kept streaming
        # Idempotent plans: no plan holds two versions with the same levels.
        def versions() -> list[tuple[str, int]]:
            repo = PlansRepo(k.store)
            out = []
            for p in repo.recent(limit=500):
                rows = [repo.get(p.plan_id, v) for v in repo.versions(p.plan_id)]
                payloads = [tuple(sorted((kk, str(vv)) for kk, vv in r.payload.items() if kk != "version"))
                            for r in rows if r is not None]
                out.append((p.plan_id, len(payloads) - len(set(payloads))))
            return out
        dupes = [pid for pid, n in await k.runtime.wrap(k.runtime.run_io(versions)) if n]
        assert dupes == []
        print(f"\n2000 calls from 8 threads: longest GUI-loop gap {longest_gap * 1000:.0f} ms "
              f"(informational; bench/bench_gui_latency.py measures it properly)")
    finally:
        window.close()
        await k.runtime.wrap(k.stop())
        k.runtime.stop()


async def test_an_out_of_order_bar_reloads_the_chart(isolated_dirs: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    """Bars.upsert raises DataError (the controller caught ValueError, so the reload never ran)."""
    from app.chart_controller import ChartController
    from core.events import BarUpdated
    from core.market.bars import Bar
    from widgets.chart import ChartWidget

    k = Workstation(load_settings(), today=date(2026, 11, 22))
    await k.start()
    chart = ChartWidget()
    qtbot.addWidget(chart)
    ctl = ChartController(k, chart)
    try:
        await k.market.replay_pause()
        await ctl.show("SPY", "5m")
        reloads = ctl.reloads
        first = ctl.bars.bar(0)
        stale = Bar(first.ts - 10 * 300 * 1_000_000_000, first.open, first.high, first.low, first.close, 1.0)
        ctl.on_bar(BarUpdated("SPY", ctl.interval, stale, "test"))   # older than the whole series
        for _ in range(200):
            if ctl.reloads > reloads:
                break
            await asyncio.sleep(0.02)
        assert ctl.reloads == reloads + 1 and ctl.bars.bar(0) == first
    finally:
        ctl.close()
        await k.stop()


async def test_quick_symbol_switches_leave_one_stream(isolated_dirs: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    from app.chart_controller import ChartController
    from widgets.chart import ChartWidget

    k = Workstation(load_settings(), today=date(2026, 11, 22))
    await k.start()
    chart = ChartWidget()
    qtbot.addWidget(chart)
    ctl = ChartController(k, chart)
    try:
        shows = [asyncio.ensure_future(ctl.show(s, "1m")) for s in ("SPY", "AAPL", "IBM", "GOOG", "SPY", "BAC")]
        await asyncio.gather(*shows)
        await asyncio.sleep(0.2)
        assert ctl.symbol == "BAC"
        assert k.feeds.streaming() == [("BAC", "1m")]
    finally:
        ctl.close()
        await asyncio.sleep(0.1)
        assert k.feeds.streaming() == []
        await k.stop()
