"""Momentum indicators: Wilder's RSI (TA-Lib RSI)."""

from __future__ import annotations

import numpy as np

from core.indicators._common import as_series, check_period, kernels, leading_nans, outputs


def rsi(close: np.ndarray, n: int = 14) -> np.ndarray:
    """Wilder's RSI = 100 * avg_gain / (avg_gain + avg_loss).

    Averages are seeded with the plain mean of the first n changes and then smoothed with
    alpha = 1/n; the first value is at bar n. Like TA-Lib, the RSI is 0 when both averages are 0
    (a flat market), not 50.
    """
    close = as_series("close", close)
    n = check_period("n", n)
    start = leading_nans(close)
    (out,) = outputs(len(close), start, 1)
    kernels().rsi(close[start:], n, out[start:])
    return out
