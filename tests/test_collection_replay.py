"""A replayed week through the collection scheduler: the replay clock drives it, the replay feed's
real bundled bars feed it, the real store records it."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.capture.service import CaptureService
from core.clock import ReplayClock
from core.collection.ledger import LEDGER_FILE, RunLedger
from core.collection.scheduler import CaptureRequest, CollectionConfig, Scheduler, chart_capture
from core.feeds.replay import MIN_NS, ReplayFeed
from core.market.bundle import BarLibrary
from core.market.calendar import calendar_for
from core.paths import bundled_data_dir
from core.store import PredictionsRepo, SnapshotsRepo, open_store, sqlite_url
from core.store.engine import Store

TODAY = date(2026, 11, 22)   # Sunday: six real SPY sessions land on 2026-11-13 … 2026-11-20
ET = "America/New_York"


@pytest.fixture(scope="module")
def library() -> BarLibrary:
    return BarLibrary(bundled_data_dir())


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = open_store(sqlite_url(tmp_path / "tc.db"))
    s.migrate()
    yield s  # type: ignore[misc]
    s.close()


def et_ns(day: date, hhmm: str) -> int:
    return int(pd.Timestamp(f"{day} {hhmm}", tz=ET).value)


def utc(ns: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)


def make(library: BarLibrary, store: Store, data_dir: Path, start_ns: int,
         config: CollectionConfig) -> tuple[Scheduler, ReplayClock, ReplayFeed]:
    clock = ReplayClock(start_ns, paused=True)
    feed = ReplayFeed(library, clock, today=TODAY)
    svc = CaptureService(store, data_dir, clock=clock, bars=feed)
    sched = Scheduler(clock=clock, bars=feed, store=store, data_dir=data_dir, capture=chart_capture(svc),
                      config=config)
    return sched, clock, feed


async def drive(sched: Scheduler, clock: ReplayClock, until_ns: int) -> None:
    """Run the scheduler, jumping the paused replay clock to each next run once the loop sleeps and
    no capture is in flight (so the week takes seconds, and every capture gets its turn)."""
    task = asyncio.create_task(sched.run(until_ns=until_ns))
    while not task.done():
        await asyncio.sleep(0.001)
        if sched.waiting and sched.captures_in_flight == 0:
            nxt = sched.next_run_ns()
            target = until_ns if nxt is None else min(nxt, until_ns)
            if target > clock.now_ns():
                clock.jump(target)
    await task


CONFIG = CollectionConfig(symbols=("SPY",), candle_intervals=(15, 60), catch_up_days=0)


async def test_a_replayed_week_collects_captures_bars_and_outcomes(library: BarLibrary, store: Store,
                                                                  tmp_path: Path) -> None:
    data = tmp_path / "data"
    days = [date(2026, 11, d) for d in (13, 16, 17, 18, 19, 20)]
    sched, clock, feed = make(library, store, data, et_ns(days[0], "09:00"), CONFIG)
    window = feed.window("SPY").bars   # the real bars the feed will release, for the expected values
    # Two predictions made on Tuesday 10:00 for that day's close: one level reached, one not.
    preds = PredictionsRepo(store)
    day = days[2]
    a_ns, h_ns = et_ns(day, "10:00"), et_ns(day, "16:00")
    after = window.between(a_ns, h_ns)
    anchor = float(window.between(None, a_ns).close[-1])
    hit_level = float(after.high.max()) - 0.01
    miss_level = float(after.high.max()) + 1.0
    p_hit = preds.add(symbol="SPY", model_predicted_price=anchor, anchor_price=anchor, anchor_time=utc(a_ns),
                      horizon_end=utc(h_ns), model_version="t", user_expected_price=hit_level)
    p_miss = preds.add(symbol="SPY", model_predicted_price=anchor, anchor_price=anchor, anchor_time=utc(a_ns),
                       horizon_end=utc(h_ns), model_version="t", user_expected_price=miss_level)

    # Stop mid-week (Wednesday 12:00), then a fresh scheduler on the same store and data dir resumes.
    await drive(sched, clock, et_ns(days[3], "12:00"))
    mid = Counter(r.snapshot_type for r in SnapshotsRepo(store).list_snapshots(limit=10_000))
    assert mid["after"] == 3 and mid["before"] == 3   # Fri/Mon/Tue closes; Fri open had no earlier bars
    sched2, clock2, _ = make(library, store, data, et_ns(days[3], "12:00"), CONFIG)
    await drive(sched2, clock2, et_ns(days[-1], "16:01"))

    snaps = SnapshotsRepo(store).list_snapshots(limit=10_000)
    kinds = Counter(r.snapshot_type for r in snaps)
    assert kinds["after"] == 6 and kinds["before"] == 5
    # Candles: 26 fifteen-minute + 6 hourly bar closes per full session (10:30 … 15:30; no 16:00 repeat).
    candles = Counter((r.session_date, r.interval_minutes) for r in snaps if r.snapshot_type == "session_candle")
    assert candles == Counter({(d, 15): 26 for d in days} | {(d, 60): 6 for d in days})
    # No run captured twice across the restart.
    ids = [(r.snapshot_type, r.session_date, r.interval_minutes, r.bar_time) for r in snaps]
    assert len(ids) == len(set(ids))
    assert all(Path(r.image_path).is_file() for r in snaps)
    hourly = sorted(r.bar_time for r in snaps if r.interval_minutes == 60 and r.session_date == days[1])
    assert [pd.Timestamp(t).tz_convert(ET).strftime("%H:%M") for t in hourly] == \
        ["09:30", "10:30", "11:30", "12:30", "13:30", "14:30"]
    # The first open is recorded as failed with its reason, not silently missing.
    ledger = RunLedger(data)
    first_open = [r for r in ledger.records() if r.kind == "open" and r.session_date == str(days[0])]
    assert [r.status for r in first_open] == ["failed"] and "no 5m bars" in first_open[0].detail

    # Session minute bars: exactly the real regular-hours bars of each session.
    cal = calendar_for("SPY")
    for d in days:
        o, c = cal.rth_bounds_ns(cal.index_of(d))
        stored = SnapshotsRepo(store).session_bars("SPY", d)
        real = window.between(o, c)
        assert len(stored) == len(real) == 390
        assert np.array_equal(stored.ts, real.ts) and np.array_equal(stored.close, real.close)

    # Outcomes resolved from the real bars after the anchor.
    hit, miss = preds.get(p_hit.prediction_id), preds.get(p_miss.prediction_id)
    assert hit is not None and miss is not None and hit.resolved and miss.resolved
    assert hit.was_hit is True and miss.was_hit is False
    assert hit.actual_price == pytest.approx(float(after.close[-1]))
    assert hit.actual_high == pytest.approx(float(after.high.max()))
    assert hit.actual_low == pytest.approx(float(after.low.min()))

    view = sched2.snapshot()
    jobs = {j.job: j for j in view.jobs}
    assert set(jobs) == {"SPY open", "SPY close", "SPY candle 15m", "SPY candle 60m"}
    assert jobs["SPY close"].last is not None and jobs["SPY close"].last["status"] == "ok"
    assert "390 minute bars stored" in str(jobs["SPY close"].last["detail"])
    assert view.counts.get("skipped", 0) == 0 and not view.running
    json.dumps(view.to_json())   # what GET /api/v1/collection/schedule returns


async def test_a_lost_ledger_still_does_not_duplicate_captures(library: BarLibrary, store: Store,
                                                              tmp_path: Path) -> None:
    data = tmp_path / "data"
    day = date(2026, 11, 20)
    cfg = CollectionConfig(symbols=("SPY",), candle_intervals=(60,), catch_up_days=0)
    sched, clock, _ = make(library, store, data, et_ns(day, "09:00"), cfg)
    await drive(sched, clock, et_ns(day, "12:45"))
    before = len(SnapshotsRepo(store).list_snapshots(limit=1000))
    assert before == 1 + 3          # the open and the 10:30, 11:30, 12:30 hourly candles
    (data / LEDGER_FILE).unlink()
    # Restart a little later (12:31 would still be within the grace for the 12:30 candle).
    sched2, clock2, _ = make(library, store, data, et_ns(day, "12:31"), cfg)
    await drive(sched2, clock2, et_ns(day, "13:31"))
    snaps = SnapshotsRepo(store).list_snapshots(limit=1000)
    assert len(snaps) == before + 1  # only 13:30 is new
    recs = {r.key.split("|")[1] + r.session_date + str(r.scheduled_ns): r for r in RunLedger(data).records()}
    assert any("already captured" in r.detail for r in recs.values())


async def test_a_slow_capture_is_skipped_and_recorded_not_queued(library: BarLibrary, store: Store,
                                                                tmp_path: Path) -> None:
    data = tmp_path / "data"
    day = date(2026, 11, 20)
    release = asyncio.Event()
    calls: list[CaptureRequest] = []

    async def slow_capture(req: CaptureRequest) -> int:
        calls.append(req)
        await release.wait()
        return 0

    clock = ReplayClock(et_ns(day, "09:30") + 30 * 1_000_000_000, paused=True)
    feed = ReplayFeed(library, clock, today=TODAY)
    sched = Scheduler(clock=clock, bars=feed, store=store, data_dir=data, capture=slow_capture,
                      config=CollectionConfig(symbols=("SPY",), candle_intervals=(1,), catch_up_days=0,
                                              capture_open_close=False))
    task = asyncio.create_task(sched.run(until_ns=et_ns(day, "09:34")))

    def candles() -> list[str]:
        return [r.status for r in RunLedger(data).records() if r.kind == "candle"]

    async def scenario() -> None:
        for minute in range(1, 5):
            bar_close = et_ns(day, "09:30") + minute * MIN_NS
            while not (sched.waiting and sched.next_run_ns() == bar_close):
                await asyncio.sleep(0.001)
            clock.jump(bar_close)
        # The loop kept going while the first capture hung: later bars were skipped, not queued.
        while candles().count("skipped") < 3:
            await asyncio.sleep(0.005)
        release.set()
        await task

    await asyncio.wait_for(scenario(), timeout=30)
    recs = [r for r in RunLedger(data).records() if r.kind == "candle"]
    assert [r.status for r in recs] == ["ok", "skipped", "skipped", "skipped"], [(r.key, r.detail) for r in recs]
    assert len(calls) == 1
    assert all("still running" in r.detail for r in recs if r.status == "skipped")


async def test_cancel_stops_a_sleeping_scheduler_and_progress_reports(library: BarLibrary, store: Store,
                                                                     tmp_path: Path) -> None:
    day = date(2026, 11, 20)
    clock = ReplayClock(et_ns(day, "09:29"), paused=True)
    feed = ReplayFeed(library, clock, today=TODAY)
    sched = Scheduler(clock=clock, bars=feed, store=store, data_dir=tmp_path, capture=None,
                      config=CollectionConfig(symbols=("SPY",), catch_up_days=0))
    stop = False
    seen: list[tuple[float, str]] = []
    task = asyncio.create_task(sched.run(until_ns=et_ns(day, "17:00"), progress=lambda f, m: seen.append((f, m)),
                                         cancelled=lambda: stop))
    while not (sched.waiting and sched.next_run_ns() == et_ns(day, "09:30")):
        await asyncio.sleep(0.001)
    clock.jump(et_ns(day, "09:30"))
    while not seen:
        await asyncio.sleep(0.001)
    stop = True                       # the clock stays before the close: only cancel can end the run
    summary = await asyncio.wait_for(task, timeout=5)
    assert summary.cancelled and summary.counts == {"ok": 1}
    assert seen[0][1] == "SPY open 2026-11-20: ok" and 0.0 < seen[0][0] < 0.2


async def test_a_late_start_catches_up_closes_but_never_backdates_captures(library: BarLibrary, store: Store,
                                                                         tmp_path: Path) -> None:
    """Started on Friday noon after being off since Monday: Tue–Thu closes get their bars (the data
    is still there), but no open/close capture pretends to show a moment long past."""
    data = tmp_path / "data"
    cfg = CollectionConfig(symbols=("SPY",), catch_up_days=3)
    sched, clock, _ = make(library, store, data, et_ns(date(2026, 11, 20), "12:00"), cfg)
    await drive(sched, clock, et_ns(date(2026, 11, 20), "12:01"))
    recs = RunLedger(data).records()
    by = {(r.kind, r.session_date): r for r in recs}
    for d in ("2026-11-17", "2026-11-18", "2026-11-19"):
        assert by[("open", d)].status == "missed" and "late" in by[("open", d)].detail
        assert by[("close", d)].status == "ok" and "capture missed" in by[("close", d)].detail
        assert len(SnapshotsRepo(store).session_bars("SPY", date.fromisoformat(d))) == 390
    assert by[("open", "2026-11-20")].status == "missed"     # 12:00 is long after the 09:30 open
    assert ("close", "2026-11-20") not in by                  # still ahead
    assert SnapshotsRepo(store).list_snapshots() == []
