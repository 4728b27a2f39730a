"""Session-anchored resampling: buckets start at the session open (09:30 ET for US equities,
the Globex open for CME futures), so a 1h bar is 09:30–10:30, never 09:00–10:00."""

from __future__ import annotations

import numpy as np

from core.market.bars import Bar, Bars
from core.market.calendar import ExchangeCalendar
from core.market.intervals import Interval
from core.market.sessions import session_ids


def _anchors(ts: np.ndarray, cal: ExchangeCalendar) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per bar: session index (-1 when the day has no session), its open and close (UTC ns)."""
    if cal.is_futures:
        idx, _ = cal.session_index(ts)
    else:
        days = session_ids(ts, cal).astype("datetime64[D]")
        idx = np.searchsorted(cal.session_dates, days)
        idx_c = np.minimum(idx, len(cal.session_dates) - 1)
        idx = np.where(cal.session_dates[idx_c] == days, idx_c, -1)
    safe = np.maximum(idx, 0)
    return idx, cal.opens_ns[safe], cal.closes_ns[safe]


def bucket_starts(ts_ns: np.ndarray, interval: Interval, cal: ExchangeCalendar,
                  *, extended: bool = False) -> np.ndarray:
    """Start of the interval bucket of each timestamp; -1 for bars that fall outside.

    extended=False drops pre/post-market bars; with extended=True they are binned on the same
    grid (anchored at the open) so a premarket 1h bar is 08:30–09:30.
    """
    ts = np.asarray(ts_ns, dtype=np.int64)
    idx, opens, closes = _anchors(ts, cal)
    valid = idx >= 0
    if not extended:
        valid &= (ts >= opens) & (ts < closes)
    if interval.is_daily:
        out = opens.copy()
    else:
        out = opens + np.floor_divide(ts - opens, interval.ns) * interval.ns
    out[~valid] = -1
    return out


def resample(bars: Bars, interval: Interval, cal: ExchangeCalendar, *, extended: bool = False) -> Bars:
    """Aggregate bars into `interval` buckets anchored at each session open. Daily bars are
    stamped at the session open. Bars outside any bucket are dropped."""
    if not len(bars):
        return Bars.empty()
    key = bucket_starts(bars.ts, interval, cal, extended=extended)
    keep = key >= 0
    if not keep.all():
        bars, key = bars[keep], key[keep]
        if not len(bars):
            return Bars.empty()
    starts = np.concatenate(([0], np.flatnonzero(np.diff(key)) + 1))
    ends = np.concatenate((starts[1:], [len(key)])) - 1
    return Bars(
        key[starts].copy(),
        bars.open[starts].copy(),
        np.maximum.reduceat(bars.high, starts),
        np.minimum.reduceat(bars.low, starts),
        bars.close[ends].copy(),
        np.add.reduceat(bars.volume, starts),
    )


class BarAggregator:
    """Builds live bars of a larger interval from a stream of 1-minute updates.

    Feed it every update of the 1-minute bar (in progress or closed); it returns the current
    bucket bar and whether that bucket is now complete. Used by the replay feed and by vendor
    feeds that only stream minute aggregates.
    """

    def __init__(self, interval: Interval, cal: ExchangeCalendar, base: Interval, *,
                 extended: bool = False) -> None:
        self.interval = interval
        self.base = base
        self._cal = cal
        self._extended = extended
        self._bucket = -1
        self._bucket_end = -1
        self._done: Bar | None = None      # closed base bars of the bucket, merged
        self._partial: Bar | None = None   # the in-progress base bar

    def _current(self) -> Bar | None:
        parts = [b for b in (self._done, self._partial) if b is not None]
        if not parts:
            return None
        out = parts[0]
        for b in parts[1:]:
            out = out.merged(b)
        return Bar(self._bucket, out.open, out.high, out.low, out.close, out.volume)

    def update(self, bar: Bar, closed: bool) -> list[tuple[Bar, bool]]:
        """Returns the (bar, closed) updates to publish for this interval, oldest first."""
        out: list[tuple[Bar, bool]] = []
        start = int(bucket_starts(np.array([bar.ts]), self.interval, self._cal,
                                  extended=self._extended)[0])
        if start < 0:
            return out
        if start != self._bucket:
            prev = self._current()
            if prev is not None:
                out.append((prev, True))  # the new bucket began: the old one is final
            self._bucket, self._done, self._partial = start, None, None
            self._bucket_end = self._end_of(start)
        if closed:
            self._done = bar if self._done is None else self._done.merged(bar)
            self._partial = None
        else:
            self._partial = bar
        cur = self._current()
        assert cur is not None
        complete = closed and bar.ts + self.base.ns >= self._bucket_end
        out.append((cur, complete))
        if complete:
            self._bucket, self._done, self._partial = -1, None, None
        return out

    def _end_of(self, start: int) -> int:
        _, _, closes = _anchors(np.array([start]), self._cal)
        close = int(closes[0])
        if self.interval.is_daily:
            return close
        end = start + self.interval.ns
        return min(end, close) if start < close else end
