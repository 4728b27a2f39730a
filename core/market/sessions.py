"""Session membership and session phases (premarket … power_hour … postmarket) for bars.

Phases follow the trader's cash-session clock in New York time and stretch or shrink with the
exchange calendar: on a 13:00 half-day the last hour is still the power hour.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from core.market.calendar import ExchangeCalendar

MIN_NS = 60_000_000_000
DAY_NS = 86_400 * 1_000_000_000


class SessionPhase(IntEnum):
    CLOSED = 0
    PREMARKET = 1
    OPEN_DRIVE = 2   # first 30 minutes
    MORNING = 3      # until 11:30 ET
    MIDDAY = 4       # 11:30 until 14:00 ET
    AFTERNOON = 5    # 14:00 until the last hour
    POWER_HOUR = 6   # the last hour before the close
    POSTMARKET = 7

    @property
    def label(self) -> str:
        return self.name.lower()


HOUR_NS = 60 * MIN_NS
_TABLE_YEARS = (1970, 2100)   # New York offsets tabulated over these years; pandas outside them
_TABLE_END_NS = int(np.datetime64(f"{_TABLE_YEARS[1]}-01-01", "ns").astype(np.int64))
_et_table: tuple[np.ndarray, np.ndarray] | None = None


def _pandas_offset_ns(ts: np.ndarray) -> np.ndarray:
    import pandas as pd  # local: keeps import light for callers that never need phases

    idx = pd.DatetimeIndex(ts.view("datetime64[ns]")).tz_localize("UTC").tz_convert("America/New_York")
    return np.asarray(idx.tz_localize(None).asi8 - ts, dtype=np.int64)


def _offset_table() -> tuple[np.ndarray, np.ndarray]:
    """(UTC instants where the New York offset changes, the offset from each instant on), built once
    from pandas' tz database: a daily grid finds the days with a change, an hourly grid inside them
    the hour (US transitions fall on whole hours). Bars near a transition are checked against pandas
    in tests/test_calendar_sessions.py."""
    global _et_table
    if _et_table is None:
        a = np.datetime64(f"{_TABLE_YEARS[0]}-01-01", "ns").astype(np.int64)
        b = np.datetime64(f"{_TABLE_YEARS[1]}-01-01", "ns").astype(np.int64)
        days = np.arange(a, b + DAY_NS, DAY_NS, dtype=np.int64)
        off = _pandas_offset_ns(days)
        changed = np.flatnonzero(off[1:] != off[:-1])
        hours = (days[changed][:, None] + HOUR_NS * np.arange(1, 25)[None, :]).ravel()
        h_off = _pandas_offset_ns(hours).reshape(len(changed), 24)
        first = np.argmax(h_off != off[changed][:, None], axis=1)
        starts = np.concatenate([[a], hours.reshape(len(changed), 24)[np.arange(len(changed)), first]])
        _et_table = starts, np.concatenate([[off[0]], h_off[np.arange(len(changed)), first]])
    return _et_table


def et_offset_ns(ts: np.ndarray) -> np.ndarray:
    """UTC→New York offset per timestamp (DST-aware) in ns: a lookup in the tabulated transitions
    (a live rescan converts a few bars per close: pandas' per-call cost dominated), pandas outside
    the table's years."""
    ts = np.asarray(ts, dtype=np.int64)
    starts, offs = _offset_table()
    if not len(ts) or ts.min() < starts[0] or ts.max() >= _TABLE_END_NS:
        return _pandas_offset_ns(ts) if len(ts) else np.zeros(0, dtype=np.int64)
    return offs[np.searchsorted(starts, ts, side="right") - 1]


def session_ids(ts_ns: np.ndarray, cal: ExchangeCalendar) -> np.ndarray:
    """An id per bar, equal for bars of the same trading session (VWAP resets on a change).

    Equities: the New York calendar date (so pre/post-market bars join that day's session).
    Futures: the calendar's Globex session (which starts the evening before).
    """
    ts = np.asarray(ts_ns, dtype=np.int64)
    if cal.is_futures:
        idx, _ = cal.session_index(ts)
        return idx.astype(np.int64)
    return (ts + et_offset_ns(ts)) // DAY_NS


def in_regular_hours(ts_ns: np.ndarray, cal: ExchangeCalendar) -> np.ndarray:
    """True for bars inside a regular session (09:30–16:00 ET equities; Globex hours futures)."""
    _, inside = cal.session_index(np.asarray(ts_ns, dtype=np.int64))
    return inside


def phases(ts_ns: np.ndarray, cal: ExchangeCalendar) -> np.ndarray:
    """SessionPhase codes (uint8) for each timestamp, vectorised."""
    ts = np.asarray(ts_ns, dtype=np.int64)
    out = np.zeros(len(ts), dtype=np.uint8)
    if not len(ts):
        return out
    et_day = (ts + et_offset_ns(ts)) // DAY_NS
    day_dates = et_day.astype("datetime64[D]")
    pos = np.searchsorted(cal.session_dates, day_dates)
    pos_c = np.minimum(pos, len(cal.session_dates) - 1)
    is_day = cal.session_dates[pos_c] == day_dates
    # Regular-hours bounds of the session on that New York date (futures: the 09:30 cash open).
    rth_open = np.zeros(len(ts), dtype=np.int64)
    rth_close = np.zeros(len(ts), dtype=np.int64)
    for i in np.unique(pos_c[is_day]):
        o, c = cal.rth_bounds_ns(int(i))
        sel = is_day & (pos_c == i)
        rth_open[sel], rth_close[sel] = o, c
    m = (ts - rth_open) // MIN_NS  # minutes since the cash open
    to_close = (rth_close - ts) // MIN_NS
    during = is_day & (ts >= rth_open) & (ts < rth_close)
    out[is_day & (ts < rth_open)] = SessionPhase.PREMARKET
    out[is_day & (ts >= rth_close)] = SessionPhase.POSTMARKET
    last_hour = during & (to_close <= 60)
    out[during & (m < 30)] = SessionPhase.OPEN_DRIVE
    out[during & (m >= 30) & (m < 120)] = SessionPhase.MORNING
    out[during & (m >= 120) & (m < 270)] = SessionPhase.MIDDAY
    out[during & (m >= 270)] = SessionPhase.AFTERNOON
    out[last_hour & (m >= 30)] = SessionPhase.POWER_HOUR
    if cal.is_futures:
        # Outside Globex hours (daily halt, weekend) the market is closed whatever the clock says.
        _, open_now = cal.session_index(ts)
        out[~open_now] = SessionPhase.CLOSED
    else:
        # Extended hours run 04:00–20:00 ET; outside them the market is closed.
        minute_of_day = ((ts + et_offset_ns(ts)) % DAY_NS) // MIN_NS
        out[is_day & ((minute_of_day < 240) | (minute_of_day >= 1200))] = SessionPhase.CLOSED
    return out


def phase_at(ts_ns: int, cal: ExchangeCalendar) -> SessionPhase:
    return SessionPhase(int(phases(np.array([ts_ns], dtype=np.int64), cal)[0]))


def minutes_to_close(ts_ns: int, cal: ExchangeCalendar) -> int | None:
    """Minutes until the regular close of the current session; None when not in a session."""
    idx, inside = cal.session_index(np.array([ts_ns], dtype=np.int64))
    if not inside[0]:
        return None
    _, close = cal.rth_bounds_ns(int(idx[0]))
    return max(0, (close - ts_ns) // MIN_NS)
