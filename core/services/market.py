"""Market data: bars, the latest price, live subscriptions and the replay controls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from core.clock import Clock, ReplayClock
from core.errors import InputError
from core.events import FeedStatus
from core.feeds.manager import FeedManager
from core.feeds.replay import ReplayFeed, ReplaySession
from core.market.bars import Bars
from core.market.intervals import Interval, parse_interval

MAX_BARS = 50_000


class StreamHandle(Protocol):
    """What `subscribe` returns: the owner releases it when it no longer wants the stream."""

    def release(self) -> None: ...


@dataclass(frozen=True, slots=True)
class LastPrice:
    symbol: str
    price: float
    ts_ns: int
    source: str

    def to_dict(self) -> dict[str, object]:
        return {"symbol": self.symbol, "price": self.price, "ts_ns": self.ts_ns, "source": self.source}


class MarketService:
    def __init__(self, feeds: FeedManager, replay: ReplayFeed, replay_clock: ReplayClock,
                 clock: Clock) -> None:
        self._feeds, self._replay, self._replay_clock, self._clock = feeds, replay, replay_clock, clock

    @property
    def clock(self) -> Clock:
        return self._clock

    def symbols(self) -> list[str]:
        return self._feeds.symbols()

    def status(self) -> FeedStatus:
        return self._feeds.status()

    def health(self) -> dict[str, FeedStatus]:
        return self._feeds.health_all()

    @property
    def vendor_mode(self) -> bool:
        return self._feeds.vendor_mode

    async def bars(self, symbol: str, interval: Interval | str, limit: int | None = None) -> Bars:
        sym = _symbol(symbol)
        if limit is not None and not 1 <= int(limit) <= MAX_BARS:
            raise InputError("limit", f"must be between 1 and {MAX_BARS}")
        return await self._feeds.history(sym, parse_interval(interval), limit=limit)

    async def history(self, symbol: str, interval: Interval, *, start_ns: int | None = None,
                      end_ns: int | None = None, limit: int | None = None) -> Bars:
        """Bars between two times (the `BarsSource` shape the capture and collection services read)."""
        return await self._feeds.history(_symbol(symbol), parse_interval(interval), start_ns=start_ns,
                                         end_ns=end_ns, limit=limit)

    async def last_price(self, symbol: str) -> LastPrice:
        """The latest trade (the in-progress 1-minute bar's close), not the last closed bar."""
        sym = _symbol(symbol)
        last = await self._feeds.history(sym, parse_interval("1m"), limit=1)
        if not len(last):
            raise InputError("symbol", f"the feed has no price for {sym}")
        return LastPrice(sym, float(last.close[-1]), int(last.ts[-1]), self._feeds.status().source)

    async def subscribe(self, symbol: str, interval: Interval | str) -> StreamHandle:
        """Stream (symbol, interval) into the bus until the returned handle is released."""
        return self._feeds.subscribe(_symbol(symbol), parse_interval(interval))

    # -- replay controls --------------------------------------------------------------------------
    async def replay_pause(self) -> FeedStatus:
        self._replay_clock.pause()
        self._feeds.refresh_status()
        return self._feeds.status()

    async def replay_resume(self) -> FeedStatus:
        self._replay_clock.resume()
        self._feeds.refresh_status()
        return self._feeds.status()

    async def replay_set_speed(self, speed: float) -> FeedStatus:
        self._replay_clock.set_speed(float(speed))
        self._feeds.refresh_status()
        return self._feeds.status()

    async def replay_step(self, symbol: str) -> None:
        if not self._replay_clock.paused:
            raise InputError("replay", "pause the replay before stepping")
        self._replay.step(_symbol(symbol))

    async def replay_sessions(self, symbol: str) -> list[ReplaySession]:
        """The real sessions of `symbol` the replay can play as today (partial ones marked)."""
        return list(self._replay.session_info(_symbol(symbol)))

    async def replay_jump(self, symbol: str, real_day: date) -> FeedStatus:
        """Replay `real_day` of `symbol` as today; other symbols keep streaming."""
        sym = _symbol(symbol)
        self._replay.jump_to_session(sym, real_day)
        self._feeds.reset_symbol(sym, f"replay jumped to {real_day}")
        return self._replay.status(sym)

    def replay_status(self, symbol: str) -> FeedStatus:
        return self._replay.status(_symbol(symbol))

    def replay_clock_text(self) -> str:
        """The replay clock in exchange time, e.g. "Mon 2026-11-30 10:15:00 ET"."""
        return self._replay.clock_text()

    def replay_paused(self) -> bool:
        return self._replay_clock.paused

    def replay_speed(self) -> float:
        return self._replay_clock.speed


def _symbol(symbol: str) -> str:
    sym = (symbol or "").strip().upper()
    if not sym or len(sym) > 32:
        raise InputError("symbol", "is required (at most 32 characters)")
    return sym
