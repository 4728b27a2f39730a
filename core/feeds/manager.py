"""The feed manager: one place that owns the feeds, answers history and pumps live streams
into the bus as typed events, reference-counting subscriptions so two charts on the same
(symbol, interval) share one stream. Provider fallback and per-capability health build on it."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from core.bus import Bus
from core.events import BarClosed, BarUpdated, FeedHealthChanged, FeedStatus, SeriesReset, Tick
from core.feeds.base import Feed
from core.market.bars import Bars
from core.market.intervals import Interval, parse_interval

log = logging.getLogger(__name__)

STATUS_POLL_S = 1.0


@dataclass
class _Pump:
    symbol: str
    interval: Interval
    refs: int = 0
    task: asyncio.Task[None] | None = None
    last_ts: int = -1
    updates: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class FeedManager:
    def __init__(self, bus: Bus, bars_feed: Feed) -> None:
        self._bus = bus
        self._feed = bars_feed
        self._pumps: dict[tuple[str, str], _Pump] = {}
        self._last_status: FeedStatus | None = None
        self._status_task: asyncio.Task[None] | None = None

    @property
    def feed(self) -> Feed:
        return self._feed

    async def start(self) -> None:
        await self._feed.start()
        self.refresh_status()
        self._status_task = asyncio.get_running_loop().create_task(self._watch_status(), name="feed-status")

    async def stop(self) -> None:
        tasks = [p.task for p in self._pumps.values() if p.task is not None]
        if self._status_task is not None:
            tasks.append(self._status_task)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._pumps.clear()
        await self._feed.stop()

    def status(self) -> FeedStatus:
        return self._feed.status()

    def symbols(self) -> list[str]:
        return self._feed.symbols()

    async def history(self, symbol: str, interval: Interval | str, *, limit: int | None = None,
                      start_ns: int | None = None, end_ns: int | None = None) -> Bars:
        iv = parse_interval(interval)
        return await self._feed.history(symbol.upper(), iv, start_ns=start_ns, end_ns=end_ns, limit=limit)

    def subscribe(self, symbol: str, interval: Interval | str) -> None:
        """Start (or share) the live stream of (symbol, interval) into the bus."""
        iv = parse_interval(interval)
        key = (symbol.upper(), iv.name)
        pump = self._pumps.get(key)
        if pump is None:
            pump = self._pumps[key] = _Pump(symbol.upper(), iv)
        pump.refs += 1
        if pump.task is None or pump.task.done():
            pump.task = asyncio.get_running_loop().create_task(self._run(pump), name=f"pump:{key}")

    def unsubscribe(self, symbol: str, interval: Interval | str) -> None:
        key = (symbol.upper(), parse_interval(interval).name)
        pump = self._pumps.get(key)
        if pump is None:
            return
        pump.refs -= 1
        if pump.refs <= 0:
            if pump.task is not None:
                pump.task.cancel()
            del self._pumps[key]

    def reset_all(self, reason: str) -> None:
        """Tell consumers every subscribed series must be reloaded (replay jump, backfill)."""
        for p in self._pumps.values():
            self._bus.publish(SeriesReset(p.symbol, p.interval, reason))
        self.refresh_status()

    async def _run(self, pump: _Pump) -> None:
        src = self._feed.name
        try:
            async for upd in self._feed.stream(pump.symbol, pump.interval):
                pump.updates += 1
                pump.last_ts = upd.bar.ts
                if upd.tick_price is not None:
                    self._bus.publish(Tick(upd.symbol, upd.bar.ts, upd.tick_price, upd.tick_size, src))
                event = BarClosed if upd.closed else BarUpdated
                self._bus.publish(event(upd.symbol, upd.interval, upd.bar, src))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("feed %s: stream %s %s failed", src, pump.symbol, pump.interval)
            self.refresh_status()

    async def _watch_status(self) -> None:
        while True:
            await asyncio.sleep(STATUS_POLL_S)
            self.refresh_status()

    def refresh_status(self) -> None:
        st = self._feed.status()
        if st != self._last_status:
            self._last_status = st
            self._bus.publish(FeedHealthChanged("bars", st))
