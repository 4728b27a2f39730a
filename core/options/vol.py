"""Volatility metrics: 30-day ATM IV, IV rank/percentile, HV, IV/HV, 25-delta skew, term slope.

All IVs are decimals (0.25 = 25 vol points). IV rank and IV percentile are BOTH on 0-100 (the seed
mixed 0-1 and 0-100 and ranked HV while calling it IV). When fewer than ``min_history`` daily IVs
are stored, the rank/percentile come from HV20 within its own past year and are labelled
``source="hv_proxy"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.indicators import historical_volatility as _indicator_hv
from core.options.chain import OptionChain

TRADING_DAYS = 252


def historical_volatility(closes: np.ndarray, window: int) -> np.ndarray:
    """Rolling close-to-close HV of daily closes: the shared indicator, annualised with 252 days."""
    return _indicator_hv(np.asarray(closes, dtype=float), window, TRADING_DAYS)


def _atm_iv_for_expiry(chain: OptionChain, mask: np.ndarray, forward: float) -> float:
    """IV at the forward: per strike the mean of the call and put IVs, linear in strike."""
    ks = np.unique(chain.strike[mask])
    ivs = []
    for k in ks:
        sel = mask & (chain.strike == k) & np.isfinite(chain.iv) & (chain.iv > 0)
        ivs.append(float(np.mean(chain.iv[sel])) if sel.any() else np.nan)
    ks_arr = np.asarray(ks, dtype=float)
    iv_arr = np.asarray(ivs)
    ok = np.isfinite(iv_arr)
    if ok.sum() == 0:
        return float("nan")
    ks_arr, iv_arr = ks_arr[ok], iv_arr[ok]
    if forward <= ks_arr[0] or forward >= ks_arr[-1]:
        return float(iv_arr[0] if forward <= ks_arr[0] else iv_arr[-1]) if (
            abs(forward / ks_arr[0 if forward <= ks_arr[0] else -1] - 1) < 0.02) else float("nan")
    return float(np.interp(forward, ks_arr, iv_arr))


@dataclass(frozen=True, slots=True)
class AtmIV:
    value: float                     # decimal, interpolated to ``target_days`` in total variance
    expiries: tuple[str, ...]        # expiries used
    ivs: tuple[float, ...]           # their ATM IVs
    method: str                      # "interpolated" | "single_expiry" | "unavailable"


def expiry_atm_ivs(chain: OptionChain, r: float = 0.0, q: float = 0.0
                   ) -> list[tuple[np.datetime64, float, int, float]]:
    """(expiry, years, dte, ATM IV) for every expiry with a defined ATM IV."""
    t_all = chain.years_to_expiry()
    dte_all = chain.dte()
    out = []
    for e in np.unique(chain.expiry):
        m = chain.expiry == e
        t = float(t_all[m][0])
        if t <= 0:
            continue
        fwd = chain.underlying_price * np.exp((r - q) * t)
        iv = _atm_iv_for_expiry(chain, m, fwd)
        if np.isfinite(iv):
            out.append((e, t, int(dte_all[m][0]), iv))
    return out


def atm_iv_30d(chain: OptionChain, r: float = 0.0, q: float = 0.0, target_days: float = 30.0,
               dte_window: tuple[int, int] = (15, 60)) -> AtmIV:
    """ATM IV of the expiries within 15-60 DTE, interpolated to 30 days in total variance sigma^2 T."""
    rows = [x for x in expiry_atm_ivs(chain, r, q) if dte_window[0] <= x[2] <= dte_window[1]]
    if not rows:
        return AtmIV(float("nan"), (), (), "unavailable")
    tt = target_days / 365.0
    below = [x for x in rows if x[1] <= tt]
    above = [x for x in rows if x[1] > tt]
    if below and above:
        a, b = below[-1], above[0]
        w = a[3] ** 2 * a[1] + (b[3] ** 2 * b[1] - a[3] ** 2 * a[1]) * (tt - a[1]) / (b[1] - a[1])
        return AtmIV(float(np.sqrt(w / tt)), (str(a[0]), str(b[0])), (a[3], b[3]), "interpolated")
    near = below[-1] if below else above[0]
    return AtmIV(float(near[3]), (str(near[0]),), (near[3],), "single_expiry")


def iv_rank(current: float, history: np.ndarray) -> float:
    """100 x (current - min) / (max - min) over the history (0-100, clipped)."""
    h = np.asarray(history, dtype=float)
    h = h[np.isfinite(h)]
    if h.size == 0 or not np.isfinite(current):
        return float("nan")
    lo, hi = float(h.min()), float(h.max())
    if hi <= lo:
        return 50.0
    return float(np.clip(100.0 * (current - lo) / (hi - lo), 0.0, 100.0))


def iv_percentile(current: float, history: np.ndarray) -> float:
    """100 x share of history days with a value below the current one (0-100)."""
    h = np.asarray(history, dtype=float)
    h = h[np.isfinite(h)]
    if h.size == 0 or not np.isfinite(current):
        return float("nan")
    return float(100.0 * np.mean(h < current))


def skew_25d(chain: OptionChain, expiry: np.datetime64) -> float:
    """Put IV at delta -0.25 minus call IV at delta +0.25 for one expiry (decimal), interpolated."""
    m = (chain.expiry == expiry) & np.isfinite(chain.iv) & np.isfinite(chain.delta) & (chain.iv > 0)

    def at(sel: np.ndarray, target: float) -> float:
        d = chain.delta[sel]
        v = chain.iv[sel]
        order = np.argsort(d)
        d, v = d[order], v[order]
        if d.size < 2 or target < d[0] or target > d[-1]:
            return float("nan")
        return float(np.interp(target, d, v))

    return at(m & ~chain.is_call, -0.25) - at(m & chain.is_call, 0.25)


def regime_label(rank: float) -> str:
    if not np.isfinite(rank):
        return "unknown"
    if rank >= 90:
        return "extreme"
    if rank >= 75:
        return "elevated"
    if rank <= 25:
        return "low"
    return "normal"


@dataclass(frozen=True, slots=True)
class VolatilityRegime:
    iv_atm: float
    iv_rank: float                 # 0-100
    iv_percentile: float           # 0-100
    rank_source: str               # "iv_history" | "hv_proxy" | "unavailable"
    history_days: int
    hv_20: float
    hv_60: float
    hv_120: float
    hv_20_percentile: float        # 0-100, HV20 within its past year
    iv_to_hv_ratio: float
    skew_25d: float                # decimal (put - call)
    term_slope: float              # ATM IV (21-60 DTE) - ATM IV (0-7 DTE); > 0 contango
    regime_label: str


def _mean_atm(rows: list[tuple[np.datetime64, float, int, float]], lo: int, hi: int) -> float:
    sel = [x[3] for x in rows if lo <= x[2] <= hi]
    return float(np.mean(sel)) if sel else float("nan")


def volatility_regime(chain: OptionChain, iv_history: np.ndarray | None, daily_closes: np.ndarray,
                      r: float = 0.0, q: float = 0.0, min_history: int = 60) -> VolatilityRegime:
    """All metrics; ``chain`` needs IVs and deltas (see OptionChain.with_model_greeks)."""
    atm = atm_iv_30d(chain, r, q)
    closes = np.asarray(daily_closes, dtype=float)
    hv20 = historical_volatility(closes, 20)
    hv = {w: (float(historical_volatility(closes, w)[-1]) if closes.size > w else float("nan"))
          for w in (60, 120)}
    hv20_now = float(hv20[-1]) if hv20.size else float("nan")
    hv20_year = hv20[-TRADING_DAYS:]
    hv20_pct = iv_percentile(hv20_now, hv20_year[:-1])
    hist = np.asarray(iv_history if iv_history is not None else [], dtype=float)
    hist = hist[np.isfinite(hist)]
    if hist.size >= min_history:
        rank, pct, source = iv_rank(atm.value, hist), iv_percentile(atm.value, hist), "iv_history"
    elif np.isfinite(hv20_now):
        rank = iv_rank(hv20_now, hv20_year)
        pct = hv20_pct
        source = "hv_proxy"
    else:
        rank, pct, source = float("nan"), float("nan"), "unavailable"
    rows = expiry_atm_ivs(chain, r, q)
    inside = [x for x in rows if 15 <= x[2] <= 60]
    skew = float("nan")
    if inside:
        near30 = min(inside, key=lambda x: abs(x[2] - 30))
        skew = skew_25d(chain, near30[0])
    slope = _mean_atm(rows, 21, 60) - _mean_atm(rows, 0, 7)
    ratio = atm.value / hv20_now if np.isfinite(hv20_now) and hv20_now > 0 else float("nan")
    return VolatilityRegime(
        iv_atm=atm.value, iv_rank=rank, iv_percentile=pct, rank_source=source,
        history_days=int(hist.size), hv_20=hv20_now, hv_60=hv[60], hv_120=hv[120],
        hv_20_percentile=hv20_pct, iv_to_hv_ratio=ratio, skew_25d=skew, term_slope=slope,
        regime_label=regime_label(rank))
