"""The embedded replay feed: real bundled bars replayed as if live (the default data source).

A block of consecutive real sessions is mapped onto the most recent sessions of today's exchange
calendar (the replayed session becomes "today", earlier ones become the previous days, each
shifted by its own open-to-open offset so DST and half-days stay right). Bars are released by the
kernel's ReplayClock, with intra-bar updates that walk open → low/high → close so a live chart
visibly ticks. The status always says that this is replayed data and from which real day.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from core.clock import ReplayClock
from core.errors import InputError
from core.events import FeedState, FeedStatus
from core.feeds.base import BarUpdate, Feed
from core.market.bars import Bar, Bars
from core.market.bundle import BarLibrary
from core.market.calendar import ExchangeCalendar, calendar_for
from core.market.intervals import D1, M1, Interval
from core.market.resample import BarAggregator, bucket_starts, resample

log = logging.getLogger(__name__)

MIN_NS = 60_000_000_000
REAL_UPDATE_S = 0.25  # at most ~4 intra-bar updates per real second per stream
MAX_TICKS_PER_BAR = 12
SOURCE = "replay"
ATTRIBUTION = "QuantConnect Lean sample data, Apache-2.0"


@dataclass(frozen=True, slots=True)
class ReplayWindow:
    """Real sessions of one symbol mapped onto calendar sessions ending at the target day."""

    symbol: str
    real_sessions: tuple[date, ...]   # the consecutive block, oldest first
    live_index: int                   # which of them is replayed as "today"
    bars: Bars                        # RTH minute bars of the block, already shifted
    daily_history: Bars               # daily bars before the block, shifted
    target_day: date

    @property
    def live_real_day(self) -> date:
        return self.real_sessions[self.live_index]


class ReplayFeed(Feed):
    name = SOURCE

    def __init__(self, library: BarLibrary, clock: ReplayClock, *, today: date,
                 start_minutes_after_open: int = 45) -> None:
        self._lib = library
        self._clock = clock
        self._today = today
        self._start_after = start_minutes_after_open
        self._windows: dict[str, ReplayWindow] = {}
        self._choice: dict[str, date] = {}
        self._sessions: dict[str, list[date]] = {}
        self._generation = 0
        self._changed = asyncio.Event()
        self._primary: str | None = None

    # -- catalogue ----------------------------------------------------------------------------
    def symbols(self) -> list[str]:
        return self._lib.minute_symbols()

    def sessions(self, symbol: str) -> list[date]:
        """The real sessions bundled for symbol that have regular-hours bars."""
        symbol = symbol.upper()
        days = self._sessions.get(symbol)
        if days is None:
            cal = calendar_for(symbol)
            idx, inside = cal.session_index(self._lib.minute(symbol).ts)
            days = self._sessions[symbol] = [pd.Timestamp(cal.session_dates[i]).date()
                                             for i in np.unique(idx[inside])]
        return list(days)

    def prepare(self) -> None:
        """Build every symbol's replay window now (≈ 25 ms each), so switching symbols later does
        no data work on the GUI thread. Call from a worker thread before streaming starts."""
        for sym in self.symbols():
            self.window(sym)

    # -- the mapping --------------------------------------------------------------------------
    def _block(self, cal: ExchangeCalendar, days: list[date], pick: date) -> tuple[list[date], int]:
        pos = [cal.index_of(d) for d in days]
        k = days.index(pick)
        lo = k
        while lo > 0 and pos[lo - 1] == pos[lo] - 1:
            lo -= 1
        hi = k
        while hi + 1 < len(days) and pos[hi + 1] == pos[hi] + 1:
            hi += 1
        return days[lo:hi + 1], k - lo

    def default_session(self, symbol: str) -> date:
        """The latest session that has the most consecutive sessions before it (chart history)."""
        days = self.sessions(symbol)
        cal = calendar_for(symbol)
        best, best_run = days[-1], -1
        for d in days:
            _, k = self._block(cal, days, d)
            if k > best_run or (k == best_run and d > best):
                best, best_run = d, k
        return best

    def window(self, symbol: str) -> ReplayWindow:
        symbol = symbol.upper()
        w = self._windows.get(symbol)
        if w is None:
            w = self._windows[symbol] = self._build_window(symbol)
        return w

    def _build_window(self, symbol: str) -> ReplayWindow:
        if symbol not in self.symbols():
            raise InputError("symbol", f"replay has no data for {symbol}; choose one of {', '.join(self.symbols())}")
        cal = calendar_for(symbol)
        days = self.sessions(symbol)
        pick = self._choice.get(symbol) or self.default_session(symbol)
        block, live = self._block(cal, days, pick)
        target_i = cal.session_on_or_before(self._today)
        real_idx = np.array([cal.index_of(d) for d in block])
        tgt_idx = target_i - (live - np.arange(len(block)))
        deltas = cal.opens_ns[tgt_idx] - cal.opens_ns[real_idx]
        raw = self._lib.minute(symbol)
        sess, inside = cal.session_index(raw.ts)
        parts = []
        for r, d in zip(real_idx, deltas, strict=True):
            sel = inside & (sess == r)
            parts.append(raw[sel].shifted(int(d)))
        bars = parts[0]
        for p in parts[1:]:
            bars = bars.concat(p)
        # Daily bars before the block: the k-th previous real session maps to the k-th previous
        # calendar session before the block's first target day.
        daily = self._lib.daily(symbol)
        hist = daily.between(None, int(cal.opens_ns[real_idx[0]]))
        if len(hist):
            d_real, _ = cal.session_index(hist.ts)
            d_tgt = tgt_idx[0] - (real_idx[0] - d_real)
            ok = d_tgt >= 0
            hist = Bars(cal.opens_ns[d_tgt[ok]], hist.open[ok], hist.high[ok], hist.low[ok],
                        hist.close[ok], hist.volume[ok])
        return ReplayWindow(symbol, tuple(block), live, bars, hist,
                            pd.Timestamp(cal.session_dates[target_i]).date())

    def start_time_ns(self, symbol: str) -> int:
        """Clock start: `start_minutes_after_open` into the replayed session."""
        w = self.window(symbol)
        cal = calendar_for(symbol)
        open_ns = int(cal.opens_ns[cal.index_of(w.target_day)])
        return open_ns + self._start_after * MIN_NS

    # -- controls -----------------------------------------------------------------------------
    def set_primary(self, symbol: str) -> None:
        """The symbol whose session the status describes (the chart's symbol)."""
        self.window(symbol)
        self._primary = symbol.upper()

    def choose_session(self, symbol: str, real_day: date) -> None:
        """Pick the real session replayed as today for `symbol` (takes effect on next use)."""
        symbol = symbol.upper()
        if real_day not in self.sessions(symbol):
            raise InputError("date", f"{real_day} is not bundled for {symbol}; "
                                     f"choose one of {', '.join(map(str, self.sessions(symbol)))}")
        self._choice[symbol] = real_day
        self._windows.pop(symbol, None)

    def jump_to_session(self, symbol: str, real_day: date, minutes_after_open: int | None = None) -> None:
        """Replay another bundled real session of `symbol` as today."""
        self.choose_session(symbol, real_day)
        if minutes_after_open is not None:
            self._start_after = minutes_after_open
        self._clock.jump(self.start_time_ns(symbol))
        self._bump()

    def jump_to_time(self, ts_ns: int) -> None:
        self._clock.jump(ts_ns)
        self._bump()

    def step(self, symbol: str) -> None:
        """While paused: advance to the close of the current minute bar of `symbol`."""
        w = self.window(symbol)
        now = self._clock.now_ns()
        i = int(np.searchsorted(w.bars.ts + MIN_NS, now, side="right"))
        if i < len(w.bars):
            self._clock.jump(int(w.bars.ts[i]) + MIN_NS)

    def _bump(self) -> None:
        self._generation += 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # -- Feed interface -----------------------------------------------------------------------
    def _visible_minutes(self, w: ReplayWindow, now: int) -> Bars:
        """Closed minute bars plus the in-progress one at `now`."""
        closed_n = int(np.searchsorted(w.bars.ts + MIN_NS, now, side="right"))
        out = w.bars[:closed_n]
        if closed_n < len(w.bars) and w.bars.ts[closed_n] <= now:
            partial = _partial_bar(w.bars.bar(closed_n), (now - int(w.bars.ts[closed_n])) / MIN_NS)
            out = out.concat(Bars.from_bars([partial]))
        return out

    async def history(self, symbol: str, interval: Interval, *, start_ns: int | None = None,
                      end_ns: int | None = None, limit: int | None = None) -> Bars:
        w = self.window(symbol)
        cal = calendar_for(symbol)
        now = self._clock.now_ns()
        minutes = self._visible_minutes(w, now)
        bars = minutes if interval == M1 else resample(minutes, interval, cal)
        if interval == D1 and len(w.daily_history):
            bars = w.daily_history.concat(bars)
        bars = bars.between(start_ns, end_ns)
        return bars.tail(limit) if limit else bars

    async def stream(self, symbol: str, interval: Interval) -> AsyncIterator[BarUpdate]:  # type: ignore[override]
        symbol = symbol.upper()
        cal = calendar_for(symbol)
        while True:
            gen = self._generation
            w = self.window(symbol)
            agg = None if interval == M1 else BarAggregator(interval, cal, M1)
            now = self._clock.now_ns()
            pos = int(np.searchsorted(w.bars.ts + MIN_NS, now, side="right"))
            if agg is not None and pos < len(w.bars):
                # Seed the aggregator with the closed minutes of the current bucket.
                b0 = int(bucket_starts(w.bars.ts[pos:pos + 1], interval, cal)[0])
                first = int(np.searchsorted(w.bars.ts, b0, side="left"))
                for j in range(first, pos):
                    agg.update(w.bars.bar(j), True)
            while pos < len(w.bars) and gen == self._generation:
                bar = w.bars.bar(pos)
                n = self._ticks_per_bar()
                for k in range(1, n + 1):
                    frac = k / n
                    await self._sleep_until(bar.ts + int(frac * MIN_NS), gen)
                    if gen != self._generation:
                        break
                    part = _partial_bar(bar, frac) if k < n else bar
                    closed = k == n
                    if agg is None:
                        yield BarUpdate(symbol, interval, part, closed, part.close)
                    else:
                        for out_bar, out_closed in agg.update(part, closed):
                            yield BarUpdate(symbol, interval, out_bar, out_closed, part.close)
                pos += 1
            if gen == self._generation:
                await self._wait_change(gen)  # finished: idle until a jump

    async def _sleep_until(self, ts: int, gen: int) -> None:
        changed = self._changed
        sleeper = asyncio.ensure_future(self._clock.sleep_until(ts))
        waiter = asyncio.ensure_future(changed.wait())
        try:
            await asyncio.wait({sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (sleeper, waiter):
                t.cancel()

    async def _wait_change(self, gen: int) -> None:
        while gen == self._generation:
            await self._changed.wait()

    def _ticks_per_bar(self) -> int:
        real_s = 60.0 / self._clock.speed
        return int(max(1, min(MAX_TICKS_PER_BAR, real_s // REAL_UPDATE_S)))

    def generation(self) -> int:
        return self._generation

    def status(self) -> FeedStatus:
        sym = self._primary or "SPY"
        try:
            w = self.window(sym)
        except InputError:
            return FeedStatus(SOURCE, FeedState.ERROR, f"replay has no data for {sym}", replayed=True)
        now = self._clock.now_ns()
        done = len(w.bars) == 0 or now >= int(w.bars.ts[-1]) + MIN_NS
        state = FeedState.FINISHED if done else FeedState.PAUSED if self._clock.paused else FeedState.REPLAY
        speed = self._clock.speed
        detail = (f"real {sym} bars of {w.live_real_day:%Y-%m-%d} replayed as "
                  f"{w.target_day:%Y-%m-%d} at {speed:g}×" + (" (paused)" if self._clock.paused else "")
                  + (" — session finished" if done else "") + f" · {ATTRIBUTION} · not live data")
        return FeedStatus(SOURCE, state, detail, replayed=True, speed=speed,
                          extra={"real_session": w.live_real_day.isoformat(),
                                 "target_session": w.target_day.isoformat()})


def intrabar_path(bar: Bar) -> tuple[float, float, float, float]:
    """The order in which a bar's extremes were most plausibly visited: an up bar dips first."""
    if bar.close >= bar.open:
        return bar.open, bar.low, bar.high, bar.close
    return bar.open, bar.high, bar.low, bar.close


def _partial_bar(bar: Bar, frac: float) -> Bar:
    """The bar as it looked `frac` of the way through its minute (0 < frac < 1)."""
    frac = min(max(frac, 0.0), 1.0)
    pts = intrabar_path(bar)
    x = frac * 3.0
    seg = min(int(x), 2)
    price = pts[seg] + (pts[seg + 1] - pts[seg]) * (x - seg)
    seen = [*pts[: seg + 1], price]
    return Bar(bar.ts, bar.open, max(seen), min(seen), price, bar.volume * frac)
