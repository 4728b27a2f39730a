"""The replay feed serves real bundled bars, mapped onto today's calendar, as if live."""

from __future__ import annotations

import asyncio
import itertools
from datetime import date

import numpy as np
import pandas as pd
import pytest

from core.chartdata import session_starts
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


def make_feed(library: BarLibrary, speed: float = 1000.0, start_after: int = 45,
              today: date = TODAY) -> tuple[ReplayFeed, ReplayClock]:
    clock = ReplayClock(0, speed=speed)
    feed = ReplayFeed(library, clock, today=today, start_minutes_after_open=start_after)
    clock.jump(feed.start_time_ns("SPY"))
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
    st = feed.status("SPY")
    assert st.replayed and st.state is FeedState.REPLAY
    assert "replayed" in st.detail and "2013-10-11" in st.detail and "not live" in st.detail
    clock.pause()
    assert feed.status("SPY").state is FeedState.PAUSED and feed.status().state is FeedState.PAUSED
    before = clock.now_ns()
    feed.step("SPY")
    after = clock.now_ns()
    assert 0 < after - before <= MIN_NS and after % MIN_NS == 0
    feed.jump_to_session("SPY", date(2013, 10, 8))
    w = feed.window("SPY")
    assert w.live_real_day == date(2013, 10, 8) and w.target_day == date(2026, 11, 20)
    assert w.real_sessions == (date(2013, 10, 4), date(2013, 10, 7), date(2013, 10, 8)) and w.live_index == 2
    assert clock.now_ns() == after          # the clock stays: the new session replays as the same day
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
    assert feed.status("SPY").state is FeedState.FINISHED


# -- issues 9 and 17: sessions, the shared clock, holidays --------------------------------------
MON = date(2026, 11, 30)   # Monday after Thanksgiving: Fri 2026-11-27 is a half-day
NY = "America/New_York"


def et(ts: int) -> pd.Timestamp:
    return pd.Timestamp(int(ts), tz="UTC").tz_convert(NY)


async def _consume(feed: ReplayFeed, symbol: str, out: list, until=lambda u: False) -> None:  # type: ignore[no-untyped-def]
    async for u in feed.stream(symbol, M1):
        out.append(u)
        if until(u):
            return


async def test_status_describes_what_is_streamed_not_a_primary_symbol(library: BarLibrary) -> None:
    feed, _ = make_feed(library, speed=1000.0, today=MON)
    assert not hasattr(feed, "_primary")
    idle = feed.status()
    assert "no symbol streaming" in idle.detail and "not live data" in idle.detail
    assert idle.extra["symbols"] == "" and "clock_et" in idle.extra
    seen: list = []
    task = asyncio.create_task(_consume(feed, "ES", seen))
    try:
        for _ in range(100):
            await asyncio.sleep(0.01)
            if seen:
                break
        st = feed.status()
        assert st.extra["symbols"] == "ES" and "SPY" not in st.detail
        assert "replayed: ES 2013-10-14 as 2026-11-30" in st.detail
        assert st.extra["real_session:ES"] == "2013-10-14" and st.extra["real_session"] == "2013-10-14"
        # One symbol on request, streamed or not.
        assert feed.status("SPY").extra["real_session"] == "2013-10-11"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert feed.streaming() == []


async def test_an_earlier_session_replays_as_today_and_finishes(library: BarLibrary) -> None:
    """Issue 16: after jumping to 2013-10-04 the later bundled sessions are not streamed as future days."""
    feed, clock = make_feed(library, speed=1000.0, today=MON)
    feed.jump_to_session("SPY", date(2013, 10, 4))
    w = feed.window("SPY")
    assert w.real_sessions == (date(2013, 10, 4),) and w.target_day == MON
    assert et(w.bars.ts[-1]).date() == MON            # nothing after today
    clock.jump(int(w.bars.ts[-1]) - 2 * MIN_NS)
    seen: list = []
    await asyncio.wait_for(_consume(feed, "SPY", seen, lambda u: u.closed and u.bar.ts == w.bars.ts[-1]), 10)
    assert all(et(u.bar.ts).date() == MON for u in seen)
    st = feed.status("SPY")
    assert st.state is FeedState.FINISHED and "SPY 2013-10-04 as 2026-11-30 (session finished)" in st.detail
    hist = await feed.history("SPY", M1)
    assert et(hist.ts[-1]).date() == MON


def test_stub_sessions_are_marked_and_never_the_default(library: BarLibrary) -> None:
    """Issue 17.3: ES opened on 2013-10-15, two hours of data that finished at once."""
    feed, _ = make_feed(library, today=MON)
    info = {s.day: s for s in feed.session_info("ES")}
    stub = info[date(2013, 10, 15)]
    assert stub.partial and stub.bars == 117 and "partial (117 of 1440 min)" in stub.label
    assert not info[date(2013, 10, 14)].partial
    assert feed.default_session("ES") == date(2013, 10, 14)
    assert date(2013, 10, 15) not in feed.sessions("ES", include_partial=False)
    assert date(2013, 10, 15) in feed.sessions("ES")
    for sym in feed.symbols():
        assert not info_of(feed, sym, feed.default_session(sym)).partial
    w = feed.window("ES")
    assert len(w.bars) > 5 * 1200      # six near-full Globex sessions, not a stub
    assert info_of(feed, "GOOG", date(2015, 12, 24)).half_day


def info_of(feed: ReplayFeed, symbol: str, day: date):  # type: ignore[no-untyped-def]
    return next(s for s in feed.session_info(symbol) if s.day == day)


async def test_choosing_a_session_for_one_symbol_keeps_the_clock_and_the_others(library: BarLibrary) -> None:
    """Issue 17.4: picking ES 2013-10-11 jumped everything to Sunday 18:45 ET and SPY lost today."""
    feed, clock = make_feed(library, speed=60.0, today=MON)
    seen: list = []
    task = asyncio.create_task(_consume(feed, "SPY", seen))
    try:
        await asyncio.sleep(0.3)
        before = clock.now_ns()
        n = len(seen)
        feed.jump_to_session("ES", date(2013, 10, 11))
        assert 0 <= clock.now_ns() - before < 30 * 10**9        # no jump, just time passing
        assert et(clock.now_ns()).strftime("%a %H") == "Mon 10" and feed.clock_text().startswith("Mon 2026-11-30 10:")
        assert feed.status("ES").extra["clock_et"] == feed.clock_text()
        es = feed.window("ES")
        assert es.live_real_day == date(2013, 10, 11) and es.target_day == MON
        await asyncio.sleep(0.3)
        assert len(seen) > n                                     # SPY kept streaming
        spy = await feed.history("SPY", M1)
        assert et(spy.ts[-1]).date() == MON                      # today's SPY bars are still there
        es_now = await feed.history("ES", M1)
        assert et(es_now.ts[-1]).date() == MON and et(es_now.ts[-1]).hour == 10
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_real_days_land_on_days_of_the_same_kind_around_thanksgiving(library: BarLibrary) -> None:
    """Issue 17.5: with today Mon 2026-11-30 the prior full day landed on the Fri 11-27 half-day
    (1m to 15:59, 5m stopping at 12:55; ES VWAP not resetting at the Sunday open)."""
    feed, clock = make_feed(library, today=MON)
    spy = feed.window("SPY")
    assert spy.target_sessions == (date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 23),
                                   date(2026, 11, 24), date(2026, 11, 25), MON)
    clock.jump(int(spy.bars.ts[-1]) + MIN_NS)
    m1 = (await feed.history("SPY", M1)).to_pandas(NY)
    m5 = (await feed.history("SPY", M5)).to_pandas(NY)
    for day in spy.target_sessions:
        assert m1[m1.index.date == day].index[-1].strftime("%H:%M") == "15:59"
        assert m5[m5.index.date == day].index[-1].strftime("%H:%M") == "15:55"
    # A real half-day lands on a half-day: GOOG 2015-12-24 on Fri 2026-11-27.
    goog = feed.window("GOOG")
    assert goog.real_sessions == (date(2015, 12, 23), date(2015, 12, 24), date(2015, 12, 28))
    assert goog.target_sessions == (date(2026, 11, 25), date(2026, 11, 27), MON)
    g = goog.bars.to_pandas(NY)
    assert g[g.index.date == date(2026, 11, 27)].index[-1].strftime("%H:%M") == "12:59"
    # ES: every bar inside its Globex session; VWAP resets exactly at each 18:00 ET open.
    es = feed.window("ES")
    cal = calendar_for("ES")
    idx, inside = cal.session_index(es.bars.ts)
    assert inside.all()
    assert {pd.Timestamp(cal.session_dates[i]).date() for i in np.unique(idx)} == set(es.target_sessions)
    assert not {date(2026, 11, 26), date(2026, 11, 27)} & set(es.target_sessions)
    starts = session_starts(es.bars, "ES")
    assert len(starts) == len(es.target_sessions) - 1
    session_opens = [int(cal.opens_ns[cal.index_of(d)]) for d in es.target_sessions[1:]]
    assert np.array_equal(starts, np.searchsorted(es.bars.ts, session_opens))
    assert all(et(o).strftime("%H:%M") == "18:00" for o in session_opens)
    sunday = et(es.bars.ts[starts[-1]])
    assert sunday.strftime("%a %Y-%m-%d") == "Sun 2026-11-29" and sunday.hour >= 18  # first real bar: 20:00


def test_every_default_replays_on_the_same_full_day_even_when_today_is_a_half_day(library: BarLibrary) -> None:
    feed, clock = make_feed(library, today=date(2026, 11, 27))     # the day after Thanksgiving: 13:00 close
    clock.pause()
    targets = {sym: feed.window(sym).target_day for sym in feed.symbols()}
    assert set(targets.values()) == {date(2026, 11, 25)}, targets
    feed.jump_to_session("GOOG", date(2015, 12, 24))            # a half-day replays on the half-day …
    assert feed.window("GOOG").target_day == date(2026, 11, 27)
    now = et(clock.now_ns())
    assert now.date() == date(2026, 11, 27) and now.strftime("%H:%M") == "10:15"   # … at the same time of day
