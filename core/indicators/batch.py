"""The scanner's bar indicators for many series in one compiled call.

A live rescan rebuilds the features of every watched symbol on each bar close; calling the
indicator functions per series costs ~20 µs of argument checks per call (six per series). This
driver loops over the series inside numba and calls the same kernels (IEEE-exact, no fastmath), so
every value equals the per-series call. Series that need the checked path (NaN leading values,
negative volume) are left to the caller (`needs_checked_path`).
"""

from __future__ import annotations

import numpy as np

from core.indicators._common import kernel_input


def needs_checked_path(high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray,
                       starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Per series [start, end): True where the per-series indicator functions would skip leading
    NaNs or raise (negative volume)."""
    out = np.zeros(len(starts), dtype=bool)
    some = np.flatnonzero(np.asarray(ends) > np.asarray(starts))
    if not len(some):
        return out
    a = np.asarray(starts)[some]
    out[some] = np.isnan(high[a]) | np.isnan(low[a]) | np.isnan(close[a])
    neg = np.flatnonzero(volume < 0)
    if len(neg):
        out |= (np.searchsorted(neg, starts) < np.searchsorted(neg, ends))
    return out


def scanner_indicators(high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray,
                       session_id: np.ndarray, starts: np.ndarray, ends: np.ndarray, skip: np.ndarray,
                       n_atr: int, out: dict[str, np.ndarray]) -> None:
    """EMA 9/20/50, Wilder ATR(n_atr), ADX(n_atr) and the session VWAP of each series [start, end)
    not marked in `skip`, written into out["ema9"|"ema20"|"ema50"|"atr"|"adx"|"vwap"] (NaN-filled
    by the caller). Series with fewer than 2 bars are left alone; the VWAP only where volume > 0."""
    from core.indicators._batch_kernels import scanner_run  # numba loads on first use

    n = len(close)
    spare = [np.empty(n) for _ in range(6)]     # +DI, -DI and the VWAP bands: not kept
    with_vwap = np.array([bool(volume[a:b].any()) for a, b in zip(starts, ends, strict=True)], dtype=np.bool_)
    # Read-only C-contiguous inputs, as the per-series functions pass them: the kernels keep their
    # one compiled signature each.
    f64 = [kernel_input(np.asarray(x, dtype=np.float64)) for x in (high, low, close, volume)]
    scanner_run(*f64, kernel_input(np.asarray(session_id, dtype=np.int64)),
                np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64),
                np.asarray(skip, dtype=np.bool_), with_vwap, np.array([9, 20, 50, n_atr], dtype=np.int64),
                out["ema9"], out["ema20"], out["ema50"], out["atr"], out["adx"], spare[0], spare[1], out["vwap"],
                *spare[2:])


def anchored_vwap_lines(high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray,
                        anchors: np.ndarray, ends: np.ndarray) -> list[np.ndarray]:
    """`anchored_vwap(x[a:end], …, 0)` for each (a, end) pair, in one compiled call (same kernel,
    same values). Volume must be ≥ 0 (the caller checks; the per-line function raises on it)."""
    from core.indicators._batch_kernels import anchored_vwap_run

    anchors = np.asarray(anchors, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    lens = ends - anchors
    offsets = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    out = np.empty(int(lens.sum()), dtype=np.float64)
    f64 = [kernel_input(np.asarray(x, dtype=np.float64)) for x in (high, low, close, volume)]
    anchored_vwap_run(*f64, anchors, ends, offsets, np.zeros(1, dtype=np.int64), out)
    return [out[o:o + n] for o, n in zip(offsets.tolist(), lens.tolist(), strict=True)]
