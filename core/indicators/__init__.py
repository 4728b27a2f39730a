"""Vectorised technical indicators on float64 numpy arrays.

Every function takes equal-length 1-D arrays and returns arrays of the same length with NaN where
the indicator is not yet defined (TA-Lib's warm-up where TA-Lib has the indicator). Bad input
raises core.errors.InputError naming the parameter. See docs/indicators.md.
"""

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
]
