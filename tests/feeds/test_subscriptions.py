"""Issue 9: subscriptions are handles their owner releases (reference-counted, idempotent,
context managers), and a pump that dies is logged and turns the "live" health DEGRADED."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from core.bus import Bus
from core.events import BarClosed, FeedHealthChanged, FeedState, FeedStatus
from core.feeds.base import BarUpdate, Feed
from core.feeds.manager import LIVE, FeedManager, StreamHandle
from core.feeds.replay import ReplayFeed
from core.market.bars import Bar, Bars
from core.market.intervals import Interval


class BrokenFeed(Feed):
    """Streams one closed bar, then fails the way a parser bug would."""

    name = "broken"

    def symbols(self) -> list[str]:
        return ["SPY"]

    async def history(self, symbol: str, interval: Interval, *, start_ns: int | None = None,
                      end_ns: int | None = None, limit: int | None = None) -> Bars:
        return Bars.empty()

    async def stream(self, symbol: str, interval: Interval) -> AsyncIterator[BarUpdate]:  # type: ignore[override]
        yield BarUpdate(symbol, interval, Bar(60_000_000_000, 1.0, 2.0, 0.5, 1.5, 10.0), True, 1.5)
        await asyncio.sleep(0)
        raise KeyError("c")

    def status(self) -> FeedStatus:
        return FeedStatus(self.name, FeedState.REPLAY, "broken test feed", replayed=True)


async def test_handles_count_references_and_release_once(replay: ReplayFeed) -> None:
    bus = Bus()
    bus.bind()
    mgr = FeedManager(bus, replay)
    a = mgr.subscribe("spy", "1m")
    b = mgr.subscribe("SPY", "1m")
    assert isinstance(a, StreamHandle) and mgr.subscriptions() == {("SPY", "1m"): 2}
    assert replay.status().extra["symbols"] == "SPY"   # the replay describes what is subscribed
    task = mgr._pumps[("SPY", "1m")].task
    a.release()
    a.release()                                  # idempotent: b's claim survives
    assert mgr.subscriptions() == {("SPY", "1m"): 1} and task is not None and not task.done()
    with mgr.subscribe("SPY", "5m") as c:
        assert mgr.subscriptions() == {("SPY", "1m"): 1, ("SPY", "5m"): 1}
    assert c.released and ("SPY", "5m") not in mgr.subscriptions()
    b.release()
    await asyncio.sleep(0)
    assert mgr.subscriptions() == {} and task.cancelled()
    assert replay.status().extra["symbols"] == ""
    mgr.subscribe("SPY", "1m")
    mgr.unsubscribe("SPY", "1m")                 # the deprecated call still releases one claim
    assert mgr.subscriptions() == {}
    await mgr.stop()
    await bus.close()


async def test_a_dead_pump_is_logged_and_degrades_live(caplog: pytest.LogCaptureFixture) -> None:
    bus = Bus()
    bus.bind()
    health: list[FeedHealthChanged] = []
    closed: list[BarClosed] = []
    bus.subscribe(FeedHealthChanged, health.append)
    bus.subscribe(BarClosed, closed.append)
    mgr = FeedManager(bus, BrokenFeed())
    with caplog.at_level(logging.ERROR, logger="core.feeds.manager"):
        handle = mgr.subscribe("SPY", "1m")
        task = mgr._pumps[("SPY", "1m")].task
        assert task is not None
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(0)
        await bus.drain()
    assert len(closed) == 1
    rec = [r for r in caplog.records if "pump:SPY/1m" in r.getMessage()]
    assert rec and rec[0].exc_info is not None                      # logged with the traceback
    live = [e.status for e in health if e.capability == LIVE]
    assert live and live[-1].state is FeedState.DEGRADED
    assert live[-1].extra["reason"] == "stream_failed" and "KeyError" in live[-1].detail
    assert "SPY 1m" in live[-1].detail
    handle.release()
    await mgr.stop()
    await bus.close()


async def test_reset_symbol_reloads_only_that_symbol(replay: ReplayFeed) -> None:
    from core.events import SeriesReset

    bus = Bus()
    bus.bind()
    resets: list[SeriesReset] = []
    bus.subscribe(SeriesReset, resets.append)
    mgr = FeedManager(bus, replay)
    handles = [mgr.subscribe("SPY", "1m"), mgr.subscribe("SPY", "5m"), mgr.subscribe("ES", "1m")]
    mgr.reset_symbol("es", "ES session 2013-10-11 chosen")
    await bus.drain()
    assert [(r.symbol, r.interval.name) for r in resets] == [("ES", "1m")]
    for h in handles:
        h.release()
    await mgr.stop()
    await bus.close()


async def test_the_running_clock_alone_publishes_no_health_events(replay: ReplayFeed) -> None:
    bus = Bus()
    bus.bind()
    events: list[FeedHealthChanged] = []
    bus.subscribe(FeedHealthChanged, events.append)
    mgr = FeedManager(bus, replay)
    replay._clock.resume()
    mgr.refresh_status()
    first = replay.status().extra["clock_et"]
    await asyncio.sleep(0.05)           # the clock moves (1×: at least a 50 ms step; text may tick)
    mgr.refresh_status()
    replay._clock.set_speed(1000)
    await asyncio.sleep(0.05)           # 50 simulated seconds
    mgr.refresh_status()
    await bus.drain()
    assert replay.status().extra["clock_et"] != first
    assert [e.capability for e in events] == ["bars", "bars"]   # start, then the speed change only
    await mgr.stop()
    await bus.close()
