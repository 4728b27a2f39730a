"""Volume-weighted average price: per session (reset at every session change) and anchored.

Typical price TP = (H+L+C)/3, weighted by volume. The bands are the volume-weighted standard
deviation of TP around the VWAP: sigma_t = sqrt(sum v*(TP - VWAP_t)^2 / sum v) over the session
so far. One pass (core/indicators/_kernels.py) whose sums restart at each session and run on TP
minus the session's first TP, so the variance keeps its digits and a session never depends on
earlier ones. A bar where the session's cumulative volume is still 0 has no VWAP: NaN (value and
bands).
"""

from __future__ import annotations

import numpy as np

from core.errors import InputError
from core.indicators._common import as_series, kernel_input, kernels, same_length


def _hlcv(
    high: object, low: object, close: object, volume: object
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    h, lo, c = as_series("high", high), as_series("low", low), as_series("close", close)
    v = as_series("volume", volume)
    same_length(high=h, low=lo, close=c, volume=v)
    if np.any(v < 0):
        raise InputError("volume", "must be >= 0")
    return h, lo, c, v


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
    h, lo, c, v = _hlcv(high, low, close, volume)
    sid = np.asarray(session_id)
    if sid.ndim != 1 or not np.issubdtype(sid.dtype, np.integer):
        raise InputError("session_id", "must be a 1-D integer array")
    same_length(high=h, session_id=sid)
    sid = kernel_input(sid.astype(np.int64, copy=False))  # one kernel signature; equality is kept
    lines = tuple(np.empty(len(h), dtype=np.float64) for _ in range(5))
    kernels().session_vwap(h, lo, c, v, sid, *lines)
    return lines  # type: ignore[return-value]


def anchored_vwap(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, anchor_index: int
) -> np.ndarray:
    """VWAP accumulated from bar ``anchor_index`` (inclusive) onward, never reset; NaN before the
    anchor and while the volume since the anchor is 0."""
    h, lo, c, v = _hlcv(high, low, close, volume)
    if isinstance(anchor_index, bool) or not isinstance(anchor_index, int | np.integer):
        raise InputError("anchor_index", f"must be an integer, got {anchor_index!r}")
    if not 0 <= anchor_index < len(h):
        raise InputError("anchor_index", f"must be in [0, {len(h)}), got {anchor_index}")
    out = np.empty(len(h), dtype=np.float64)
    kernels().anchored_vwap(h, lo, c, v, int(anchor_index), out)
    return out
