"""What a forecast must beat: no change in price, and driftless Brownian motion at the realized
volatility (the reflection principle for touches, with the Broadie–Glasserman–Kou correction for
discrete monitoring). numpy/scipy only.

Units: sigma is per sqrt(minute) of log price, tau is minutes to the close.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

from core.errors import InputError

BGK_BETA = 0.5826          # -zeta(1/2) / sqrt(2 pi)
RANGE_FACTOR = 1.596       # E[max - min] of Brownian motion over tau is 1.596 sigma sqrt(tau)


def no_change_close(anchor: np.ndarray | float) -> np.ndarray:
    return np.asarray(anchor, dtype=np.float64)


def touch_probability_z(d: np.ndarray | float, tau: np.ndarray | float, monitor_minutes: float = 1.0) -> np.ndarray:
    """P(touch before the close) of a level d volatility units (ln(H/S) / (sigma sqrt(tau))) away.
    Continuous reflection: 2 (1 - Phi(|d|)); discrete monitoring every `monitor_minutes` moves the
    barrier out by beta sigma sqrt(dt), i.e. by beta sqrt(dt / tau) volatility units."""
    d, tau = np.asarray(d, dtype=np.float64), np.asarray(tau, dtype=np.float64)
    shift = BGK_BETA * np.sqrt(monitor_minutes / np.maximum(tau, 1e-9))
    return np.minimum(1.0, 2.0 * (1.0 - ndtr(np.abs(d) + shift)))


def touch_probability(level: np.ndarray | float, spot: np.ndarray | float, sigma: np.ndarray | float,
                      tau: np.ndarray | float, monitor_minutes: float = 1.0) -> np.ndarray:
    """The same in prices: level H, spot S, sigma per sqrt(minute), tau minutes."""
    level, spot = np.asarray(level, dtype=np.float64), np.asarray(spot, dtype=np.float64)
    sigma, tau = np.asarray(sigma, dtype=np.float64), np.asarray(tau, dtype=np.float64)
    if np.any(level <= 0) or np.any(spot <= 0):
        raise InputError("level", "prices must be > 0")
    if np.any(sigma <= 0) or np.any(tau <= 0):
        raise InputError("sigma", "volatility and time to close must be > 0")
    return touch_probability_z(np.log(level / spot) / (sigma * np.sqrt(tau)), tau, monitor_minutes)


def brownian_quantiles(levels: tuple[float, ...]) -> np.ndarray:
    """(3 targets: close, high, low) x len(levels) quantiles in volatility units for zero drift.
    The close is normal; the running maximum M has P(M <= m) = 2 Phi(m) - 1 (reflection)."""
    p = np.asarray(levels, dtype=np.float64)
    close = ndtri(p)
    high = ndtri((1.0 + p) / 2.0)
    low = -ndtri((1.0 + (1.0 - p)) / 2.0)
    return np.stack([close, high, low])


def expected_range(sigma: np.ndarray | float, tau: np.ndarray | float) -> np.ndarray:
    """Expected session high minus low in log price from here to the close."""
    return RANGE_FACTOR * np.asarray(sigma) * np.sqrt(np.asarray(tau))
