"""Volume-weighted average price: per session (reset at every session change) and anchored.

Typical price TP = (H+L+C)/3, weighted by volume. The bands are the volume-weighted standard
deviation of TP around the VWAP: sigma_t = sqrt(sum v*(TP - VWAP_t)^2 / sum v) over the session
so far. Sums run on TP minus the session's first TP, so the variance keeps its digits.
A bar where the session's cumulative volume is still 0 has no VWAP: NaN (value and bands).
"""

from __future__ import annotations

import numpy as np

from core.errors import InputError
from core.indicators._common import as_series, nan_array, same_length


def _typical_volume(
    high: object, low: object, close: object, volume: object
) -> tuple[np.ndarray, np.ndarray]:
    h, lo, c = as_series("high", high), as_series("low", low), as_series("close", close)
    v = as_series("volume", volume)
    same_length(high=h, low=lo, close=c, volume=v)
    if np.any(v < 0):
        raise InputError("volume", "must be >= 0")
    tp = h + lo
    tp += c
    tp /= 3.0
    return tp, v


def _segment_sums(values: np.ndarray, starts: np.ndarray, seg_of_bar: np.ndarray) -> np.ndarray:
    """Running sum of ``values`` that restarts at each segment start (global cumsum minus the
    cumsum just before the segment)."""
    cum = np.cumsum(values)
    before = np.zeros(len(starts), dtype=np.float64)
    before[1:] = cum[starts[1:] - 1]
    cum -= before[seg_of_bar]
    return cum


def _vwap_lines(
    tp: np.ndarray, v: np.ndarray, starts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    lengths = np.diff(np.append(starts, len(tp)))
    seg_of_bar = np.repeat(np.arange(len(starts)), lengths)
    base = tp[starts][seg_of_bar]
    dev = tp - base  # TP relative to the session's first TP
    w1 = v * dev
    cum_v = _segment_sums(v, starts, seg_of_bar)
    cum_1 = _segment_sums(w1, starts, seg_of_bar)
    w1 *= dev
    cum_2 = _segment_sums(w1, starts, seg_of_bar)
    no_volume = cum_v <= 0
    cum_v[no_volume] = np.nan
    mean_dev = cum_1 / cum_v
    var = cum_2 / cum_v
    var -= np.square(mean_dev)
    np.maximum(var, 0.0, out=var)  # rounding can dip a one-price session a hair below zero
    sigma = np.sqrt(var)
    vwap = base + mean_dev
    upper1 = vwap + sigma
    lower1 = vwap - sigma
    sigma *= 2.0
    upper2 = vwap + sigma
    lower2 = vwap - sigma
    return vwap, upper1, lower1, upper2, lower2


def session_vwap(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    session_id: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Session VWAP with 1σ and 2σ volume-weighted stdev bands, reset whenever ``session_id``
    changes from one bar to the next (equal ids = same session; the caller derives them from the
    exchange calendar). Returns (vwap, upper1, lower1, upper2, lower2)."""
    tp, v = _typical_volume(high, low, close, volume)
    sid = np.asarray(session_id)
    if sid.ndim != 1 or not np.issubdtype(sid.dtype, np.integer):
        raise InputError("session_id", "must be a 1-D integer array")
    same_length(high=tp, session_id=sid)
    if len(tp) == 0:
        return tuple(nan_array(0) for _ in range(5))  # type: ignore[return-value]
    starts = np.flatnonzero(sid[1:] != sid[:-1]) + 1
    starts = np.concatenate(([0], starts))
    return _vwap_lines(tp, v, starts)


def anchored_vwap(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, anchor_index: int
) -> np.ndarray:
    """VWAP accumulated from bar ``anchor_index`` (inclusive) onward, never reset; NaN before the
    anchor and while the volume since the anchor is 0."""
    tp, v = _typical_volume(high, low, close, volume)
    if isinstance(anchor_index, bool) or not isinstance(anchor_index, int | np.integer):
        raise InputError("anchor_index", f"must be an integer, got {anchor_index!r}")
    if not 0 <= anchor_index < len(tp):
        raise InputError("anchor_index", f"must be in [0, {len(tp)}), got {anchor_index}")
    out = nan_array(len(tp))
    out[anchor_index:] = _vwap_lines(tp[anchor_index:], v[anchor_index:], np.zeros(1, dtype=np.intp))[0]
    return out
