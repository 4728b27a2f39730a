"""Volatility indicators: true range, ATR, Bollinger and Keltner bands, the squeeze, historical
(realized) volatility and the expected move.

Where TA-Lib has the indicator we follow it (TRANGE, ATR, BBANDS with an SMA middle and population
stdev). Keltner, squeeze and HV are not in TA-Lib; their conventions are stated on each function.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from core.errors import InputError
from core.indicators._common import (
    as_series,
    check_period,
    check_positive,
    leading_nans,
    nan_array,
    recurrence,
    rolling_mean_var,
    same_length,
    true_range_from,
)
from core.indicators.trend import ema

MINUTES_PER_YEAR = 252 * 390  # regular-hours minutes in a trading year


def _hlc(high: object, low: object, close: object) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    h, lo, c = as_series("high", high), as_series("low", low), as_series("close", close)
    return h, lo, c, same_length(high=h, low=lo, close=c)


def true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """max(high, prev close) - min(low, prev close); NaN at bar 0 (no previous close), as TA-Lib
    TRANGE."""
    h, lo, c, size = _hlc(high, low, close)
    out = nan_array(size)
    start = leading_nans(h, lo, c)
    if size - start >= 2:
        out[start + 1 :] = true_range_from(h[start:], lo[start:], c[start:])
    return out


def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int = 14) -> np.ndarray:
    """Wilder's average true range (TA-Lib ATR): the mean of the true ranges of bars 1..n at bar n,
    then ATR_t = ((n-1)*ATR_{t-1} + TR_t) / n. NaN for bars 0..n-1."""
    h, lo, c, size = _hlc(high, low, close)
    n = check_period("n", n)
    out = nan_array(size)
    start = leading_nans(h, lo, c)
    if size - start <= n:
        return out
    tr = true_range_from(h[start:], lo[start:], c[start:])  # index j is bar start+j+1
    seed = float(np.mean(tr[:n]))
    out[start + n] = seed
    recurrence(tr[n:], 1.0 - 1.0 / n, 1.0 / n, seed, out[start + n + 1 :])
    return out


def bollinger(
    close: np.ndarray, n: int = 20, k: float = 2.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bollinger bands (TA-Lib BBANDS, SMA middle): mid = SMA(n), bands = mid ± k * population
    stdev (ddof=0) of the same n closes. Returns (mid, upper, lower); NaN for bars 0..n-2.

    The stdev is computed from shifted local sums, so it stays exact where TA-Lib's running sum of
    squares loses digits; TA-Lib also snaps a variance below 1e-8 to 0, we do not.
    """
    close = as_series("close", close)
    n = check_period("n", n)
    k = check_positive("k", k)
    size = len(close)
    mid, upper, lower = nan_array(size), nan_array(size), nan_array(size)
    start = leading_nans(close)
    mean, var = rolling_mean_var(close[start:], n)
    np.sqrt(var, out=var)
    var *= k
    mid[start:] = mean
    np.add(mean, var, out=upper[start:])
    np.subtract(mean, var, out=lower[start:])
    return mid, upper, lower


def keltner(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    n: int = 20,
    mult: float = 1.5,
    atr_n: int = 10,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keltner channel: mid = EMA(close, n) (TA-Lib EMA convention), bands = mid ± mult * ATR(atr_n)
    (Wilder ATR as atr()). Returns (mid, upper, lower); NaN until both are defined, i.e. for bars
    before max(n-1, atr_n)."""
    h, lo, c, _ = _hlc(high, low, close)
    n, atr_n = check_period("n", n), check_period("atr_n", atr_n)
    mult = check_positive("mult", mult)
    mid = ema(c, n)
    width = atr(h, lo, c, atr_n)
    width *= mult
    upper = mid + width
    lower = mid - width
    mid[np.isnan(width)] = np.nan  # one warm-up for all three lines
    return mid, upper, lower


def squeeze(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    n: int = 20,
    bb_k: float = 2.0,
    kc_mult: float = 1.5,
    atr_n: int = 10,
) -> np.ndarray:
    """True where the Bollinger bands (n, bb_k) lie strictly inside the Keltner channel
    (n, kc_mult, atr_n): upper_bb < upper_kc and lower_bb > lower_kc. False during the warm-up."""
    h, lo, c, _ = _hlc(high, low, close)
    _, bb_up, bb_low = bollinger(c, n, bb_k)
    _, kc_up, kc_low = keltner(h, lo, c, n, kc_mult, atr_n)
    with np.errstate(invalid="ignore"):
        return (bb_up < kc_up) & (bb_low > kc_low)  # NaN compares False


def realized_sigma(close: np.ndarray, n: int = 20) -> np.ndarray:
    """Per-bar realized volatility: the sample stdev (ddof=1) of the last n log returns
    ln(C_t / C_{t-1}). Not annualised. NaN for bars 0..n-1 (bar n is the first with n returns)."""
    close = as_series("close", close)
    n = check_period("n", n, minimum=2)
    out = nan_array(len(close))
    start = leading_nans(close)
    c = close[start:]
    if len(c) <= n:
        return out
    if np.any(c <= 0):
        raise InputError("close", "log returns need prices > 0")
    returns = np.diff(np.log(c))
    var = rolling_mean_var(returns, n)[1]
    var *= n / (n - 1.0)  # population -> sample variance
    np.sqrt(var, out=var)
    out[start + 1 :] = var
    return out


def historical_volatility(close: np.ndarray, n: int = 20, periods_per_year: float = 252) -> np.ndarray:
    """Annualised historical volatility: realized_sigma(close, n) * sqrt(periods_per_year), as a
    fraction (0.20 = 20%). Use periods_per_year = 252 for daily bars, 252*78 for 5-minute RTH bars."""
    ppy = check_positive("periods_per_year", periods_per_year)
    out = realized_sigma(close, n)
    out *= np.sqrt(ppy)
    return out


def historical_volatilities(
    close: np.ndarray, windows: Iterable[int] = (20, 60, 120), periods_per_year: float = 252
) -> dict[int, np.ndarray]:
    """HV for several windows at once (default HV20/HV60/HV120), keyed by window length."""
    return {w: historical_volatility(close, w, periods_per_year) for w in windows}


def expected_move(
    price: float | np.ndarray,
    sigma_annual: float | np.ndarray,
    minutes: float | np.ndarray,
    minutes_per_year: float = MINUTES_PER_YEAR,
) -> float | np.ndarray:
    """One-standard-deviation move over ``minutes`` of trading: price * sigma * sqrt(t), with
    t = minutes / minutes_per_year (default 252 days * 390 RTH minutes, so sigma is a per-year
    volatility measured on trading time). Scalars give a float; arrays broadcast."""
    mpy = check_positive("minutes_per_year", minutes_per_year)
    p = np.asarray(price, dtype=np.float64)
    s = np.asarray(sigma_annual, dtype=np.float64)
    t = np.asarray(minutes, dtype=np.float64)
    for name, arr in (("price", p), ("sigma_annual", s), ("minutes", t)):
        if np.any(arr < 0):
            raise InputError(name, "must be >= 0")
    result = p * s * np.sqrt(t / mpy)
    return float(result) if result.ndim == 0 else result
