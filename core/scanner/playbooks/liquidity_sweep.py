"""Liquidity sweep: equal lows (highs) — resting stops — are run and the level is reclaimed."""

from __future__ import annotations

import numpy as np

from core.market.sessions import SessionPhase as P
from core.overlays.liquidity import pivot_indices
from core.scanner.features import Features
from core.scanner.playbooks.base import (
    Arming,
    Playbook,
    PlaybookSpec,
    Signals,
    explain,
    pick,
    row_max,
    row_min,
    side,
    volume_ok,
)

PIVOT_K = 3        # a pivot low is the lowest low of the 3 bars either side (known 3 bars later)
POOL_WINDOW = 48   # both pivots of a pool within the last 48 bars


def pivots(f: Features, x: np.ndarray, lowest: bool) -> np.ndarray:
    """Indices j of confirmed pivots (each known only at bar j + PIVOT_K), within one series
    (whole-frame work: kept per frame for f.low / f.high, which the detector and `_arm` both ask)."""
    named = "low" if x is f.low else "high" if x is f.high else None
    if named is None:
        return _pivots(f, x, lowest)
    return f.derived(("pivots", named, lowest), lambda: _pivots(f, x, lowest))


def _pivots(f: Features, x: np.ndarray, lowest: bool) -> np.ndarray:
    k = PIVOT_K
    j = pivot_indices(x, k, lowest)
    same = (f.series_of[j - k] == f.series_of[j]) & (f.series_of[j + k] == f.series_of[j])
    return j[same]


def pools(f: Features, idx: np.ndarray, x: np.ndarray, lowest: bool) -> np.ndarray:
    """For each decision bar, the equal-lows (highs) level formed by the last two pivots confirmed by
    bar i−2 (so the sweep itself is not one of them), or NaN when they are not equal (read-only,
    kept per frame and bars for f.low / f.high)."""
    idx = np.asarray(idx, dtype=np.int64)
    named = "low" if x is f.low else "high" if x is f.high else None
    if named is None:
        return _pools(f, idx, x, lowest)
    return f.derived(("pools", named, lowest, idx.tobytes()), lambda: _pools(f, idx, x, lowest))


def _pools(f: Features, idx: np.ndarray, x: np.ndarray, lowest: bool) -> np.ndarray:
    p = pivots(f, x, lowest)
    out = np.full(len(idx), np.nan)
    if len(p) < 2:
        return out
    known = idx - 2 - PIVOT_K                     # pivots at or before this bar are confirmed by i−2
    cnt = np.searchsorted(p, known, side="right")
    ok = cnt >= 2
    p1 = p[np.maximum(cnt - 1, 0)]
    p2 = p[np.maximum(cnt - 2, 0)]
    start = f.series_start[f.series_of[idx]]
    ok &= (p2 >= start) & (idx - p2 <= POOL_WINDOW)
    tol = np.maximum(0.02, 0.0015 * f.close[idx])
    ok &= np.abs(x[p1] - x[p2]) <= tol
    level = np.minimum(x[p1], x[p2]) if lowest else np.maximum(x[p1], x[p2])
    # The pool must still be intact up to the sweep window (bars after the newer pivot up to i−2).
    between = f.window(x, idx, POOL_WINDOW, end_lag=2)
    offs = (idx[:, None] - 2 - POOL_WINDOW + 1) + np.arange(POOL_WINDOW)[None, :]
    after = offs > p1[:, None]
    with np.errstate(invalid="ignore"):
        broke = np.where(after, between < level[:, None] if lowest else between > level[:, None], False)
    ok &= ~broke.any(axis=1)
    out[ok] = level[ok]
    return out


class LiquiditySweep(Playbook):
    spec = PlaybookSpec(
        name="liquidity_sweep", title="Liquidity sweep and reclaim",
        phases=(P.OPEN_DRIVE, P.MORNING, P.MIDDAY, P.AFTERNOON, P.POWER_HOUR),
        inputs=("pivot lows/highs (±3 bars)", "equal-level tolerance max(0.02, 0.15%)", "ATR14", "volume"),
        trigger="two pivots at equal lows (highs) within the last 48 bars, untouched since; this bar or "
                "the previous one trades below (above) them and this bar closes back above (below)",
        entry="the trigger bar's close", stop="sweep extreme ∓ 0.25·ATR",
        targets="style base (ATR multiples of the style horizon: hourly intraday, daily swing) snapped to key levels",
        conditions=("volume_ge_median", "vwap_side", "ema_stack_not_against", "wick_rejection"),
        invalidation="a close back beyond the swept level",
        armed="equal lows (highs) from two pivots within the last 48 bars, still intact (or swept this bar "
              "without a reclaim): waiting for a trade below (above) them and a close back above (below)",
        forming="—",
        armed_entry="entry ≈ the pool level, stop the level − 0.1·ATR sweep − 0.25·ATR (mirrored); when this "
                    "bar already swept: stop this bar's low − 0.25·ATR",
    )

    def _detect(self, f: Features, idx: np.ndarray) -> Signals:
        c, a, lo, hi = f.close[idx], f.atr[idx], f.low[idx], f.high[idx]
        eq_lo, eq_hi = pools(f, idx, f.low, True), pools(f, idx, f.high, False)
        lo2 = row_min(f.window(f.low, idx, 2))
        hi2 = row_max(f.window(f.high, idx, 2))
        prev_c = f.lag(f.close, idx, 1)
        with np.errstate(invalid="ignore"):
            long_ = (lo2 < eq_lo) & (c > eq_lo) & ((lo < eq_lo) | (prev_c < eq_lo))
            short = (hi2 > eq_hi) & (c < eq_hi) & ((hi > eq_hi) | (prev_c > eq_hi))
            d = side(long_, short)
            stop = pick(d, lo2 - 0.25 * a, hi2 + 0.25 * a)
            rng = np.where(hi > lo, hi - lo, np.nan)
            wick = pick(d, (np.minimum(c, f.open[idx]) - lo) / rng, (hi - np.maximum(c, f.open[idx])) / rng)
            conds = [volume_ok(f, idx), np.sign(c - f.vwap[idx]) == d, f.stack[idx] != -d, wick >= 0.4]
        level = pick(d, eq_lo, eq_hi)
        return self._signals(idx, d != 0, d, c, stop, level, conds, levels={"liquidity_pool": level})

    def _arm(self, f: Features, idx: np.ndarray) -> Arming:
        c, a, lo, hi = f.close[idx], f.atr[idx], f.low[idx], f.high[idx]
        eq_lo, eq_hi = pools(f, idx, f.low, True), pools(f, idx, f.high, False)
        prev_lo, prev_hi = f.lag(f.low, idx, 1), f.lag(f.high, idx, 1)
        with np.errstate(invalid="ignore"):
            # Intact through the previous bar; this bar may have swept without reclaiming.
            ok_lo = np.isfinite(eq_lo) & ~(prev_lo < eq_lo) & ((lo >= eq_lo) | (c < eq_lo))
            ok_hi = np.isfinite(eq_hi) & ~(prev_hi > eq_hi) & ((hi <= eq_hi) | (c > eq_hi))
            nearer_lo = np.where(ok_lo & ok_hi, (c - eq_lo) <= (eq_hi - c), ok_lo)
            d = side(ok_lo & nearer_lo, ok_hi & ~nearer_lo)
            level = pick(d, eq_lo, eq_hi)
            swept = pick(d, lo < eq_lo, hi > eq_hi)
            stop = pick(d, np.where(swept, lo, eq_lo - 0.1 * a) - 0.25 * a,
                        np.where(swept, hi, eq_hi + 0.1 * a) + 0.25 * a)
            conds = [volume_ok(f, idx), np.sign(c - f.vwap[idx]) == d, f.stack[idx] != -d,
                     np.zeros(len(idx), dtype=bool)]
            why = explain("no intact equal highs/lows within the last 48 bars",
                          (np.isfinite(eq_lo) | np.isfinite(eq_hi), "equal highs/lows already traded through"))
        return Arming(d, level.copy(), stop, level.copy(), conds, np.zeros(len(idx), dtype=bool), why,
                      ("a trade below the equal lows {level:.2f} and a close back above them",
                       "a trade above the equal highs {level:.2f} and a close back below them"), level)
