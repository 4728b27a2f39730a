"""Trend indicators: SMA, EMA, ADX/DI and the 9/20/50 EMA stack.

Conventions follow TA-Lib (same warm-up length, NaN before the first defined bar, leading NaNs in
the input skipped like TA-Lib's Python wrapper does).
"""

from __future__ import annotations

import numpy as np

from core.errors import InputError
from core.indicators._common import (
    as_series,
    check_period,
    leading_nans,
    nan_array,
    recurrence,
    rolling_mean,
    same_length,
)
from core.indicators._common import true_range_from as _true_range_from


def sma(x: np.ndarray, n: int) -> np.ndarray:
    """Simple moving average of the last n bars; NaN for the first n-1 bars (TA-Lib SMA)."""
    x = as_series("x", x)
    n = check_period("n", n)
    out = nan_array(len(x))
    start = leading_nans(x)
    out[start:] = rolling_mean(x[start:], n)
    return out


def ema_into(x: np.ndarray, n: int, out: np.ndarray) -> None:
    """EMA of a NaN-free-at-start series into ``out`` (already NaN-filled), TA-Lib convention."""
    if len(x) < n:
        return
    k = 2.0 / (n + 1)
    seed = float(np.mean(x[:n]))  # TA-Lib seeds with the SMA of the first n values
    out[n - 1] = seed
    recurrence(x[n:], 1.0 - k, k, seed, out[n:])


def ema(x: np.ndarray, n: int) -> np.ndarray:
    """Exponential moving average, alpha = 2/(n+1), seeded with the SMA of the first n values:
    first value at bar n-1 (TA-Lib EMA, classic compatibility)."""
    x = as_series("x", x)
    n = check_period("n", n)
    out = nan_array(len(x))
    start = leading_nans(x)
    ema_into(x[start:], n, out[start:])
    return out


def adx(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int = 14
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wilder's ADX with +DI and -DI (TA-Lib ADX, PLUS_DI, MINUS_DI).

    +DM/-DM/TR are Wilder running sums seeded with the sum of the first n-1 bars; the DIs start at
    bar n, the ADX (Wilder average of DX seeded with the mean of the first n DX) at bar 2n-1.
    As in TA-Lib, a DI is 0 when the smoothed true range is 0, and a bar whose DX is undefined
    (zero range, or both DIs 0) leaves the ADX unchanged. Returns (adx, plus_di, minus_di).
    """
    high, low, close = as_series("high", high), as_series("low", low), as_series("close", close)
    size = same_length(high=high, low=low, close=close)
    n = check_period("n", n)
    adx_out, plus_out, minus_out = nan_array(size), nan_array(size), nan_array(size)
    start = leading_nans(high, low, close)
    h, lo, c = high[start:], low[start:], close[start:]
    if len(h) <= n:
        return adx_out, plus_out, minus_out
    up = np.diff(h)  # index j is bar j+1
    down = -np.diff(lo)
    plus_dm = np.where((up > 0) & (up > down), up, 0.0)
    minus_dm = np.where((down > 0) & (down > up), down, 0.0)
    tr = _true_range_from(h, lo, c)  # index j is bar j+1
    a = 1.0 - 1.0 / n
    # Running sums S_t = S_{t-1}*(1-1/n) + v_t for bars t >= n, seeded with the sum of bars 1..n-1.
    smooth = []
    for v in (plus_dm, minus_dm, tr):
        s = np.empty(len(v) - n + 2, dtype=np.float64)  # bars n-1 .. end
        s[0] = float(np.sum(v[: n - 1]))
        recurrence(v[n - 1 :], a, 1.0, s[0], s[1:])
        smooth.append(s[1:])  # bars n .. end
    sp, sm, st = smooth
    tr_ok = st > 0.0  # TA-Lib (0.6+) tests for an exact zero; a sum of ranges is never negative
    with np.errstate(divide="ignore", invalid="ignore"):
        pdi = np.where(tr_ok, 100.0 * (sp / st), 0.0)
        mdi = np.where(tr_ok, 100.0 * (sm / st), 0.0)
        di_sum = mdi + pdi
        dx_ok = tr_ok & (di_sum > 0.0)
        dx = 100.0 * (np.abs(mdi - pdi) / di_sum)
    plus_out[start + n :] = pdi
    minus_out[start + n :] = mdi
    if len(dx) < n:
        return adx_out, plus_out, minus_out
    seed = float(np.sum(dx[:n], where=dx_ok[:n])) / n
    rest, rest_ok = dx[n:], dx_ok[n:]
    adx_tail = adx_out[start + 2 * n :]
    adx_out[start + 2 * n - 1] = seed
    if rest_ok.all():
        recurrence(rest, a, 1.0 / n, seed, adx_tail)
    else:
        # A skipped bar holds the ADX: run the recursion on the valid DX only, then carry each
        # value forward over the skipped bars.
        valid = np.flatnonzero(rest_ok)
        vals = np.empty(len(valid) + 1, dtype=np.float64)
        vals[0] = seed
        recurrence(rest[valid], a, 1.0 / n, seed, vals[1:])
        slot = np.cumsum(rest_ok)  # how many valid DX up to and including each bar
        adx_tail[:] = vals[slot]
    return adx_out, plus_out, minus_out


def ema_stack(close: np.ndarray, fast: int = 9, mid: int = 20, slow: int = 50) -> np.ndarray:
    """+1 where EMA(fast) > EMA(mid) > EMA(slow) (bull stack), -1 where fast < mid < slow (bear),
    0 otherwise, including the warm-up of the slow EMA. int8."""
    close = as_series("close", close)
    fast, mid, slow = check_period("fast", fast), check_period("mid", mid), check_period("slow", slow)
    if not fast < mid:
        raise InputError("mid", f"must be longer than fast ({fast}), got {mid}")
    if not mid < slow:
        raise InputError("slow", f"must be longer than mid ({mid}), got {slow}")
    ef, em, es = ema(close, fast), ema(close, mid), ema(close, slow)
    with np.errstate(invalid="ignore"):
        bull = (ef > em) & (em > es)  # NaN compares False, so the warm-up stays 0
        bear = (ef < em) & (em < es)
    return bull.astype(np.int8) - bear.astype(np.int8)
