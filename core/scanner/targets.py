"""Target engine: style base targets (daily-ATR multiples), statistical targets from the symbol's
own MFE distribution with an empirical probability of touch, minimum spacing and tick rounding."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from core.errors import InputError
from core.market.calendar import futures_root

# Base TP1/TP2 as multiples of the style ATR (midpoints of the seed's ranges); TP3 = TP2 + (TP2 − TP1).
# The style ATR is a 15-minute ATR for scalps, an hourly one intraday, the daily one for swings
# (core.scanner.plan.style_atr).
STYLE_TARGETS: dict[str, tuple[float, float]] = {
    "scalp": (0.425, 0.80),      # seed 0.35–0.50 / 0.70–0.90
    "intraday": (0.875, 1.375),  # seed 0.75–1.0 / 1.25–1.5
    "swing": (1.25, 2.5),        # seed 1.0–1.5 / 2–3
    "leaps": (2.0, 4.0),
}
# Level snapping window per style, × the style ATR (seed values).
SNAP_WINDOW: dict[str, float] = {"scalp": 0.15, "intraday": 0.20, "swing": 0.25, "leaps": 0.30}

TICK_SIZES: dict[str, float] = {
    "ES": 0.25, "MES": 0.25, "NQ": 0.25, "MNQ": 0.25, "YM": 1.0, "MYM": 1.0, "RTY": 0.10, "M2K": 0.10,
    "CL": 0.01, "MCL": 0.01, "GC": 0.10, "MGC": 0.10, "SI": 0.005, "NG": 0.001,
    "ZB": 1 / 32, "ZN": 1 / 64, "ZF": 1 / 128, "ZT": 1 / 256, "6E": 0.00005, "6J": 0.0000005,
}
EQUITY_TICK = 0.01


def check_style(style: str) -> str:
    if style not in STYLE_TARGETS:
        raise InputError("style", f"unknown style {style!r}; use one of {', '.join(STYLE_TARGETS)}")
    return style


@lru_cache(maxsize=1024)
def tick_size(symbol: str) -> float:
    root = futures_root(symbol)
    return TICK_SIZES.get(root, 0.25) if root else EQUITY_TICK


def round_to_tick(price: float, tick: float, mode: str = "nearest") -> float:
    """Round to the tick grid: 'nearest', 'up' or 'down' (tolerant of float noise)."""
    q = price / tick
    if mode == "up":
        n = math.ceil(q - 1e-9)
    elif mode == "down":
        n = math.floor(q + 1e-9)
    else:
        n = round(q)
    return round(n * tick, 10)


def min_spacing(price: float, atr_d: float, tick: float) -> float:
    """Minimum distance between consecutive targets: max(0.25·ATR, 0.15% price, 2 ticks)."""
    return max(0.25 * atr_d if math.isfinite(atr_d) else 0.0, 0.0015 * price, 2 * tick)


def base_targets(entry: float, direction: int, atr_d: float, style: str) -> tuple[float, float, float]:
    m1, m2 = STYLE_TARGETS[check_style(style)]
    m3 = m2 + (m2 - m1)
    return tuple(entry + direction * m * atr_d for m in (m1, m2, m3))  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class TargetStats:
    """Maximum favourable excursions (in daily-ATR units) of past plans of one playbook/symbol."""

    mfe_atr: np.ndarray

    def __post_init__(self) -> None:
        a = np.asarray(self.mfe_atr, dtype=float)
        if a.ndim != 1 or not np.isfinite(a).all() or (a < 0).any():
            raise InputError("mfe_atr", "must be a 1-D array of finite values ≥ 0")
        object.__setattr__(self, "mfe_atr", np.sort(a))

    def __len__(self) -> int:
        return len(self.mfe_atr)

    def prob_touch(self, distance_atr: float) -> float:
        """Share of past plans whose MFE reached this distance (empirical probability of touch)."""
        if not len(self.mfe_atr):
            return float("nan")
        below = np.searchsorted(self.mfe_atr, distance_atr, side="left")
        return float(1.0 - below / len(self.mfe_atr))

    def distance_for(self, prob: float) -> float:
        """The distance (ATR units) that past plans reached with probability `prob`."""
        if not 0 < prob < 1:
            raise InputError("prob", "must be between 0 and 1")
        return float(np.quantile(self.mfe_atr, 1.0 - prob)) if len(self.mfe_atr) else float("nan")


def statistical_targets(entry: float, direction: int, atr_d: float, stats: TargetStats,
                        probs: Sequence[float] = (0.6, 0.4, 0.25)) -> list[tuple[float, float]]:
    """(price, empirical probability of touch) for each requested touch probability."""
    out = []
    for p in probs:
        d = stats.distance_for(p)
        out.append((entry + direction * d * atr_d, stats.prob_touch(d)))
    return out


def space_targets(entry: float, direction: int, targets: Sequence[float], spacing: float) -> list[float]:
    """Push each target at least `spacing` beyond entry and the previous target (never nearer)."""
    out: list[float] = []
    prev = entry
    for t in targets:
        t = max(t * direction, prev * direction + spacing) * direction
        out.append(t)
        prev = t
    return out
