"""Relative volume and liquidity rank: the `/gpt/scan` filters `min_rvol` and `min_liquidity_rank`.

- Relative volume (rvol): the volume traded so far in the latest session, over the mean volume the
  previous sessions (up to 10) had traded by the same point — the same number of regular-hours bars
  into the session. 1.0 is a normal day; 2.0 twice the usual activity at this time of day. On daily
  bars: the latest bar's volume over the mean of the previous 10 days.
- Liquidity rank: 0–100 on a log scale of the median daily dollar volume (close × volume) of the last
  20 completed sessions — 0 at $1M a day, 100 at $100B a day (20 points per factor of 10), so the
  rank of a symbol does not depend on which other symbols a scan asked for.
Pure numpy on arrays; the callers fetch bars and run this off the kernel loop."""

from __future__ import annotations

import math

import numpy as np

RVOL_SESSIONS = 10
LIQUIDITY_SESSIONS = 20
LIQUIDITY_FLOOR_USD = 1e6     # rank 0
LIQUIDITY_CEILING_USD = 1e11  # rank 100


def relative_volume(volume: np.ndarray, session_id: np.ndarray, counted: np.ndarray | None = None,
                    sessions: int = RVOL_SESSIONS) -> float | None:
    """rvol of the latest session (see the module doc). `counted` masks the bars that count (regular
    hours for equities); None when there is no earlier session to compare with or it traded nothing."""
    vol = np.asarray(volume, dtype=np.float64)
    sid = np.asarray(session_id, dtype=np.int64)
    if counted is not None:
        keep = np.asarray(counted, dtype=bool)
        vol, sid = vol[keep], sid[keep]
    if len(vol) == 0:
        return None
    today = sid[-1]
    today_vol = vol[sid == today]
    k = len(today_vol)
    prior: list[float] = []
    for s in np.unique(sid[sid < today])[::-1][:sessions]:
        v = vol[sid == s]
        if len(v) >= k:  # a session with fewer bars (a half-day, a gap in the data) is not comparable
            prior.append(float(v[:k].sum()))
    base = float(np.mean(prior)) if prior else 0.0
    if base <= 0 or not math.isfinite(base):
        return None
    return float(today_vol.sum()) / base


def median_dollar_volume(close: np.ndarray, volume: np.ndarray, sessions: int = LIQUIDITY_SESSIONS) -> float | None:
    """Median close × volume of the daily bars before the latest one (the latest may be in progress);
    the latest alone when it is the only bar."""
    dv = np.asarray(close, dtype=np.float64) * np.asarray(volume, dtype=np.float64)
    done = dv[:-1][-sessions:] if len(dv) > 1 else dv
    done = done[np.isfinite(done)]
    return float(np.median(done)) if len(done) else None


def liquidity_rank(dollar_volume: float | None) -> int | None:
    """0–100 on the log scale described in the module doc."""
    if dollar_volume is None or not math.isfinite(dollar_volume) or dollar_volume <= 0:
        return None
    lo, hi = math.log10(LIQUIDITY_FLOOR_USD), math.log10(LIQUIDITY_CEILING_USD)
    frac = (math.log10(dollar_volume) - lo) / (hi - lo)
    return round(100 * min(1.0, max(0.0, frac)))
