"""Technical indicators on float64 numpy arrays (compiled single-pass loops, numba).

Every function takes equal-length 1-D arrays and returns arrays of the same length with NaN where
the indicator is not yet defined (TA-Lib's warm-up where TA-Lib has the indicator). Bad input
raises core.errors.InputError naming the parameter. See docs/indicators.md.

The loops compile (or load from numba's disk cache) on first use; ``warm_up()`` does that ahead of
time, in the processes that compute indicators (the CPU workers and the live scanner, as they
start), never on the GUI thread.
"""

import numpy as np

from core.indicators.momentum import rsi
from core.indicators.trend import adx, ema, ema_stack, sma
from core.indicators.volatility import (
    MINUTES_PER_YEAR,
    atr,
    bollinger,
    expected_move,
    historical_volatilities,
    historical_volatility,
    keltner,
    realized_sigma,
    squeeze,
    true_range,
)
from core.indicators.vwap import anchored_vwap, session_vwap


def warm_up() -> None:
    """Compile (or load from numba's disk cache) every indicator kernel, so later calls do not wait
    for the JIT. About a second with a warm cache, 10-25 s cold on the 2-core dev box. Compiling
    is Python code holding the GIL (the GUI thread still gets its switch-interval turns): call it
    from a worker thread, never the GUI thread."""
    c = np.linspace(100.0, 101.0, 64)
    session = np.repeat(np.arange(4, dtype=np.int64), 16)
    sma(c, 5)
    ema(c, 5)
    rsi(c, 5)
    adx(c, c, c, 5)
    atr(c, c, c, 5)
    true_range(c, c, c)
    bollinger(c, 5)
    historical_volatility(c, 5)
    session_vwap(c, c, c, c, session)
    anchored_vwap(c, c, c, c, 3)
    # The scanner's batched drivers (core/indicators/batch.py): compiled here too, not on the
    # first live scan.
    from core.indicators.batch import anchored_vwap_lines, scanner_indicators

    starts, ends = np.array([0, 32], dtype=np.int64), np.array([32, 64], dtype=np.int64)
    out = {k: np.full(64, np.nan) for k in ("ema9", "ema20", "ema50", "atr", "adx", "vwap")}
    scanner_indicators(c, c, c, c, session, starts, ends, np.zeros(2, dtype=bool), 14, out)
    anchored_vwap_lines(c, c, c, c, starts, ends)


__all__ = [
    "MINUTES_PER_YEAR",
    "adx",
    "anchored_vwap",
    "atr",
    "bollinger",
    "ema",
    "ema_stack",
    "expected_move",
    "historical_volatilities",
    "historical_volatility",
    "keltner",
    "realized_sigma",
    "rsi",
    "session_vwap",
    "sma",
    "squeeze",
    "true_range",
    "warm_up",
]
