"""The collection plan: which runs happen when, from the exchange calendar alone.

Per symbol and trading session (holidays, half-days and DST from exchange_calendars; weekends
never appear because they are never sessions):
- `open`  at the regular-hours open (09:30 ET; the cash hours for index futures): the "before" capture.
- `close` at the regular-hours close (16:00 ET, 13:00 on half-days): the "after" capture, the
  session's minute bars into `session_minute_bars`, and due prediction outcomes resolved.
- `candle` at each full N-minute bar close counted from the open (N in 1, 5, 15, 60): a
  session-candle capture. A bar that the close cuts short is not a full bar and gets no candle
  (the close run captures that moment), so hourly candles fire exactly once an hour.

The running scheduler and `python -m app collect schedule` both call `plan_runs`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import pandas as pd

from core.errors import InputError
from core.market.calendar import calendar_for

EXCHANGE_TZ = ZoneInfo("America/New_York")
MIN_NS = 60_000_000_000
KINDS = ("open", "candle", "close")
CANDLE_INTERVALS = (1, 5, 15, 60)
DEFAULT_SYMBOLS = ("MNQ1!", "MES1!")
MAX_PLAN_DAYS = 400
_RANK = {"open": 0, "candle": 1, "close": 2}  # at one instant: a bar's candle before the close run


@dataclass(frozen=True, slots=True)
class PlannedRun:
    at_ns: int                      # UTC ns when the run is due
    symbol: str
    kind: str                       # open | candle | close
    session_date: date
    interval_minutes: int | None = None   # candle runs: the bar size
    bar_start_ns: int | None = None       # candle runs: the bar that just closed

    @property
    def key(self) -> str:
        """Identity of the run across restarts (what the ledger records)."""
        iv = f"{self.interval_minutes}m" if self.interval_minutes else "-"
        return f"{self.symbol}|{self.kind}|{self.session_date.isoformat()}|{iv}|{self.at_ns}"

    @property
    def job(self) -> str:
        """The recurring job this run belongs to (what the schedule view groups by)."""
        return f"{self.symbol} {self.kind}" + (f" {self.interval_minutes}m" if self.interval_minutes else "")

    def sort_key(self) -> tuple[int, int, str, int]:
        return (self.at_ns, _RANK[self.kind], self.symbol, self.interval_minutes or 0)

    def to_json(self) -> dict[str, object]:
        utc = pd.Timestamp(self.at_ns, tz="UTC")
        return {"symbol": self.symbol, "kind": self.kind, "session_date": self.session_date.isoformat(),
                "interval_minutes": self.interval_minutes,
                "exchange_time": utc.tz_convert(EXCHANGE_TZ).isoformat(), "utc_time": utc.isoformat()}


def clean_symbols(symbols: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for s in symbols:
        s = s.strip().upper()
        if not s:
            raise InputError("symbols", "an empty symbol")
        if s not in out:
            out.append(s)
    if not out:
        raise InputError("symbols", "give at least one symbol")
    return tuple(out)


def clean_candle_intervals(intervals: Iterable[int]) -> tuple[int, ...]:
    out = sorted(set(intervals))
    bad = [i for i in out if i not in CANDLE_INTERVALS]
    if bad:
        allowed = ", ".join(map(str, CANDLE_INTERVALS))
        raise InputError("candles", f"{bad[0]} min is not a candle interval; use {allowed}")
    return tuple(out)


def plan_runs(symbols: Sequence[str], start: date, end: date, *, candle_intervals: Sequence[int] = (),
              open_close: bool = True) -> list[PlannedRun]:
    """Every run for sessions dated start..end (inclusive), ordered by time."""
    if end < start:
        raise InputError("to", "must not be before --from")
    if (end - start).days > MAX_PLAN_DAYS:
        raise InputError("to", f"plan at most {MAX_PLAN_DAYS} days at a time")
    syms = clean_symbols(symbols)
    ivs = clean_candle_intervals(candle_intervals)
    runs: list[PlannedRun] = []
    for sym in syms:
        cal = calendar_for(sym)
        for i in cal.sessions_between(start, end):
            i = int(i)
            day = cal.session(i).session
            o, c = cal.rth_bounds_ns(i)
            if open_close:
                runs.append(PlannedRun(o, sym, "open", day))
                runs.append(PlannedRun(c, sym, "close", day))
            for n in ivs:
                step = n * MIN_NS
                t = o + step
                while t <= c:
                    runs.append(PlannedRun(t, sym, "candle", day, n, t - step))
                    t += step
    runs.sort(key=PlannedRun.sort_key)
    return runs
