"""Compiled single-pass loops behind the indicators (numba).

Imported on the first indicator call (see ``_common.kernels``), never at ``import core.indicators``:
numba's own import costs ~0.5 s and each kernel compiles on its first call with new argument types,
which should happen on the worker thread that computes indicators, not on the GUI thread at start.
Compiled code is cached on disk (``cache=True``): next to this file when the package folder is
writable, else in numba's user-wide cache (or ``NUMBA_CACHE_DIR``). When no cache folder is
writable at all, the kernels still work, compiled in memory on every run (a warning is logged).

Every kernel is a plain sequential loop in float64 without fastmath, so results differ from TA-Lib's
own loops by rounding only (1e-16 relative per step; the recursions contract, |a| < 1, so rounding
does not accumulate). The kernels write every element of their outputs (NaN in the warm-up), so the
callers allocate outputs with ``np.empty``. Inputs are NaN-free at index 0 (the callers skip
leading NaNs); a NaN later in the series poisons every later value of a recursion or running sum,
as in TA-Lib.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from numba import njit

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

_NAN = np.nan


def _probe() -> int:
    return 0


def _disk_cache_available() -> bool:
    """numba raises at decoration time when no cache folder is writable (read-only install and no
    writable home or NUMBA_CACHE_DIR): detect that once and compile in memory instead."""
    try:
        njit(cache=True)(_probe)
    except RuntimeError as exc:
        log.warning("numba disk cache unavailable (%s): indicator kernels will compile on every run; "
                    "set NUMBA_CACHE_DIR to a writable folder to keep them", exc)
        return False
    return True


_CACHE = _disk_cache_available()


# error_model="numpy": float division follows IEEE (x/0 = inf, 0/0 = NaN) like numpy and C, instead
# of a Python ZeroDivisionError check (and branch) on every division.
_OPTIONS = {"nogil": True, "fastmath": False, "error_model": "numpy"}


def kernel(fn: F) -> F:
    """Lazily compiled (first call), cached, GIL-free, IEEE-exact (no fastmath) loop."""
    return njit(cache=_CACHE, **_OPTIONS)(fn)  # type: ignore[no-any-return]


def helper(fn: F) -> F:
    """A loop body shared by kernels: compiled into each kernel that calls it (LLVM inlines the
    small ones) and cached with it."""
    return njit(**_OPTIONS)(fn)  # type: ignore[no-any-return]


# -- rolling windows ---------------------------------------------------------------------------
# Window sums run on y = x - shift, the shift being the newest value at the last resync, so they
# stay at the scale of the local price move, and everything is recomputed from the window every
# `period` bars. The variance is Welford's sum of squared
# deviations (updates at the scale of the deviations, no cancellation of large squares), exactly
# 0 on a window of n equal values, and recomputed two-pass when it falls below 1e-4 of its largest
# value since the last recompute: rounding made while it was large would otherwise dominate (the
# relative error of the variance stays below ~sqrt(period) * eps / 1e-4, about 1e-10).
_M2_DROP = 1e-4


@helper
def _resync_period(n: int) -> int:
    # n extra reads per period: <= 1/16 of the work.
    return max(1024, 16 * n)


@helper
def _shifted_sum(x: np.ndarray, end: int, n: int) -> tuple[float, float]:
    """(shift, sum of x - shift) over the window x[end-n:end]; shift = x[end-1]."""
    shift = x[end - 1]
    s = 0.0
    for i in range(end - n, end):
        s += x[i] - shift
    return shift, s


@helper
def _window_m2(x: np.ndarray, end: int, n: int, shift: float, mean: float) -> float:
    """Sum of squared deviations of x[end-n:end] - shift from ``mean`` (two-pass)."""
    m2 = 0.0
    for i in range(end - n, end):
        d = (x[i] - shift) - mean
        m2 += d * d
    return m2


@helper
def _run_length(x: np.ndarray, end: int, n: int) -> int:
    """How many of the last (up to n) values of x[:end] equal the last one, exactly."""
    run = 1
    i = end - 2
    while run < n and i >= 0 and x[i] == x[end - 1]:
        run += 1
        i -= 1
    return run


@helper
def _add(s: float, c: float, d: float) -> tuple[float, float]:
    """s + d with the rounding error collected in c (Knuth's TwoSum): the window sum s + c does
    not drift. A drifting mean would bias the Welford update by 2 * drift * price move."""
    t = s + d
    bp = t - s
    c += (s - (t - bp)) + (d - bp)
    return t, c


@kernel
def rolling_mean(x: np.ndarray, n: int, out: np.ndarray) -> None:
    """out[t] = mean of x[t-n+1..t] (TA-Lib SMA: a running sum, here of x - shift, so its rounding
    is at the scale of the local price move, not of the price); NaN for t < n-1."""
    size = x.shape[0]
    for i in range(min(n - 1, size)):
        out[i] = _NAN
    if size < n:
        return
    inv_n = 1.0 / n  # a multiply instead of a divide per bar (1 ulp; TA-Lib divides)
    shift, s = _shifted_sum(x, n, n)
    out[n - 1] = shift + s * inv_n
    period = _resync_period(n)
    for blk in range(n, size, period):
        end = min(blk + period, size)
        # Views indexed from 0: numba then knows the index is not negative and skips the
        # wrap-around check it adds to every x[t - n] (about 25% of this loop).
        new, old, o = x[blk:end], x[blk - n : end - n], out[blk:end]
        for j in range(end - blk):
            s += new[j] - old[j]  # = (new - shift) - (old - shift), bit for bit
            o[j] = shift + s * inv_n
        if s == s:  # a NaN stays (TA-Lib's running sum keeps it too)
            shift, s = _shifted_sum(x, end, n)


@helper
def _mean_var_start(x: np.ndarray, end: int, n: int, inv_n: float) -> tuple[float, float, float, float, int]:
    """State of the window x[end-n:end]: (shift, sum of x - shift, mean of x - shift, sum of
    squared deviations, run of equal values at its end)."""
    shift, s = _shifted_sum(x, end, n)
    m = s * inv_n
    run = _run_length(x, end, n)
    m2 = 0.0 if run >= n else _window_m2(x, end, n, shift, m)
    return shift, s, m, m2, run


@helper
def _mean_var_step(
    new: float, old: float, prev: float, n: int, inv_n: float, shift: float, s: float, c: float, m: float,
    m2: float, run: int,
) -> tuple[float, float, float, float, int]:
    """Slide the window by one bar: ``new`` enters, ``old`` leaves, ``prev`` is the bar before
    ``new``. Returns (s, c, mean, m2, run). The sum is compensated (rolling_mean's is not: its
    mean is only output, here it also centres the deviations)."""
    ny = new - shift
    oy = old - shift
    d = new - old  # as in rolling_mean
    s, c = _add(s, c, d)
    mean = (s + c) * inv_n
    m2 += d * ((ny - mean) + (oy - m))
    run = run + 1 if new == prev else 1
    if run >= n and mean == mean:
        m2 = 0.0
    return s, c, mean, m2, run


@helper
def _stdev(m2: float, inv_count: float) -> float:
    """sqrt(m2 / count); rounding can dip a near-flat window's m2 a hair below 0: report 0."""
    var = m2 * inv_count
    return np.sqrt(0.0 if var < 0.0 else var)


@helper
def _bands(center: float, m2: float, inv_n: float, k: float) -> tuple[float, float, float]:
    width = k * _stdev(m2, inv_n)
    return center, center + width, center - width


# The per-bar loops below stop early (returning how far they got) where m2 has collapsed, and the
# kernel recomputes it and calls them again: with the rare recompute loop inside the per-bar loop,
# LLVM kept fewer values in registers and the loop ran ~40% slower.
@helper
def _bollinger_run(
    new: np.ndarray, old: np.ndarray, prev: np.ndarray, mid: np.ndarray, upper: np.ndarray, lower: np.ndarray,
    n: int, inv_n: float, k: float, shift: float, s: float, c: float, m: float, m2: float, run: int, big: float,
) -> tuple[int, float, float, float, float, int, float]:
    for j in range(new.shape[0]):
        s, c, m, m2, run = _mean_var_step(new[j], old[j], prev[j], n, inv_n, shift, s, c, m, m2, run)
        big = m2 if m2 > big else big  # a select: this comparison is a coin flip
        if m2 < big * _M2_DROP and run < n:
            return j, s, c, m, m2, run, big
        mid[j], upper[j], lower[j] = _bands(shift + m, m2, inv_n, k)
    return new.shape[0], s, c, m, m2, run, big


@kernel
def bollinger(x: np.ndarray, n: int, k: float, mid: np.ndarray, upper: np.ndarray, lower: np.ndarray) -> None:
    """mid = SMA(n), bands = mid ± k * population stdev."""
    size = x.shape[0]
    for i in range(min(n - 1, size)):
        mid[i] = _NAN
        upper[i] = _NAN
        lower[i] = _NAN
    if size < n:
        return
    inv_n = 1.0 / n
    shift, s, m, m2, run = _mean_var_start(x, n, n, inv_n)
    c = 0.0
    big = m2
    mid[n - 1], upper[n - 1], lower[n - 1] = _bands(shift + m, m2, inv_n, k)
    period = _resync_period(n)
    for blk in range(n, size, period):
        end = min(blk + period, size)
        t = blk
        while t < end:
            done, s, c, m, m2, run, big = _bollinger_run(
                x[t:end], x[t - n : end - n], x[t - 1 : end - 1], mid[t:end], upper[t:end], lower[t:end],
                n, inv_n, k, shift, s, c, m, m2, run, big,
            )
            t += done
            if t < end:  # m2 collapsed at bar t: recompute it from the window
                m2 = _window_m2(x, t + 1, n, shift, m)
                big = m2
                mid[t], upper[t], lower[t] = _bands(shift + m, m2, inv_n, k)
                t += 1
        if s == s:  # a NaN stays (as in rolling_mean)
            shift, s, m, m2, run = _mean_var_start(x, end, n, inv_n)
            c = 0.0
            big = m2


@helper
def _sample_std_run(
    new: np.ndarray, old: np.ndarray, prev: np.ndarray, out: np.ndarray, n: int, inv_n: float, inv_dof: float,
    scale: float, shift: float, s: float, c: float, m: float, m2: float, run: int, big: float,
) -> tuple[int, float, float, float, float, int, float]:
    for j in range(new.shape[0]):
        s, c, m, m2, run = _mean_var_step(new[j], old[j], prev[j], n, inv_n, shift, s, c, m, m2, run)
        big = m2 if m2 > big else big
        if m2 < big * _M2_DROP and run < n:
            return j, s, c, m, m2, run, big
        out[j] = scale * _stdev(m2, inv_dof)
    return new.shape[0], s, c, m, m2, run, big


@kernel
def rolling_sample_std(x: np.ndarray, n: int, scale: float, out: np.ndarray) -> None:
    """out[t] = scale * sample stdev (ddof=1) of x[t-n+1..t]; NaN for t < n-1. n >= 2."""
    size = x.shape[0]
    for i in range(min(n - 1, size)):
        out[i] = _NAN
    if size < n:
        return
    inv_n = 1.0 / n
    inv_dof = 1.0 / (n - 1)
    shift, s, m, m2, run = _mean_var_start(x, n, n, inv_n)
    c = 0.0
    big = m2
    out[n - 1] = scale * _stdev(m2, inv_dof)
    period = _resync_period(n)
    for blk in range(n, size, period):
        end = min(blk + period, size)
        t = blk
        while t < end:
            done, s, c, m, m2, run, big = _sample_std_run(
                x[t:end], x[t - n : end - n], x[t - 1 : end - 1], out[t:end],
                n, inv_n, inv_dof, scale, shift, s, c, m, m2, run, big,
            )
            t += done
            if t < end:
                m2 = _window_m2(x, t + 1, n, shift, m)
                big = m2
                out[t] = scale * _stdev(m2, inv_dof)
                t += 1
        if s == s:
            shift, s, m, m2, run = _mean_var_start(x, end, n, inv_n)
            c = 0.0
            big = m2


# -- recursions ---------------------------------------------------------------------------------
# y_t = a*y_{t-1} + b*v_t is evaluated two bars at a time: y_{t+1} = a^2*y_{t-1} + (ab*v_t + b*v_{t+1})
# comes straight from y_{t-1}, so the loop-carried chain is one multiply-add per two bars (the
# sequential loop is bound by that chain's latency). Same recursion, rounding differs by ~1 ulp
# and does not accumulate (|a| < 1). a = 0 (n = 1) has no memory and is special-cased, so a NaN
# does not carry over there, as before.
@helper
def _smooth2(y: float, u: float, w: float, a: float, b: float, a2: float, ab: float) -> tuple[float, float]:
    """(y after input u, y after inputs u then w)."""
    return a * y + b * u, a2 * y + (ab * u + b * w)


@kernel
def ema(x: np.ndarray, n: int, out: np.ndarray) -> None:
    """TA-Lib EMA: alpha = 2/(n+1), seeded at bar n-1 with the mean of the first n values."""
    size = x.shape[0]
    for i in range(min(n - 1, size)):
        out[i] = _NAN
    if size < n:
        return
    b = 2.0 / (n + 1)
    a = 1.0 - b
    y = 0.0
    for i in range(n):  # seed: the plain mean of the first n values, as TA-Lib
        y += x[i]
    y /= n
    out[n - 1] = y
    xs, o = x[n:], out[n:]
    m = xs.shape[0]
    if a == 0.0:
        for j in range(m):
            o[j] = b * xs[j]
        return
    a2, ab = a * a, a * b
    for j in range(m // 2):
        i = 2 * j
        o[i], y = _smooth2(y, xs[i], xs[i + 1], a, b, a2, ab)
        o[i + 1] = y
    if m % 2:
        o[m - 1] = a * y + b * xs[m - 1]


@helper
def _true_range(high: float, low: float, prev_close: float) -> float:
    """max(high, prev close) - min(low, prev close): one subtraction, so bit-identical to TA-Lib's
    max(H-L, |H-Cp|, |L-Cp|) when high >= low. A NaN in any input gives NaN (numpy semantics)."""
    top = high if high > prev_close else prev_close
    bottom = low if low < prev_close else prev_close
    r = top - bottom
    if high != high or low != low:
        r = _NAN
    return r


@kernel
def true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray, out: np.ndarray) -> None:
    """TA-Lib TRANGE: NaN at bar 0."""
    size = close.shape[0]
    if size == 0:
        return
    out[0] = _NAN
    h, lo, cp, o = high[1:], low[1:], close[:-1], out[1:]
    for j in range(size - 1):
        o[j] = _true_range(h[j], lo[j], cp[j])


@kernel
def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int, out: np.ndarray) -> None:
    """Wilder ATR (TA-Lib): mean TR of bars 1..n at bar n, then ATR = a*ATR + TR/n, a = 1-1/n."""
    size = close.shape[0]
    for i in range(min(n, size)):
        out[i] = _NAN
    if size <= n:
        return
    y = 0.0
    for t in range(1, n + 1):
        y += _true_range(high[t], low[t], close[t - 1])
    y /= n
    out[n] = y
    b = 1.0 / n
    a = 1.0 - b
    h, lo, cp, o = high[n + 1 :], low[n + 1 :], close[n:-1], out[n + 1 :]
    m = o.shape[0]
    if a == 0.0:
        for j in range(m):
            o[j] = b * _true_range(h[j], lo[j], cp[j])
        return
    a2, ab = a * a, a * b
    for j in range(m // 2):
        i = 2 * j
        u = _true_range(h[i], lo[i], cp[i])
        w = _true_range(h[i + 1], lo[i + 1], cp[i + 1])
        o[i], y = _smooth2(y, u, w, a, b, a2, ab)
        o[i + 1] = y
    if m % 2:
        o[m - 1] = a * y + b * _true_range(h[m - 1], lo[m - 1], cp[m - 1])


@helper
def _gain_loss(change: float) -> tuple[float, float]:
    """(max(change, 0), max(-change, 0)); a NaN change stays NaN in both (numpy semantics)."""
    gain = 0.0 if change <= 0.0 else change
    loss = 0.0 if change >= 0.0 else -change
    return gain, loss


@helper
def _rsi_value(g: float, lo: float) -> float:
    total = g + lo
    value = 100.0 * (g / total)
    if total <= 0.0:  # flat market (TA-Lib: 0); a branch, rarely taken, beats a select here
        value = 0.0
    return value


@kernel
def rsi(close: np.ndarray, n: int, out: np.ndarray) -> None:
    """Wilder RSI (TA-Lib): averages seeded with the mean gain/loss of the first n changes at bar n,
    then alpha = 1/n; RSI = 100 G/(G+L), 0 when G+L = 0."""
    size = close.shape[0]
    for i in range(min(n, size)):
        out[i] = _NAN
    if size <= n:
        return
    g = 0.0
    lo = 0.0
    for t in range(1, n + 1):
        dg, dl = _gain_loss(close[t] - close[t - 1])
        g += dg
        lo += dl
    g /= n
    lo /= n
    out[n] = _rsi_value(g, lo)
    b = 1.0 / n
    a = 1.0 - b
    cur, prev, o = close[n + 1 :], close[n:-1], out[n + 1 :]
    m = o.shape[0]
    if a == 0.0:
        for j in range(m):
            dg, dl = _gain_loss(cur[j] - prev[j])
            o[j] = _rsi_value(b * dg, b * dl)
        return
    a2, ab = a * a, a * b
    for j in range(m // 2):
        i = 2 * j
        ug, ul = _gain_loss(cur[i] - prev[i])
        wg, wl = _gain_loss(cur[i + 1] - prev[i + 1])
        g1, g = _smooth2(g, ug, wg, a, b, a2, ab)
        l1, lo = _smooth2(lo, ul, wl, a, b, a2, ab)
        o[i] = _rsi_value(g1, l1)
        o[i + 1] = _rsi_value(g, lo)
    if m % 2:
        dg, dl = _gain_loss(cur[m - 1] - prev[m - 1])
        o[m - 1] = _rsi_value(a * g + b * dg, a * lo + b * dl)


@helper
def _directional_move(high: float, prev_high: float, low: float, prev_low: float) -> tuple[float, float]:
    """(+DM, -DM): the larger of the up and down move if it is > 0, else 0."""
    up = high - prev_high
    down = prev_low - low
    plus = up if (up > 0.0 and up > down) else 0.0
    minus = down if (down > 0.0 and down > up) else 0.0
    return plus, minus


@kernel
def adx(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    n: int,
    adx_out: np.ndarray,
    plus_out: np.ndarray,
    minus_out: np.ndarray,
) -> None:
    """Wilder ADX/+DI/-DI (TA-Lib): running sums S = a*S + v (a = 1-1/n) of +DM, -DM and TR seeded
    with the sum over bars 1..n-1; DI from bar n (0 when S_TR is not > 0); ADX seeded at bar 2n-1
    with the sum of the defined DX of bars n..2n-1 over n, then ADX = a*ADX + DX/n, held over bars
    whose DX is undefined (S_TR or DI+ + DI- not > 0)."""
    size = close.shape[0]
    for i in range(min(n, size)):
        adx_out[i] = _NAN
        plus_out[i] = _NAN
        minus_out[i] = _NAN
    for i in range(n, min(2 * n - 1, size)):
        adx_out[i] = _NAN
    if size <= n:
        return
    sp = 0.0
    sm = 0.0
    st = 0.0
    for t in range(1, n):
        p, m = _directional_move(high[t], high[t - 1], low[t], low[t - 1])
        sp += p
        sm += m
        st += _true_range(high[t], low[t], close[t - 1])
    b = 1.0 / n
    a = 1.0 - b
    seed_end = n - 1  # index (from bar n) of the last DX that goes into the ADX seed
    h, ph, lo, plo, cp = high[n:], high[n - 1 : -1], low[n:], low[n - 1 : -1], close[n - 1 : -1]
    oa, op, om = adx_out[n:], plus_out[n:], minus_out[n:]
    y = 0.0
    for j in range(size - n):
        p, m = _directional_move(h[j], ph[j], lo[j], plo[j])
        r = _true_range(h[j], lo[j], cp[j])
        if a == 0.0:  # n = 1: the sums are the bar's own values
            sp, sm, st = p, m, r
        else:
            sp = a * sp + p
            sm = a * sm + m
            st = a * st + r
        pdi = 0.0
        mdi = 0.0
        if st > 0.0:
            pdi = 100.0 * (sp / st)
            mdi = 100.0 * (sm / st)
        op[j] = pdi
        om[j] = mdi
        di_sum = pdi + mdi
        if j <= seed_end:
            if di_sum > 0.0:
                y += 100.0 * (abs(mdi - pdi) / di_sum)
            if j == seed_end:
                y /= n
                oa[j] = y
        else:
            if di_sum > 0.0:
                dx = 100.0 * (abs(mdi - pdi) / di_sum)
                y = dx * b if a == 0.0 else a * y + b * dx
            oa[j] = y


# -- VWAP ----------------------------------------------------------------------------------------
@kernel
def session_vwap(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    session_id: np.ndarray,
    vwap: np.ndarray,
    upper1: np.ndarray,
    lower1: np.ndarray,
    upper2: np.ndarray,
    lower2: np.ndarray,
) -> None:
    """Volume-weighted TP = (H+L+C)/3 and its volume-weighted stdev, accumulated from the first bar
    of each session (where session_id changes). Sums run on TP minus the session's first TP so the
    variance keeps its digits. NaN while the session's volume is still 0."""
    size = close.shape[0]
    if size == 0:
        return
    base = 0.0
    cum_v = 0.0
    cum_1 = 0.0
    cum_2 = 0.0
    last_id = session_id[0]
    for t in range(size):
        tp = ((high[t] + low[t]) + close[t]) / 3.0
        if t == 0 or session_id[t] != last_id:
            last_id = session_id[t]
            base = tp
            cum_v = 0.0
            cum_1 = 0.0
            cum_2 = 0.0
        v = volume[t]
        dev = tp - base
        w = v * dev
        cum_v += v
        cum_1 += w
        cum_2 += w * dev
        if cum_v > 0.0:
            inv_v = 1.0 / cum_v
            mean_dev = cum_1 * inv_v
            var = cum_2 * inv_v - mean_dev * mean_dev
            sigma = np.sqrt(0.0 if var < 0.0 else var)  # rounding can dip a one-price session below 0
            mid = base + mean_dev
            vwap[t] = mid
            upper1[t] = mid + sigma
            lower1[t] = mid - sigma
            upper2[t] = mid + 2.0 * sigma
            lower2[t] = mid - 2.0 * sigma
        else:
            vwap[t] = _NAN
            upper1[t] = _NAN
            lower1[t] = _NAN
            upper2[t] = _NAN
            lower2[t] = _NAN


@kernel
def anchored_vwap(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, anchor: int, out: np.ndarray
) -> None:
    """VWAP accumulated from bar ``anchor`` (same arithmetic as session_vwap); NaN before it and while
    the volume since the anchor is 0."""
    size = close.shape[0]
    for t in range(min(anchor, size)):
        out[t] = _NAN
    if anchor >= size:
        return
    h, lo, c, v, o = high[anchor:], low[anchor:], close[anchor:], volume[anchor:], out[anchor:]
    base = ((h[0] + lo[0]) + c[0]) / 3.0
    cum_v = 0.0
    cum_1 = 0.0
    for t in range(size - anchor):
        tp = ((h[t] + lo[t]) + c[t]) / 3.0
        cum_v += v[t]
        cum_1 += v[t] * (tp - base)
        o[t] = base + cum_1 / cum_v if cum_v > 0.0 else _NAN
