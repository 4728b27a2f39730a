"""The kernel end to end on the replay feed: store opened and migrated, history, live events."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from core.config import load_settings
from core.errors import DataError, InputError
from core.events import BarClosed, BarUpdated, FeedHealthChanged, SeriesReset, Tick
from core.market.importer import read_bars_file
from core.market.intervals import M5
from core.services.predictor import PredictRequest
from core.store import ImportedBarsRepo
from core.workstation import Workstation


async def test_workstation_streams_replay_bars_into_the_bus(isolated_dirs: Path) -> None:
    k = Workstation(load_settings(replay_speed=1000), today=date(2026, 11, 22))
    await k.start()
    try:
        assert (isolated_dirs / "data" / "tradecoach.db").exists() and k.store is not None
        assert k.store.is_current()
        hist = await k.market.bars("SPY", "5m")
        assert len(hist) > 300
        got: dict[type, int] = {}
        closed_5m: list = []

        def count(e: object) -> None:
            got[type(e)] = got.get(type(e), 0) + 1
            if isinstance(e, BarClosed) and e.interval == M5:
                closed_5m.append(e.bar)

        for t in (BarUpdated, BarClosed, Tick, FeedHealthChanged):
            k.bus.subscribe(t, count)
        await k.market.subscribe("SPY", "1m")
        await k.market.subscribe("SPY", "5m")
        await k.market.subscribe("SPY", "1m")        # shared stream: still one pump
        for _ in range(100):
            await asyncio.sleep(0.05)
            if len(closed_5m) >= 2:
                break
        assert got.get(BarClosed, 0) >= len(closed_5m) + 5 and got.get(Tick, 0) >= 5  # 5m closes need 5 1m closes
        later = await k.market.bars("SPY", M5)
        i = int(np.searchsorted(later.ts, closed_5m[0].ts))
        assert later.bar(i) == closed_5m[0]     # live and history agree bar for bar
        resets: list[SeriesReset] = []
        k.bus.subscribe(SeriesReset, resets.append)
        await k.market.replay_jump("SPY", date(2013, 10, 9))
        await k.bus.drain()
        assert {(r.symbol, r.interval.name) for r in resets} == {("SPY", "1m"), ("SPY", "5m")}
    finally:
        await k.stop()


async def test_import_bars_lands_in_the_store(isolated_dirs: Path, shared_data: Path) -> None:
    k = Workstation(load_settings(), today=date(2026, 11, 22))
    await k.start(feeds=False)
    try:
        path = shared_data / "intraday" / "SPX_index_1min_samples_lean.csv"
        imp = await k.import_bars(path, "SPX")
        assert k.store is not None
        back = ImportedBarsRepo(k.store).load("SPX", imp.interval)
        assert back.equals(read_bars_file(path, "SPX").bars) and imp.inserted == len(back)
        again = await k.import_bars(path, "SPX")            # a re-import replaces the range
        assert again.replaced == len(back) and len(ImportedBarsRepo(k.store).load("SPX", imp.interval)) == len(back)
    finally:
        await k.stop()


async def test_option_ranker_on_the_replay_feed(isolated_dirs: Path) -> None:
    k = Workstation(load_settings(), today=date(2026, 11, 22))
    await k.start()
    try:
        await k.market.replay_pause()
        chain = await k.options.chain("SPY")
        spot = float((await k.market.bars("SPY", "1m", limit=1)).close[-1])
        assert chain.source == "modelled" and bool(np.all(chain.modelled))
        assert chain.underlying_price == pytest.approx(spot)
        idea = await k.options.rank("SPY", "long", "swing")
        result = idea.result
        assert not idea.index_mode and idea.chain_symbol == "SPY"
        assert result.modelled and len(result.best) == 3 and len(result.alternatives) > 0
        assert all(c.right == "C" and 10 <= c.dte <= 45 and 0.30 <= c.delta <= 0.55 for c in result.best)
        assert {r.code for r in result.rejections} >= {"DTE_OUT_OF_RANGE", "DELTA_OUT_OF_RANGE", "SIDE_MISMATCH"}
        with pytest.raises(InputError, match="style"):
            await k.options.rank("SPY", "long", "yolo")
    finally:
        await k.stop()


async def test_scan_stores_and_announces_plans(isolated_dirs: Path, shared_data: Path) -> None:
    from core.scanner.cli import main as eval_main
    from core.scanner.events import PlanIssued
    from core.store import PlansRepo

    k = Workstation(load_settings(), today=date(2026, 11, 22))
    await k.start()
    try:
        await k.market.replay_pause()
        # 12:45 ET on the replayed day: a moment when the 1-minute scan has triggered setups (found
        # by scanning the session); the test must see real plans, not pass on an empty scan.
        k.replay.jump_to_time(k.replay.start_time_ns("SPY") + 150 * 60 * 1_000_000_000)
        issued: list[PlanIssued] = []
        k.bus.subscribe(PlanIssued, issued.append)
        report = await k.plans.scan(interval="1m")
        await k.bus.drain()
        assert {r.symbol for r in report.symbols} == set(k.market.symbols())   # every symbol answers
        triggered = [c for c in report.candidates if c.state == "triggered"]
        assert triggered and len(issued) == len(triggered)
        assert any(c.state == "armed" for c in report.candidates)
        repo = PlansRepo(k.store)
        for c in triggered:
            stored = repo.latest(c.plan_id)
            assert stored is not None and stored.payload["entry"] == c.entry
            assert c.confidence_kind == "heuristic"      # no calibration for 1-minute scans yet
        # The same scan again stores no new version (idempotent plans).
        before = {c.plan_id: repo.versions(c.plan_id) for c in triggered}
        await k.plans.scan(interval="1m")
        assert {c.plan_id: repo.versions(c.plan_id) for c in triggered} == before
        # Fit a calibration on real history; live scans then use it.
        assert eval_main(["--bars", str(shared_data / "intraday" / "SPY_5min_2018-2020_ib.csv"), "--symbol",
                          "SPY", "--save-calibration", str(k.plans.calibration_path), "--json"]) == 0
        again = await k.plans.scan(interval="1m")
        assert again.candidates and all(c.confidence_kind == "calibrated" for c in again.candidates
                                        if c.state in ("triggered", "armed"))
        report = await k.plans.scan(["SPY", "NOPE"])
        assert any("NOPE" in w for w in report.warnings)
        with pytest.raises(InputError, match="NOPE: replay has no data for NOPE"):
            await k.plans.scan(["NOPE"])
    finally:
        await k.stop()


async def test_predict_from_a_screenshot_on_the_replay_feed(isolated_dirs: Path) -> None:
    """A real chart image — the app's own smoke screenshot of the replayed SPY session, kept as test
    data so retaking the docs' screenshots cannot change it — through the worker process."""
    from core.store import PredictionsRepo

    image = (Path(__file__).resolve().parent / "data" / "app_window_spy1m_20131011.png").read_bytes()
    k = Workstation(load_settings(), today=date(2026, 11, 22))
    await k.start()
    try:
        await k.market.replay_pause()
        spot = float((await k.market.bars("SPY", "1m", limit=1)).close[-1])
        res = await k.predictor.predict(PredictRequest(image, "spy", level=round(spot * 1.003, 2)))
        forecast, pid = res.forecast, res.prediction_id
        assert forecast.symbol == "SPY" and forecast.anchor_price == pytest.approx(spot)
        assert forecast.price_source.startswith("feed")
        assert forecast.low_range[0] <= forecast.close <= forecast.high_range[1]
        assert 0.0 <= forecast.p_touch <= 1.0 and forecast.skill_text
        row = PredictionsRepo(k.store).get(pid)
        assert row is not None and row.model_predicted_price == pytest.approx(forecast.close)
        with pytest.raises(InputError, match="file"):
            await k.predictor.predict(PredictRequest(b"", "SPY"))
    finally:
        await k.stop()


async def test_index_mode_ranks_the_proxy_and_translates_the_plan(isolated_dirs: Path) -> None:
    """ES futures through SPY options, both replaying the real session of 2013-10-11 (the bundled
    SPX minutes share no day with SPY; ES does)."""
    k = Workstation(load_settings(), today=date(2026, 11, 22))
    await k.start()
    try:
        with pytest.raises(DataError, match="same real session"):
            await k.options.index_proxy("ES", "SPY")   # ES replays 2013-10-14 by default, SPY 2013-10-11
        k.replay.choose_session("ES", date(2013, 10, 11))
        await k.market.replay_jump("SPY", date(2013, 10, 11))
        k.replay.jump_to_time(k.replay.start_time_ns("SPY") + 150 * 60 * 1_000_000_000)  # 12:45 ET
        await k.market.replay_pause()
        es = float((await k.market.bars("ES", "1m", limit=1)).close[-1])
        spy = float((await k.market.bars("SPY", "1m", limit=1)).close[-1])
        # No ES chain on the replay feed (no bundled daily ES bars to model one): index mode by itself.
        idea = await k.options.rank("ES", "long", "swing", plan_levels=(es, es - 6.0, (es + 6.0, es + 12.0)))
        assert idea.index_mode and idea.chain_symbol == "SPY" and idea.proxy is not None
        assert "ES chain unavailable" in idea.reason
        assert 0.5 < idea.proxy.beta < 1.3 and idea.proxy.bars >= 60
        assert idea.proxy.ratio == pytest.approx(spy / es, rel=1e-3)
        assert "American-style" in idea.proxy.banner
        lv = idea.levels
        assert lv is not None and lv["proxy"] == "SPY"
        assert lv["entry"] == pytest.approx(spy, rel=2e-3)          # the index price maps to the ETF price
        assert lv["stop"] < lv["entry"] < lv["targets"][0] < lv["targets"][1]
        assert len(idea.result.best) == 3 and all(c.right == "C" for c in idea.result.best)
        with pytest.raises(InputError, match="symbol"):
            await k.options.rank("AAPL", "long", via_proxy=True)
        with pytest.raises(DataError, match="no bundled session has both"):
            await k.options.rank("SPX", "long")       # bundled SPX minutes share no day with SPY
    finally:
        await k.stop()


async def test_live_rescans_publish_changes_and_a_followed_plan_reports_its_steps(isolated_dirs: Path) -> None:
    """The watchlist is rescanned on each 1-minute close (only the symbols whose bar closed) and the
    changes reach the bus; an armed plan is followed bar by bar on the replayed stream."""
    from core.scanner.events import FollowerEvent, SetupChanged

    k = Workstation(load_settings(replay_speed=600), today=date(2026, 11, 22))
    await k.start()
    try:
        await k.market.replay_pause()
        k.replay.jump_to_time(k.replay.start_time_ns("SPY") + 140 * 60 * 1_000_000_000)   # 12:35 ET
        changes: list[SetupChanged] = []
        steps: list[FollowerEvent] = []
        k.bus.subscribe(SetupChanged, changes.append)
        k.bus.subscribe(FollowerEvent, steps.append)
        symbols = ["SPY", "IBM", "ES", "GOOG", "AAPL"]
        await k.plans.start_live(symbols, "1m")
        baseline = k.plans.live_report
        assert baseline is not None and {r.symbol for r in baseline.symbols} == set(symbols)
        report = await k.plans.scan(symbols, "1m")
        plan_id = next(c.plan_id for c in report.candidates if c.plan_id)
        await k.plans.follow(plan_id)
        assert plan_id in k.plans.following()
        await k.market.replay_resume()
        for _ in range(300):
            if changes and steps:
                break
            await asyncio.sleep(0.1)
        assert changes, "30 replayed minutes brought no setup change on five symbols"
        assert all(c.change.symbol in symbols for c in changes)
        assert {c.change.kind for c in changes} <= {"armed", "triggered", "invalidated", "disarmed"}
        assert k.plans.live_report is not baseline
        assert steps and all(e.plan_id == plan_id for e in steps)   # e.g. entered, stop_warning, tp_hit
        await k.plans.unfollow(plan_id)
        assert plan_id not in k.plans.following()
    finally:
        await k.stop()
