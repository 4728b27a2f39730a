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
    kernel_input,
    kernels,
    leading_nans,
    nan_array,
    outputs,
    same_length,
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
    start = leading_nans(h, lo, c)
    (out,) = outputs(size, start, 1)
    kernels().true_range(h[start:], lo[start:], c[start:], out[start:])
    return out


def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int = 14) -> np.ndarray:
    """Wilder's average true range (TA-Lib ATR): the mean of the true ranges of bars 1..n at bar n,
    then ATR_t = ((n-1)*ATR_{t-1} + TR_t) / n. NaN for bars 0..n-1."""
    h, lo, c, size = _hlc(high, low, close)
    n = check_period("n", n)
    start = leading_nans(h, lo, c)
    (out,) = outputs(size, start, 1)
    kernels().atr(h[start:], lo[start:], c[start:], n, out[start:])
    return out


def bollinger(
    close: np.ndarray, n: int = 20, k: float = 2.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bollinger bands (TA-Lib BBANDS, SMA middle): mid = SMA(n), bands = mid ± k * population
    stdev (ddof=0) of the same n closes. Returns (mid, upper, lower); NaN for bars 0..n-2.

    The stdev comes from a Welford running sum of squared deviations, recomputed from the window
    every max(1024, 16n) bars, and is exactly 0 on a window of n equal closes: it stays exact
    where TA-Lib's running sum of squares loses digits. TA-Lib also snaps a variance below 1e-8
    to 0, we do not. ``mid`` equals sma(close, n) bit for bit.
    """
    close = as_series("close", close)
    n = check_period("n", n)
    k = check_positive("k", k)
    start = leading_nans(close)
    mid, upper, lower = outputs(len(close), start, 3)
    kernels().bollinger(close[start:], n, k, mid[start:], upper[start:], lower[start:])
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


def _sigma(close: object, n: object, scale: float) -> np.ndarray:
    """scale * sample stdev of the last n log returns (realized_sigma without the unit)."""
    close = as_series("close", close)
    n = check_period("n", n, minimum=2)
    out = nan_array(len(close))
    start = leading_nans(close)
    c = close[start:]
    if len(c) <= n:
        return out
    if np.any(c <= 0):
        raise InputError("close", "log returns need prices > 0")
    returns = np.diff(np.log(c))  # numpy's log is vectorised; a kernel loop would call libm per bar
    kernels().rolling_sample_std(kernel_input(returns), n, scale, out[start + 1 :])
    return out


def realized_sigma(close: np.ndarray, n: int = 20) -> np.ndarray:
    """Per-bar realized volatility: the sample stdev (ddof=1) of the last n log returns
    ln(C_t / C_{t-1}). Not annualised. NaN for bars 0..n-1 (bar n is the first with n returns)."""
    return _sigma(close, n, 1.0)


def historical_volatility(close: np.ndarray, n: int = 20, periods_per_year: float = 252) -> np.ndarray:
    """Annualised historical volatility: realized_sigma(close, n) * sqrt(periods_per_year), as a
    fraction (0.20 = 20%). Use periods_per_year = 252 for daily bars, 252*78 for 5-minute RTH bars."""
    ppy = check_positive("periods_per_year", periods_per_year)
    return _sigma(close, n, float(np.sqrt(ppy)))


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
