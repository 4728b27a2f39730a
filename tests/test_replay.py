"""The replay feed serves real bundled bars, mapped onto today's calendar, as if live."""

from __future__ import annotations

import asyncio
import itertools
from datetime import date

import numpy as np
import pandas as pd
import pytest

from core.clock import ReplayClock
from core.errors import InputError
from core.events import FeedState
from core.feeds.replay import MIN_NS, ReplayFeed, intrabar_path
from core.market.bars import Bars
from core.market.bundle import BarLibrary
from core.market.calendar import calendar_for
from core.market.intervals import D1, M1, M5
from core.market.resample import resample
from core.market.sessions import in_regular_hours
from core.paths import bundled_data_dir

TODAY = date(2026, 11, 22)   # a Sunday: the replay maps onto Friday 2026-11-20


@pytest.fixture(scope="module")
def library() -> BarLibrary:
    return BarLibrary(bundled_data_dir())


def make_feed(library: BarLibrary, speed: float = 1000.0, start_after: int = 45) -> tuple[ReplayFeed, ReplayClock]:
    clock = ReplayClock(0, speed=speed)
    feed = ReplayFeed(library, clock, today=TODAY, start_minutes_after_open=start_after)
    clock.jump(feed.start_time_ns("SPY"))
    feed.set_primary("SPY")
    return feed, clock


def test_window_maps_real_sessions_onto_the_calendar(library: BarLibrary) -> None:
    feed, _ = make_feed(library)
    w = feed.window("SPY")
    assert w.target_day == date(2026, 11, 20)
    assert w.live_real_day == date(2013, 10, 11) and len(w.real_sessions) == 6
    et = w.bars.to_pandas("America/New_York")
    days = sorted(set(et.index.date))
    assert days[-1] == date(2026, 11, 20) and len(days) == 6
    cal = calendar_for("SPY")
    assert all(cal.is_session(d) for d in days)
    # Real October sessions (EDT) land on November sessions (EST) at 09:30 New York time.
    firsts = et.groupby(et.index.date).head(1)
    assert set(firsts.index.strftime("%H:%M")) == {"09:30"}
    # Prices and volumes are the bundled real ones, untouched.
    real = library.minute("SPY")
    real_rth = real[in_regular_hours(real.ts, cal)]
    real_rth = real_rth.between(None, int(pd.Timestamp("2013-10-12", tz="UTC").value))
    assert np.array_equal(w.bars.close, real_rth.close) and np.array_equal(w.bars.volume, real_rth.volume)


async def test_history_never_contains_the_future(library: BarLibrary) -> None:
    feed, clock = make_feed(library, start_after=45)
    clock.pause()
    now = clock.now_ns()
    m1 = await feed.history("SPY", M1)
    assert m1.ts[-1] <= now and np.all(m1.ts[:-1] + MIN_NS <= now)
    assert pd.Timestamp(int(m1.ts[-1]), tz="UTC").tz_convert("America/New_York").strftime("%H:%M") == "10:15"
    m5 = await feed.history("SPY", M5)
    assert m5.ts[-1] <= now
    daily = await feed.history("SPY", D1)
    et = daily.to_pandas("America/New_York")
    assert et.index[-1].date() == date(2026, 11, 20) and len(et) > 3000     # years of real daily history
    assert et.close.iloc[-2] == pytest.approx(169.24)                       # 2013-10-10's real close


async def test_stream_releases_exactly_the_real_bars(library: BarLibrary) -> None:
    feed, clock = make_feed(library, speed=1000.0)
    w = feed.window("SPY")
    start = clock.now_ns()
    closed: list = []
    updates_per_bar: dict[int, list[float]] = {}

    async def consume() -> None:
        async for u in feed.stream("SPY", M1):
            updates_per_bar.setdefault(u.bar.ts, []).append(u.bar.close)
            if u.closed:
                closed.append(u.bar)
                if len(closed) == 20:
                    return

    await asyncio.wait_for(consume(), 10)
    got = Bars.from_bars(closed)
    first = int(np.searchsorted(w.bars.ts + MIN_NS, start, side="right"))
    assert got.equals(w.bars[first:first + 20])


async def test_intrabar_updates_walk_open_to_close(library: BarLibrary) -> None:
    feed, clock = make_feed(library, speed=5.0)     # 12 updates per bar at low speed
    seen: list = []

    async def consume() -> None:
        async for u in feed.stream("SPY", M1):
            seen.append(u)
            if u.closed and len(seen) > 3:
                return

    clock.jump(clock.now_ns() + 55 * 1_000_000_000)  # near the end of a minute
    await asyncio.wait_for(consume(), 20)
    bar_ts = seen[-1].bar.ts
    path = [u.bar for u in seen if u.bar.ts == bar_ts]
    assert len(path) >= 2
    final = path[-1]
    assert all(p.open == final.open for p in path)
    assert all(b.high >= a.high and b.low <= a.low for a, b in itertools.pairwise(path))
    assert all(final.low <= p.close <= final.high for p in path)
    _, first, second, _ = intrabar_path(final)
    assert (first, second) == ((final.low, final.high) if final.close >= final.open else (final.high, final.low))


async def test_five_minute_stream_matches_resampled_history(library: BarLibrary) -> None:
    feed, _ = make_feed(library, speed=1000.0)
    closed: list = []

    async def consume() -> None:
        async for u in feed.stream("SPY", M5):
            if u.closed:
                closed.append(u.bar)
                if len(closed) == 4:
                    return

    await asyncio.wait_for(consume(), 20)
    w = feed.window("SPY")
    batch = resample(w.bars, M5, calendar_for("SPY"))
    i = int(np.searchsorted(batch.ts, closed[0].ts))
    assert Bars.from_bars(closed).equals(batch[i:i + 4])


async def test_pause_step_jump_and_status(library: BarLibrary) -> None:
    feed, clock = make_feed(library, speed=10.0)
    st = feed.status()
    assert st.replayed and st.state is FeedState.REPLAY
    assert "replayed" in st.detail and "2013-10-11" in st.detail and "not live" in st.detail
    clock.pause()
    assert feed.status().state is FeedState.PAUSED
    before = clock.now_ns()
    feed.step("SPY")
    after = clock.now_ns()
    assert 0 < after - before <= MIN_NS and after % MIN_NS == 0
    gen = feed.generation()
    feed.jump_to_session("SPY", date(2013, 10, 8))
    assert feed.generation() == gen + 1
    w = feed.window("SPY")
    assert w.live_real_day == date(2013, 10, 8) and w.target_day == date(2026, 11, 20)
    assert len(w.real_sessions) == 6 and w.live_index == 2
    hist = await feed.history("SPY", M1)
    assert hist.close[0] == pytest.approx(library.minute("SPY").between(
        int(pd.Timestamp("2013-10-04 13:30", tz="UTC").value), None).close[0])
    with pytest.raises(InputError, match="date"):
        feed.jump_to_session("SPY", date(2013, 10, 12))
    with pytest.raises(InputError, match="symbol"):
        feed.window("TSLA")


async def test_finished_session_is_reported(library: BarLibrary) -> None:
    feed, clock = make_feed(library)
    w = feed.window("SPY")
    clock.jump(int(w.bars.ts[-1]) + 2 * MIN_NS)
    assert feed.status().state is FeedState.FINISHED
