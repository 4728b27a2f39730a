"""The compiled drivers behind core/indicators/batch.py: loops over many series calling the same
kernels (IEEE-exact, no fastmath) as the per-series functions.

Module-level functions, imported on first use like `_kernels`. They call the kernels as module
globals: numba's disk cache keys a function by its code and by the values of its closure
variables, and a jitted function captured in a closure pickles differently in every process — the
drivers used to be closures, so each process compiled them again (≈ 2 s, the bulk of a warm-up) and
added a new cache entry every time."""

from __future__ import annotations

from numba import njit

from core.indicators._kernels import _CACHE, adx, anchored_vwap, atr, ema, session_vwap


@njit(cache=_CACHE, nogil=True, fastmath=False, error_model="numpy")
def scanner_run(high, low, close, volume, sid, starts, ends, skip, with_vwap, periods,  # type: ignore[no-untyped-def]
                e9, e20, e50, atr_out, adx_out, plus, minus, vwap, u1, l1, u2, l2) -> None:
    for s in range(starts.shape[0]):
        a, b = starts[s], ends[s]
        if skip[s] or b - a < 2:
            continue
        h, lo, c = high[a:b], low[a:b], close[a:b]
        # Periods read from an array are int64, like the per-series calls (a literal 9 would
        # compile a second signature of the kernel).
        ema(c, periods[0], e9[a:b])
        ema(c, periods[1], e20[a:b])
        ema(c, periods[2], e50[a:b])
        atr(h, lo, c, periods[3], atr_out[a:b])
        adx(h, lo, c, periods[3], adx_out[a:b], plus[a:b], minus[a:b])
        if with_vwap[s]:
            session_vwap(h, lo, c, volume[a:b], sid[a:b], vwap[a:b], u1[a:b], l1[a:b], u2[a:b], l2[a:b])


@njit(cache=_CACHE, nogil=True, fastmath=False, error_model="numpy")
def anchored_vwap_run(high, low, close, volume, anchors, ends, offsets, zero, out) -> None:  # type: ignore[no-untyped-def]
    for j in range(anchors.shape[0]):
        a, b, o = anchors[j], ends[j], offsets[j]
        anchored_vwap(high[a:b], low[a:b], close[a:b], volume[a:b], zero[0], out[o:o + b - a])
