"""Indicator lines the chart draws (EMA 9/20/50, session VWAP with bands), computed in the
kernel so widgets only render."""

from __future__ import annotations

import numpy as np

from core.indicators import ema, session_vwap
from core.market.bars import Bars
from core.market.calendar import calendar_for
from core.market.intervals import Interval
from core.market.sessions import session_ids

EMA_PERIODS = (9, 20, 50)


def session_starts(bars: Bars, symbol: str) -> np.ndarray:
    """Indices of the first bar of each session after the first (where session lines reset)."""
    if len(bars) < 2:
        return np.empty(0, dtype=np.int64)
    sid = session_ids(bars.ts, calendar_for(symbol))
    return np.flatnonzero(np.diff(sid)) + 1


def chart_lines(bars: Bars, symbol: str, interval: Interval) -> dict[str, np.ndarray]:
    """Named series aligned with `bars`; NaN where undefined (warm-up, no volume)."""
    out: dict[str, np.ndarray] = {}
    if not len(bars):
        return out
    for n in EMA_PERIODS:
        out[f"EMA {n}"] = ema(bars.close, n) if len(bars) >= n else np.full(len(bars), np.nan)
    if not interval.is_daily and bars.volume.any():
        sid = session_ids(bars.ts, calendar_for(symbol))
        vwap, up1, lo1, _up2, _lo2 = session_vwap(bars.high, bars.low, bars.close, bars.volume, sid)
        out["VWAP"] = vwap
        out["VWAP +1σ"] = up1
        out["VWAP −1σ"] = lo1
    return out
