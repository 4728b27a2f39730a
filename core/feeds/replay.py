"""The embedded replay feed: real bundled bars replayed as if live (the default data source).

The real session chosen for a symbol is replayed as "today" and the consecutive bundled sessions
before it as the previous trading days; sessions bundled *after* it are not replayed (they would
be future days). Each real session lands on a calendar session of the same length (full → full,
half-day → half-day, skipping calendar days of the other kind), shifted by its own open-to-open
offset, so DST and early closes stay right and resampling and session resets follow the real
session. Bars are released by one shared ReplayClock, with intra-bar updates that walk
open → low/high → close so a live chart visibly ticks. Choosing a session for one symbol does not
move the clock (unless that session can only be replayed on another day, e.g. a half-day): the
other symbols keep streaming. The status always says that this is replayed data and from which
real days.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from core.clock import ReplayClock
from core.errors import DataError, InputError
from core.events import FeedState, FeedStatus
from core.feeds.base import BarUpdate, Feed
from core.market.bars import Bar, Bars
from core.market.bundle import BarLibrary
from core.market.calendar import EXCHANGE_TZ, ExchangeCalendar, calendar_for
from core.market.intervals import D1, M1, Interval
from core.market.resample import BarAggregator, bucket_starts, resample

log = logging.getLogger(__name__)

MIN_NS = 60_000_000_000
REAL_UPDATE_S = 0.25  # at most ~4 intra-bar updates per real second per stream
MAX_TICKS_PER_BAR = 12
SOURCE = "replay"
ATTRIBUTION = "QuantConnect Lean sample data, Apache-2.0"
PARTIAL_BELOW = 0.5   # a session with bars for under half its scheduled minutes is partial (a stub)
SAME_LENGTH_LOOKBACK = 30  # calendar sessions searched for one of the same length before falling back to kind


@dataclass(frozen=True, slots=True)
class ReplaySession:
    """One bundled real session of a symbol and how much of it the bundle covers."""

    day: date
    bars: int                 # bundled minute bars inside the session
    scheduled_minutes: int    # the exchange's open → close length that day
    half_day: bool

    @property
    def coverage(self) -> float:
        return self.bars / self.scheduled_minutes if self.scheduled_minutes else 0.0

    @property
    def partial(self) -> bool:
        """Fewer than PARTIAL_BELOW of the scheduled minutes have bars: a stub, not a trading day."""
        return self.coverage < PARTIAL_BELOW

    @property
    def label(self) -> str:
        """What a session list shows: '2013-10-15 · partial (117 of 1440 min)'."""
        notes = []
        if self.half_day:
            notes.append("half-day")
        if self.partial:
            notes.append(f"partial ({self.bars} of {self.scheduled_minutes} min)")
        return self.day.isoformat() + "".join(f" · {n}" for n in notes)


@dataclass(frozen=True, slots=True)
class ReplayWindow:
    """Real sessions of one symbol mapped onto calendar sessions ending at the target day."""

    symbol: str
    real_sessions: tuple[date, ...]   # the consecutive block ending at the chosen session, oldest first
    live_index: int                   # which of them is replayed as "today" (always the last)
    bars: Bars                        # minute bars of the block inside its sessions, already shifted
    daily_history: Bars               # daily bars before the block, shifted
    target_day: date                  # the calendar session the chosen real session replays as
    target_sessions: tuple[date, ...] = ()  # the calendar session of each real session

    @property
    def live_real_day(self) -> date:
        return self.real_sessions[self.live_index]

    def finished(self, now_ns: int) -> bool:
        return len(self.bars) == 0 or now_ns >= int(self.bars.ts[-1]) + MIN_NS


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
        self._sessions: dict[str, list[ReplaySession]] = {}
        self._generation = 0                       # clock jumps: every stream re-positions
        self._symbol_gen: Counter[str] = Counter()  # a session choice: that symbol's streams restart
        self._changed = asyncio.Event()
        self._streaming: Counter[str] = Counter()  # open stream() iterators per symbol
        self._subscribed: tuple[str, ...] = ()     # what the manager streams (set_subscribed)

    # -- catalogue ----------------------------------------------------------------------------
    def symbols(self) -> list[str]:
        return self._lib.minute_symbols()

    def session_info(self, symbol: str) -> list[ReplaySession]:
        """Every bundled real session of symbol, oldest first, with its bar coverage; stubs are
        marked `partial` (listed, never the default)."""
        symbol = symbol.upper()
        info = self._sessions.get(symbol)
        if info is None:
            if symbol not in self.symbols():
                raise InputError("symbol", f"replay has no data for {symbol}; "
                                           f"choose one of {', '.join(self.symbols())}")
            cal = calendar_for(symbol)
            idx, inside = cal.session_index(self._lib.minute(symbol).ts)
            days, counts = np.unique(idx[inside], return_counts=True)
            info = self._sessions[symbol] = [
                ReplaySession(pd.Timestamp(cal.session_dates[i]).date(), int(n),
                              int((cal.closes_ns[i] - cal.opens_ns[i]) // MIN_NS), cal.is_half_day(int(i)))
                for i, n in zip(days, counts, strict=True)]
        return list(info)

    def sessions(self, symbol: str, *, include_partial: bool = True) -> list[date]:
        """The real sessions bundled for symbol that have bars (see session_info for coverage)."""
        return [s.day for s in self.session_info(symbol) if include_partial or not s.partial]

    def prepare(self) -> None:
        """Build every symbol's replay window now (≈ 25 ms each), so switching symbols later does
        no data work on the GUI thread. Call from a worker thread before streaming starts."""
        for sym in self.symbols():
            self.window(sym)

    # -- the mapping --------------------------------------------------------------------------
    def _block(self, cal: ExchangeCalendar, days: list[date], pick: date) -> tuple[list[date], int]:
        """The consecutive bundled sessions ending at `pick` (later ones are never replayed)."""
        pos = [cal.index_of(d) for d in days]
        k = days.index(pick)
        lo = k
        while lo > 0 and pos[lo - 1] == pos[lo] - 1:
            lo -= 1
        return days[lo:k + 1], k - lo

    def _today_index(self, cal: ExchangeCalendar) -> int:
        return cal.session_on_or_before(self._today)

    def default_session(self, symbol: str) -> date:
        """A full session (neither partial nor a half-day, so every symbol's default replays on
        the same full trading day) with the most consecutive sessions before it (chart history);
        the latest on ties."""
        info = self.session_info(symbol)
        cal = calendar_for(symbol)
        whole = [s for s in info if not s.partial] or info
        candidates = [s for s in whole if not s.half_day] or whole
        days = [s.day for s in info]
        best, best_run = candidates[-1].day, -1
        for s in candidates:
            _, k = self._block(cal, days, s.day)
            if k > best_run or (k == best_run and s.day > best):
                best, best_run = s.day, k
        return best

    def _targets(self, cal: ExchangeCalendar, real_idx: np.ndarray) -> np.ndarray:
        """Calendar sessions for the real sessions (oldest first): the last lands on the latest
        session on or before today of the same length, each earlier one on the previous session
        of its length (so a full day never lands on a half-day, nor a half-day on a full day)."""
        lengths = cal.closes_ns - cal.opens_ns
        out: list[int] = []
        t = self._today_index(cal)
        for r in real_idx[::-1]:
            found = -1
            for j in range(t, max(-1, t - SAME_LENGTH_LOOKBACK), -1):
                if lengths[j] == lengths[r]:
                    found = j
                    break
            if found < 0:  # an unusual length: settle for the same kind (full / half-day)
                kind = cal.is_half_day(int(r))
                found = next((j for j in range(t, -1, -1) if cal.is_half_day(j) == kind), -1)
            if found < 0:
                raise DataError(f"replay: no calendar session like {pd.Timestamp(cal.session_dates[r]).date()}")
            out.append(found)
            t = found - 1
        return np.array(out[::-1], dtype=np.int64)

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
        real_idx = np.array([cal.index_of(d) for d in block])
        tgt_idx = self._targets(cal, real_idx)
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
        targets = tuple(pd.Timestamp(cal.session_dates[i]).date() for i in tgt_idx)
        return ReplayWindow(symbol, tuple(block), live, bars, hist, targets[-1], targets)

    def start_time_ns(self, symbol: str) -> int:
        """Clock start: `start_minutes_after_open` into the regular hours of the replayed day
        (09:30 ET for equities and for futures alike, never the Globex evening open)."""
        w = self.window(symbol)
        cal = calendar_for(symbol)
        rth_open, _ = cal.rth_bounds_ns(cal.index_of(w.target_day))
        return rth_open + self._start_after * MIN_NS

    # -- controls -----------------------------------------------------------------------------
    def set_primary(self, symbol: str) -> None:
        """Deprecated, kept for one release: the status no longer depends on a chosen symbol.
        Only builds the symbol's window (validating it)."""
        self.window(symbol)

    def choose_session(self, symbol: str, real_day: date) -> None:
        """Pick the real session replayed as today for `symbol` (takes effect on next use)."""
        symbol = symbol.upper()
        if real_day not in self.sessions(symbol):
            raise InputError("date", f"{real_day} is not bundled for {symbol}; "
                                     f"choose one of {', '.join(map(str, self.sessions(symbol)))}")
        self._choice[symbol] = real_day
        self._windows.pop(symbol, None)

    def jump_to_session(self, symbol: str, real_day: date, minutes_after_open: int | None = None) -> None:
        """Replay another bundled real session of `symbol` as today; other symbols keep theirs.

        The shared clock stays where it is when the new session's replayed day contains it
        (the usual case: every symbol's chosen session replays as today). Otherwise (a half-day
        replays on the latest half-day) it moves to the same New York time of day on that day,
        clamped into the session. `minutes_after_open` instead puts the clock that many minutes
        after the regular open of the replayed day (this moves it for every symbol)."""
        self.choose_session(symbol, real_day)
        sym = symbol.upper()
        if minutes_after_open is not None:
            self._start_after = minutes_after_open
            self._clock.jump(self.start_time_ns(sym))
            self._bump()
            return
        target = self._clock_target(sym)
        if target is not None:
            self._clock.jump(target)
            self._bump()
        else:
            self._symbol_gen[sym] += 1
            self._wake()

    def _clock_target(self, symbol: str) -> int | None:
        """Where the clock must go for symbol's chosen session to be on its replayed day; None
        when it already is."""
        w = self.window(symbol)
        cal = calendar_for(symbol)
        i = cal.index_of(w.target_day)
        open_ns, close_ns = int(cal.opens_ns[i]), int(cal.closes_ns[i])
        now = self._clock.now_ns()
        if open_ns <= now < close_ns:
            return None
        now_et = pd.Timestamp(now, tz="UTC").tz_convert(EXCHANGE_TZ)
        same_time = pd.Timestamp.combine(w.target_day, now_et.time()).tz_localize(EXCHANGE_TZ).value
        return int(min(max(same_time, open_ns), close_ns - MIN_NS))

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
        self._wake()

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def clock_text(self) -> str:
        """The replay clock in exchange time, for the window: 'Mon 2026-11-30 10:15:00 ET'."""
        now = pd.Timestamp(self._clock.now_ns(), tz="UTC").tz_convert(EXCHANGE_TZ)
        return now.strftime("%a %Y-%m-%d %H:%M:%S ET")

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
        self.window(symbol)  # an unknown symbol fails here, before it counts as streaming
        self._streaming[symbol] += 1
        try:
            async for upd in self._stream(symbol, interval):
                yield upd
        finally:
            self._streaming[symbol] -= 1
            if self._streaming[symbol] <= 0:
                del self._streaming[symbol]

    def _gen(self, symbol: str) -> tuple[int, int]:
        return self._generation, self._symbol_gen[symbol]

    async def _stream(self, symbol: str, interval: Interval) -> AsyncIterator[BarUpdate]:
        cal = calendar_for(symbol)
        while True:
            gen = self._gen(symbol)
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
            while pos < len(w.bars) and gen == self._gen(symbol):
                bar = w.bars.bar(pos)
                n = self._ticks_per_bar()
                for k in range(1, n + 1):
                    frac = k / n
                    await self._sleep_until(bar.ts + int(frac * MIN_NS))
                    if gen != self._gen(symbol):
                        break
                    part = _partial_bar(bar, frac) if k < n else bar
                    closed = k == n
                    if agg is None:
                        yield BarUpdate(symbol, interval, part, closed, part.close)
                    else:
                        for out_bar, out_closed in agg.update(part, closed):
                            yield BarUpdate(symbol, interval, out_bar, out_closed, part.close)
                pos += 1
            while gen == self._gen(symbol):
                await self._changed.wait()  # finished: idle until a jump or a new session

    async def _sleep_until(self, ts: int) -> None:
        changed = self._changed
        sleeper = asyncio.ensure_future(self._clock.sleep_until(ts))
        waiter = asyncio.ensure_future(changed.wait())
        try:
            await asyncio.wait({sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (sleeper, waiter):
                t.cancel()

    def _ticks_per_bar(self) -> int:
        real_s = 60.0 / self._clock.speed
        return int(max(1, min(MAX_TICKS_PER_BAR, real_s // REAL_UPDATE_S)))

    def generation(self) -> int:
        return self._generation

    def set_subscribed(self, symbols: Sequence[str]) -> None:
        self._subscribed = tuple(s.upper() for s in symbols)

    def streaming(self) -> list[str]:
        """Symbols subscribed through the manager or with an open stream now: what the overall
        status describes."""
        return sorted(set(self._streaming) | set(self._subscribed))

    def status(self, symbol: str | None = None) -> FeedStatus:
        """The replay as a whole (symbol=None): every streamed symbol's real day and the day it
        replays as, the clock, speed and state (FINISHED once every streamed symbol's session
        has ended); or one symbol's replay. Both always say "replayed" and "not live data".

        extra: clock_et (the replay clock, see clock_text), symbols, real_session:<SYM>,
        target_session:<SYM>; plus real_session and target_session when it describes exactly one
        symbol."""
        now = self._clock.now_ns()
        speed = self._clock.speed
        paused = self._clock.paused
        syms = [symbol.upper()] if symbol is not None else self.streaming()
        parts: list[str] = []
        extra = {"clock_et": self.clock_text(), "symbols": ",".join(syms)}
        done_all = bool(syms)
        for sym in syms:
            try:
                w = self.window(sym)
            except InputError:
                return FeedStatus(SOURCE, FeedState.ERROR, f"replay has no data for {sym}", replayed=True,
                                  speed=speed, extra=extra)
            done = w.finished(now)
            done_all &= done
            parts.append(f"{sym} {w.live_real_day:%Y-%m-%d} as {w.target_day:%Y-%m-%d}"
                         + (" (session finished)" if done else ""))
            extra[f"real_session:{sym}"] = w.live_real_day.isoformat()
            extra[f"target_session:{sym}"] = w.target_day.isoformat()
        if len(syms) == 1:
            extra["real_session"] = extra[f"real_session:{syms[0]}"]
            extra["target_session"] = extra[f"target_session:{syms[0]}"]
        state = FeedState.FINISHED if done_all else FeedState.PAUSED if paused else FeedState.REPLAY
        what = "replayed: " + ", ".join(parts) if parts else "replayed bundled sessions (no symbol streaming)"
        # The clock is in extra, not in the detail: the detail changes only when something a
        # trader must notice changes (a new health event per change), not every replayed second.
        detail = (f"{what} · {speed:g}×" + (" (paused)" if paused else "")
                  + f" · {ATTRIBUTION} · not live data")
        return FeedStatus(SOURCE, state, detail, replayed=True, speed=speed, extra=extra)


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
