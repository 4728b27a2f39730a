"""The kernel end to end on the replay feed: store opened and migrated, history, live events."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from core.config import load_settings
from core.errors import InputError
from core.events import BarClosed, BarUpdated, FeedHealthChanged, SeriesReset, Tick
from core.market.intervals import M5
from core.store import ImportedBarsRepo
from core.workstation import Workstation


async def test_workstation_streams_replay_bars_into_the_bus(isolated_dirs: Path) -> None:
    k = Workstation(load_settings(replay_speed=1000), today=date(2026, 11, 22))
    await k.start()
    try:
        assert (isolated_dirs / "data" / "tradecoach.db").exists() and k.store is not None
        assert k.store.is_current()
        hist = await k.bars("SPY", "5m")
        assert len(hist) > 300
        got: dict[type, int] = {}
        closed_5m: list = []

        def count(e: object) -> None:
            got[type(e)] = got.get(type(e), 0) + 1
            if isinstance(e, BarClosed) and e.interval == M5:
                closed_5m.append(e.bar)

        for t in (BarUpdated, BarClosed, Tick, FeedHealthChanged):
            k.bus.subscribe(t, count)
        k.subscribe("SPY", "1m")
        k.subscribe("SPY", "5m")
        k.subscribe("SPY", "1m")        # shared stream: still one pump
        for _ in range(100):
            await asyncio.sleep(0.05)
            if len(closed_5m) >= 2:
                break
        assert got.get(BarClosed, 0) >= len(closed_5m) + 5 and got.get(Tick, 0) >= 5  # 5m closes need 5 1m closes
        later = await k.bars("SPY", M5)
        i = int(np.searchsorted(later.ts, closed_5m[0].ts))
        assert later.bar(i) == closed_5m[0]     # live and history agree bar for bar
        resets: list[SeriesReset] = []
        k.bus.subscribe(SeriesReset, resets.append)
        k.replay_jump("SPY", date(2013, 10, 9))
        await k.bus.drain()
        assert {(r.symbol, r.interval.name) for r in resets} == {("SPY", "1m"), ("SPY", "5m")}
    finally:
        await k.stop()


async def test_import_bars_lands_in_the_store(isolated_dirs: Path, shared_data: Path) -> None:
    k = Workstation(load_settings(), today=date(2026, 11, 22))
    k.bus.bind()
    k.store = await asyncio.get_running_loop().run_in_executor(None, k.open_store)
    try:
        imp = await k.import_bars(shared_data / "intraday" / "SPX_index_1min_samples_lean.csv", "SPX")
        back = ImportedBarsRepo(k.store).load("SPX", imp.interval)
        assert back.equals(imp.bars)
    finally:
        k.store.close()


async def test_option_ranker_on_the_replay_feed(isolated_dirs: Path) -> None:
    k = Workstation(load_settings(), today=date(2026, 11, 22))
    await k.start()
    try:
        k.replay_pause()
        chain = await k.option_chain("SPY")
        spot = float((await k.bars("SPY", "1m", limit=1)).close[-1])
        assert chain.source == "modelled" and bool(np.all(chain.modelled))
        assert chain.underlying_price == pytest.approx(spot)
        result = await k.rank_options("SPY", "long", "swing")
        assert result.modelled and len(result.best) == 3 and len(result.alternatives) > 0
        assert all(c.right == "C" and 10 <= c.dte <= 45 and 0.30 <= c.delta <= 0.55 for c in result.best)
        assert {r.code for r in result.rejections} >= {"DTE_OUT_OF_RANGE", "DELTA_OUT_OF_RANGE", "SIDE_MISMATCH"}
        with pytest.raises(InputError, match="style"):
            await k.rank_options("SPY", "long", "yolo")
    finally:
        await k.stop()


async def test_scan_stores_and_announces_plans(isolated_dirs: Path, shared_data: Path) -> None:
    from core.scanner.cli import main as eval_main
    from core.scanner.events import PlanIssued
    from core.store import PlansRepo

    k = Workstation(load_settings(), today=date(2026, 11, 22))
    await k.start()
    try:
        k.replay_pause()
        issued: list[PlanIssued] = []
        k.bus.subscribe(PlanIssued, issued.append)
        result = await k.scan(interval="1m")
        await k.bus.drain()
        assert len(issued) == len(result.plans)
        for plan in result.plans:
            stored = PlansRepo(k.store).latest(plan.plan_id)
            assert stored is not None and stored.payload["entry"] == plan.entry
            assert plan.confidence_source == "heuristic"      # no calibration file yet
        # Fit a calibration on real history; live scans then use it.
        assert eval_main(["--bars", str(shared_data / "intraday" / "SPY_5min_2018-2020_ib.csv"), "--symbol",
                          "SPY", "--save-calibration", str(k.calibration_path), "--json"]) == 0
        again = await k.scan(interval="1m")
        assert all(p.confidence_source == "calibrated" for p in again.plans)
        with pytest.raises(InputError, match="symbol: replay has no data for NOPE"):
            await k.scan(["NOPE"])
    finally:
        await k.stop()


async def test_predict_from_a_screenshot_on_the_replay_feed(isolated_dirs: Path) -> None:
    """A real chart image from the app's own smoke screenshot, through the worker process."""
    from core.store import PredictionsRepo

    image = (Path(__file__).resolve().parents[1] / "docs" / "images" / "main-window.png").read_bytes()
    k = Workstation(load_settings(), today=date(2026, 11, 22))
    await k.start()
    try:
        k.replay_pause()
        spot = float((await k.bars("SPY", "1m", limit=1)).close[-1])
        forecast, pid = await k.predict(image, "spy", level=round(spot * 1.003, 2))
        assert forecast.symbol == "SPY" and forecast.anchor_price == pytest.approx(spot)
        assert forecast.price_source.startswith("feed")
        assert forecast.low_range[0] <= forecast.close <= forecast.high_range[1]
        assert 0.0 <= forecast.p_touch <= 1.0 and forecast.skill_text
        row = PredictionsRepo(k.store).get(pid)
        assert row is not None and row.model_predicted_price == pytest.approx(forecast.close)
        with pytest.raises(InputError, match="file"):
            await k.predict(b"", "SPY")
    finally:
        await k.stop()
