"""Exchange calendars (holidays, half-days, DST) from the `exchange_calendars` library.

Sessions are exposed as numpy arrays of UTC-ns opens/closes so that mapping millions of bar
timestamps to their session is one `searchsorted`, not a Python loop.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cached_property
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
import numpy as np
import pandas as pd

from core.errors import InputError

EXCHANGE_TZ = ZoneInfo("America/New_York")
_FIRST_SESSION = "1990-01-02"

# Root symbols of CME index/energy/metal futures that trade on Globex hours.
FUTURES_ROOTS = frozenset(
    {"ES", "MES", "NQ", "MNQ", "YM", "MYM", "RTY", "M2K", "CL", "MCL", "GC", "MGC", "SI", "NG",
     "ZB", "ZN", "ZF", "ZT", "6E", "6J"}
)
_FUTURES_RE = re.compile(r"^/?([A-Z0-9]{1,3}?)(?:\d!|[FGHJKMNQUVXZ]\d{1,2})?$")


def futures_root(symbol: str) -> str | None:
    """'MNQ1!' -> 'MNQ', 'ESZ25' -> 'ES', '/NQ' -> 'NQ', 'SPY' -> None."""
    s = symbol.strip().upper()
    m = _FUTURES_RE.match(s)
    if m and m.group(1) in FUTURES_ROOTS:
        return m.group(1)
    return None


@dataclass(frozen=True, slots=True)
class SessionTimes:
    session: date
    open_ns: int
    close_ns: int

    @property
    def open(self) -> datetime:
        return pd.Timestamp(self.open_ns, tz="UTC").to_pydatetime()

    @property
    def close(self) -> datetime:
        return pd.Timestamp(self.close_ns, tz="UTC").to_pydatetime()

    @property
    def minutes(self) -> int:
        return (self.close_ns - self.open_ns) // 60_000_000_000


class ExchangeCalendar:
    """One exchange's trading sessions. Build with `calendar_for(symbol)` (cached, thread-safe)."""

    def __init__(self, code: str) -> None:
        self.code = code
        self._cal = xcals.get_calendar(code, start=_FIRST_SESSION)
        sched = self._cal.schedule
        self.session_dates: np.ndarray = sched.index.values.astype("datetime64[D]")
        self.opens_ns: np.ndarray = _utc_ns(sched["open"])
        self.closes_ns: np.ndarray = _utc_ns(sched["close"])

    @property
    def is_futures(self) -> bool:
        return self.code != "XNYS"

    @cached_property
    def _regular_minutes(self) -> int:
        lengths = (self.closes_ns - self.opens_ns) // 60_000_000_000
        return int(np.median(lengths))

    # -- lookups ---------------------------------------------------------------------------
    def session_index(self, ts_ns: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
        """For each timestamp: index of the first session whose close is after it, and whether
        the timestamp is inside that session (open <= ts < close)."""
        ts = np.asarray(ts_ns, dtype=np.int64)
        idx = np.searchsorted(self.closes_ns, ts, side="right")
        idx = np.minimum(idx, len(self.closes_ns) - 1)
        inside = (ts >= self.opens_ns[idx]) & (ts < self.closes_ns[idx])
        return idx, inside

    def session(self, i: int) -> SessionTimes:
        return SessionTimes(
            pd.Timestamp(self.session_dates[i]).date(), int(self.opens_ns[i]), int(self.closes_ns[i])
        )

    def index_of(self, day: date) -> int:
        """Index of the session on `day`; InputError if the exchange is closed that day."""
        i = int(np.searchsorted(self.session_dates, np.datetime64(day, "D")))
        if i >= len(self.session_dates) or self.session_dates[i] != np.datetime64(day, "D"):
            raise InputError("date", f"{day} is not a {self.code} trading session")
        return i

    def is_session(self, day: date) -> bool:
        i = int(np.searchsorted(self.session_dates, np.datetime64(day, "D")))
        return i < len(self.session_dates) and self.session_dates[i] == np.datetime64(day, "D")

    def session_on_or_after(self, day: date) -> int:
        return int(np.searchsorted(self.session_dates, np.datetime64(day, "D"), side="left"))

    def session_on_or_before(self, day: date) -> int:
        return int(np.searchsorted(self.session_dates, np.datetime64(day, "D"), side="right")) - 1

    def is_half_day(self, i: int) -> bool:
        return (self.closes_ns[i] - self.opens_ns[i]) // 60_000_000_000 < self._regular_minutes - 30

    def sessions_between(self, start: date, end: date) -> np.ndarray:
        """Indices of sessions with start <= date <= end."""
        lo = self.session_on_or_after(start)
        hi = self.session_on_or_before(end)
        return np.arange(lo, hi + 1)

    def rth_bounds_ns(self, i: int) -> tuple[int, int]:
        """Regular-hours open/close: the session itself for equities; 09:30–16:00 ET (the cash
        session the scanner's phases use) inside a futures session, clipped to its close."""
        if not self.is_futures:
            return int(self.opens_ns[i]), int(self.closes_ns[i])
        day = pd.Timestamp(self.session_dates[i]).date()
        o = _et_ns(day, time(9, 30))
        c = min(_et_ns(day, time(16, 0)), int(self.closes_ns[i]))
        return o, c


def _utc_ns(col: pd.Series) -> np.ndarray:
    return col.dt.tz_convert(None).to_numpy().astype("datetime64[ns]").view(np.int64)


def _et_ns(day: date, t: time) -> int:
    return int(pd.Timestamp(datetime.combine(day, t), tz=EXCHANGE_TZ).value)


_lock = threading.Lock()
_calendars: dict[str, ExchangeCalendar] = {}


def get_calendar(code: str) -> ExchangeCalendar:
    """Cached calendar by code ('XNYS' equities, 'CMES' CME Globex). Build is ~1 s, once."""
    with _lock:
        cal = _calendars.get(code)
        if cal is None:
            cal = _calendars[code] = ExchangeCalendar(code)
        return cal


def calendar_code(symbol: str) -> str:
    return "CMES" if futures_root(symbol) else "XNYS"


def calendar_for(symbol: str) -> ExchangeCalendar:
    return get_calendar(calendar_code(symbol))
