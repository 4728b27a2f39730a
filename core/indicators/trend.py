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
    kernels,
    leading_nans,
    outputs,
    same_length,
)


def sma(x: np.ndarray, n: int) -> np.ndarray:
    """Simple moving average of the last n bars; NaN for the first n-1 bars (TA-Lib SMA)."""
    x = as_series("x", x)
    n = check_period("n", n)
    start = leading_nans(x)
    (out,) = outputs(len(x), start, 1)
    kernels().rolling_mean(x[start:], n, out[start:])
    return out


def ema(x: np.ndarray, n: int) -> np.ndarray:
    """Exponential moving average, alpha = 2/(n+1), seeded with the SMA of the first n values:
    first value at bar n-1 (TA-Lib EMA, classic compatibility)."""
    x = as_series("x", x)
    n = check_period("n", n)
    start = leading_nans(x)
    (out,) = outputs(len(x), start, 1)
    kernels().ema(x[start:], n, out[start:])
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
    start = leading_nans(high, low, close)
    adx_out, plus_out, minus_out = outputs(size, start, 3)
    kernels().adx(high[start:], low[start:], close[start:], n, adx_out[start:], plus_out[start:], minus_out[start:])
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
