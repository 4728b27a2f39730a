"""Momentum indicators: Wilder's RSI (TA-Lib RSI)."""

from __future__ import annotations

import numpy as np

from core.indicators._common import (
    as_series,
    check_period,
    leading_nans,
    nan_array,
    recurrence,
)


def rsi(close: np.ndarray, n: int = 14) -> np.ndarray:
    """Wilder's RSI = 100 * avg_gain / (avg_gain + avg_loss).

    Averages are seeded with the plain mean of the first n changes and then smoothed with
    alpha = 1/n; the first value is at bar n. Like TA-Lib, the RSI is 0 when both averages are 0
    (a flat market), not 50.
    """
    close = as_series("close", close)
    n = check_period("n", n)
    out = nan_array(len(close))
    start = leading_nans(close)
    c = close[start:]
    if len(c) <= n:
        return out
    change = np.diff(c)  # index j is bar j+1
    gain = np.maximum(change, 0.0)
    loss = np.maximum(-change, 0.0)
    a, b = 1.0 - 1.0 / n, 1.0 / n
    avg_gain = np.empty(len(change) - n + 1, dtype=np.float64)  # bars n .. end
    avg_loss = np.empty_like(avg_gain)
    for src, dst in ((gain, avg_gain), (loss, avg_loss)):
        dst[0] = float(np.sum(src[:n])) / n
        recurrence(src[n:], a, b, dst[0], dst[1:])
    total = avg_gain + avg_loss
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(avg_gain, total, out=avg_gain)
    avg_gain *= 100.0
    avg_gain[total <= 0.0] = 0.0
    out[start + n :] = avg_gain
    return out
