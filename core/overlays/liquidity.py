"""Liquidity pools: equal highs / equal lows (≥ 2 pivots within max(0.02, 0.15% price)) where
resting stops sit, and whether a later bar has swept them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.errors import InputError
from core.market.bars import Bars


@dataclass(frozen=True, slots=True)
class LiquidityPool:
    kind: str            # "equal_highs" | "equal_lows"
    level: float         # the outermost of the equal pivots (where the stops rest beyond)
    touches: int
    first_ts: int        # UTC ns of the first and last pivot bar
    last_ts: int
    swept: bool          # a later bar traded beyond the level
    swept_ts: int | None

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "level": self.level, "touches": self.touches, "first_ts": self.first_ts,
                "last_ts": self.last_ts, "swept": self.swept, "swept_ts": self.swept_ts}


def pivot_indices(x: np.ndarray, k: int, lowest: bool) -> np.ndarray:
    """Bars j whose value is the extreme of bars j−k..j+k (known only k bars later)."""
    if k < 1:
        raise InputError("k", "must be ≥ 1")
    n = len(x)
    if n < 2 * k + 1:
        return np.empty(0, dtype=np.int64)
    op = np.minimum if lowest else np.maximum
    m = n - 2 * k
    ext = x[0:m].copy()
    for s in range(1, 2 * k + 1):  # shifted slices: cheaper than a window view on short series
        op(ext, x[s:s + m], out=ext)
    return np.flatnonzero(x[k:n - k] == ext) + k


def liquidity_pools(bars: Bars, k: int = 3, pct: float = 0.0015, abs_tol: float = 0.02,
                    min_touches: int = 2) -> list[LiquidityPool]:
    """Equal highs and equal lows among ±k-bar pivots, clustered greedily by price."""
    if min_touches < 2:
        raise InputError("min_touches", "must be ≥ 2")
    out: list[LiquidityPool] = []
    if len(bars) < 2 * k + 1:
        return out
    tol = max(abs_tol, pct * float(bars.close[-1]))
    for kind, x, lowest in (("equal_highs", bars.high, False), ("equal_lows", bars.low, True)):
        piv = pivot_indices(x, k, lowest)
        if len(piv) < min_touches:
            continue
        order = piv[np.argsort(x[piv], kind="stable")]
        groups: list[list[int]] = [[int(order[0])]]
        for j in order[1:]:
            if x[j] - x[groups[-1][0]] <= tol:
                groups[-1].append(int(j))
            else:
                groups.append([int(j)])
        for g in groups:
            if len(g) < min_touches:
                continue
            level = float(x[g].min() if lowest else x[g].max())
            last = max(g)
            beyond = np.flatnonzero(bars.low[last + 1:] < level) if lowest else np.flatnonzero(
                bars.high[last + 1:] > level)
            swept_ts = int(bars.ts[last + 1 + beyond[0]]) if len(beyond) else None
            out.append(LiquidityPool(kind, level, len(g), int(bars.ts[min(g)]), int(bars.ts[last]),
                                     swept_ts is not None, swept_ts))
    return out
