"""Model inputs from what a chart screenshot shows (the chart reader's candles in price units):
the volatility of the read candles, and whether they are the same candles a feed has. Pure numpy —
no kernel imports, so the service, the evaluation and tests share it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from core.market.bars import Bars

SIGMA_RETURNS = 40        # as for feed bars: the last 40 close-to-close returns
MIN_RETURNS = 5
MATCH_BARS = 5            # the newest read candles compared with the feed's
MATCH_TOLERANCE = 0.0015  # median |read close / feed close - 1| for "the same candles"
ASSUMED_INTERVAL_MINUTES = 5


class Candle(Protocol):
    open: float
    high: float
    low: float
    close: float
    time: str | None


@dataclass(frozen=True, slots=True)
class ReadVolatility:
    sigma: float            # per sqrt(minute) of log price
    returns: int            # how many returns it rests on
    interval_minutes: int
    source: str             # said in the forecast


def read_volatility(candles: Sequence[Candle], interval_minutes: int | None) -> ReadVolatility | None:
    """Realized volatility of the read candles' closes (None when fewer than MIN_RETURNS usable
    returns). Returns larger than 6 robust standard deviations (a session gap, a misread candle) are
    left out, as the feed path leaves out overnight gaps."""
    closes = np.array([c.close for c in candles], dtype=np.float64)
    closes = closes[np.isfinite(closes) & (closes > 0)]
    r = np.diff(np.log(closes))[-SIGMA_RETURNS:]
    if len(r) >= MIN_RETURNS:
        mad = float(np.median(np.abs(r - np.median(r)))) * 1.4826
        if mad > 0:
            r = r[np.abs(r - np.median(r)) <= 6 * mad]
    if len(r) < MIN_RETURNS:
        return None
    sd = float(np.std(r, ddof=1))
    if not (math.isfinite(sd) and sd > 0):
        return None
    minutes = interval_minutes or ASSUMED_INTERVAL_MINUTES
    how = f"{minutes}-minute" if interval_minutes else f"interval not read, {minutes}-minute assumed"
    return ReadVolatility(sd / math.sqrt(minutes), len(r), minutes,
                          f"screenshot candles ({len(r)} returns, {how})")


def candles_match_feed(candles: Sequence[Candle], feed: Bars, feed_times_hhmm: Sequence[str] | None = None) -> bool:
    """True when the newest read candles are the feed's newest candles: closes within
    MATCH_TOLERANCE (median relative difference) and, where the chart's time labels were read,
    the newest read time is one of the feed's bar times (HH:MM on the chart's clock)."""
    k = min(MATCH_BARS, len(candles), len(feed))
    if k < 3:
        return False
    read = np.array([c.close for c in candles[-k:]], dtype=np.float64)
    fed = feed.close[-k:]
    if float(np.median(np.abs(read / fed - 1.0))) > MATCH_TOLERANCE:
        return False
    last_time = candles[-1].time
    return not (last_time and feed_times_hhmm is not None and last_time not in set(feed_times_hhmm))
