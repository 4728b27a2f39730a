"""core.indicators against TA-Lib (to 1e-9 relative) and against plain loop references, on real bars."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import talib
from numpy.lib.stride_tricks import sliding_window_view

import core.indicators as ind
from core.errors import InputError

RTOL = 1e-9


def _data_dir() -> Path:
    env = os.environ.get("TRADECOACH_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module")
def spy5() -> pd.DataFrame:
    df = pd.read_csv(_data_dir() / "intraday" / "SPY_5min_2018-2020_ib.csv")
    df["volume"] = df["volume_lots100"].astype(np.float64) * 100.0
    df["day"] = df["bar_start_et"].str[:10]
    return df


@pytest.fixture(scope="module")
def daily() -> dict[str, pd.DataFrame]:
    df = pd.read_csv(_data_dir() / "daily" / "lean_us_equities_daily_raw.csv")
    return {s: g.reset_index(drop=True) for s, g in df.groupby("symbol") if s in ("SPY", "AAPL", "BAC")}


def _hlc(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(df[k].to_numpy(np.float64) for k in ("high", "low", "close"))  # type: ignore[return-value]


def assert_same(ours: np.ndarray, ref: np.ndarray, rtol: float = RTOL) -> None:
    """Same NaN warm-up, then equal to rtol relative (absolute floor for values near 0)."""
    assert ours.shape == ref.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    ok = ~np.isnan(ref)
    assert ok.any()
    np.testing.assert_allclose(ours[ok], ref[ok], rtol=rtol, atol=rtol * 1e-3)


def _datasets(spy5: pd.DataFrame, daily: dict[str, pd.DataFrame]) -> list[tuple[np.ndarray, ...]]:
    return [_hlc(spy5)] + [_hlc(daily[s]) for s in ("SPY", "AAPL", "BAC")]


# -- TA-Lib comparisons ------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 9, 20, 50, 200])
def test_sma_ema_match_talib(spy5: pd.DataFrame, daily: dict[str, pd.DataFrame], n: int) -> None:
    for _, _, c in _datasets(spy5, daily):
        assert_same(ind.sma(c, n), talib.SMA(c, n))
        assert_same(ind.ema(c, n), talib.EMA(c, n))


@pytest.mark.parametrize("n", [1, 5, 14, 30])
def test_true_range_and_atr_match_talib(spy5: pd.DataFrame, daily: dict[str, pd.DataFrame], n: int) -> None:
    for h, lo, c in _datasets(spy5, daily):
        assert_same(ind.true_range(h, lo, c), talib.TRANGE(h, lo, c))
        assert_same(ind.atr(h, lo, c, n), talib.ATR(h, lo, c, n))


@pytest.mark.parametrize("n", [2, 6, 14, 21])
def test_rsi_matches_talib(spy5: pd.DataFrame, daily: dict[str, pd.DataFrame], n: int) -> None:
    for _, _, c in _datasets(spy5, daily):
        assert_same(ind.rsi(c, n), talib.RSI(c, n))


@pytest.mark.parametrize("n", [2, 7, 14, 28])
def test_adx_and_di_match_talib(spy5: pd.DataFrame, daily: dict[str, pd.DataFrame], n: int) -> None:
    for h, lo, c in _datasets(spy5, daily):
        a, plus, minus = ind.adx(h, lo, c, n)
        assert_same(a, talib.ADX(h, lo, c, n))
        assert_same(plus, talib.PLUS_DI(h, lo, c, n))
        assert_same(minus, talib.MINUS_DI(h, lo, c, n))


def test_adx_holds_through_undefined_dx_like_talib(spy5: pd.DataFrame) -> None:
    """A market that opens flat (same price for 3n bars) has zero smoothed range, so DI = 0 and DX
    is undefined: TA-Lib leaves those bars out of the ADX seed and holds the ADX until DX exists.
    Real SPY bars follow the flat stretch."""
    h, lo, c = (x[:3000] for x in _hlc(spy5))
    for n in (3, 14):
        flat = np.full(3 * n, c[0])
        h2, lo2, c2 = (np.concatenate([flat, x]) for x in (h, lo, c))
        a, plus, minus = ind.adx(h2, lo2, c2, n)
        assert_same(a, talib.ADX(h2, lo2, c2, n))
        assert_same(plus, talib.PLUS_DI(h2, lo2, c2, n))
        assert_same(minus, talib.MINUS_DI(h2, lo2, c2, n))
        assert (plus[n : 3 * n] == 0.0).all()
        assert a[2 * n - 1] == 0.0 and (a[2 * n - 1 : 3 * n] == 0.0).all()  # held, not NaN
        assert a[3 * n + 5] > 0.0


def test_flat_input_gives_talib_zeros() -> None:
    z = np.full(40, 250.0)
    assert ind.rsi(z, 5)[-1] == talib.RSI(z, 5)[-1] == 0.0
    assert ind.adx(z, z, z, 5)[0][-1] == talib.ADX(z, z, z, 5)[-1] == 0.0


@pytest.mark.parametrize("n", [5, 20, 50])
def test_bollinger_matches_talib_bbands(spy5: pd.DataFrame, daily: dict[str, pd.DataFrame], n: int) -> None:
    for _, _, c in _datasets(spy5, daily):
        mid, upper, lower = ind.bollinger(c, n, 2.0)
        t_up, t_mid, t_low = talib.BBANDS(c, n, 2.0, 2.0, 0)
        assert_same(mid, t_mid)
        assert_same(upper, t_up)
        assert_same(lower, t_low)


@pytest.mark.parametrize("n", [2, 3, 20, 200])
def test_bollinger_stdev_is_exact_population_stdev(spy5: pd.DataFrame, n: int) -> None:
    """The band half-width equals k * np.std(window, ddof=0) computed two-pass per window, even for
    flat windows (exactly 0) and long series."""
    c = spy5["close"].to_numpy(np.float64)
    mid, upper, _ = ind.bollinger(c, n, 1.0)
    ref = sliding_window_view(c, n).std(axis=1)
    width = (upper - mid)[n - 1 :]
    np.testing.assert_allclose(width, ref, rtol=1e-7, atol=1e-9)
    # Flat windows are exactly 0 (the two-pass reference itself may leave ~1e-14 there).
    assert (ref[width == 0.0] < 1e-12).all()
    assert (width[ref == 0.0] == 0.0).all()
    assert (width == 0.0).sum() >= (ref == 0.0).sum()


def test_chained_indicators_skip_leading_nans_like_talib(spy5: pd.DataFrame) -> None:
    h, lo, c = _hlc(spy5)
    r = talib.RSI(c, 14)
    assert_same(ind.ema(ind.rsi(c, 14), 10), talib.EMA(r, 10))
    assert_same(ind.sma(ind.rsi(c, 14), 10), talib.SMA(r, 10))
    h2, lo2, c2 = h.copy(), lo.copy(), c.copy()
    h2[:7] = np.nan
    assert_same(ind.atr(h2, lo2, c2, 14), talib.ATR(h2, lo2, c2, 14))


def test_short_input_is_all_nan() -> None:
    c = np.array([1.0, 2.0, 3.0])
    assert np.isnan(ind.ema(c, 5)).all()
    assert np.isnan(ind.rsi(c, 5)).all()
    assert all(np.isnan(x).all() for x in ind.adx(c, c, c, 5))
    assert ind.sma(np.array([]), 3).shape == (0,)


# -- ema_stack, keltner, squeeze ------------------------------------------------------------
def test_ema_stack_against_talib_emas(spy5: pd.DataFrame) -> None:
    c = spy5["close"].to_numpy(np.float64)
    stack = ind.ema_stack(c)
    assert stack.dtype == np.int8
    f, m, s = talib.EMA(c, 9), talib.EMA(c, 20), talib.EMA(c, 50)
    for i in range(0, len(c), 7):
        if np.isnan(s[i]):
            expect = 0
        elif f[i] > m[i] > s[i]:
            expect = 1
        elif f[i] < m[i] < s[i]:
            expect = -1
        else:
            expect = 0
        assert stack[i] == expect, i
    assert {-1, 0, 1} <= set(np.unique(stack).tolist())


def _loop_ema(x: list[float], n: int) -> list[float]:
    out = [math.nan] * len(x)
    if len(x) < n:
        return out
    out[n - 1] = sum(x[:n]) / n
    k = 2.0 / (n + 1)
    for i in range(n, len(x)):
        out[i] = out[i - 1] + k * (x[i] - out[i - 1])
    return out


def _loop_atr(h: list[float], lo: list[float], c: list[float], n: int) -> list[float]:
    tr = [math.nan] + [max(h[i] - lo[i], abs(h[i] - c[i - 1]), abs(lo[i] - c[i - 1])) for i in range(1, len(c))]
    out = [math.nan] * len(c)
    out[n] = sum(tr[1 : n + 1]) / n
    for i in range(n + 1, len(c)):
        out[i] = (out[i - 1] * (n - 1) + tr[i]) / n
    return out


def _loop_keltner(df: pd.DataFrame, n: int, mult: float, atr_n: int) -> tuple[np.ndarray, ...]:
    h, lo, c = (df[k].tolist() for k in ("high", "low", "close"))
    mid = np.array(_loop_ema(c, n))
    width = mult * np.array(_loop_atr(h, lo, c, atr_n))
    mid[np.isnan(width)] = np.nan
    return mid, mid + width, mid - width


def test_keltner_matches_loop_reference(spy5: pd.DataFrame) -> None:
    df = spy5.iloc[:6000]
    h, lo, c = _hlc(df)
    for n, mult, atr_n in ((20, 1.5, 10), (10, 2.0, 20)):
        ours = ind.keltner(h, lo, c, n, mult, atr_n)
        for o, r in zip(ours, _loop_keltner(df, n, mult, atr_n), strict=True):
            assert_same(o, r)
        assert np.isnan(ours[0][: max(n - 1, atr_n)]).all()


def test_squeeze_matches_loop_reference(spy5: pd.DataFrame) -> None:
    df = spy5.iloc[:6000]
    h, lo, c = _hlc(df)
    sq = ind.squeeze(h, lo, c)
    closes = df["close"].tolist()
    _, kc_up, kc_low = _loop_keltner(df, 20, 1.5, 10)
    for i in range(len(closes)):
        if i < 19 or np.isnan(kc_up[i]):
            assert not sq[i]
            continue
        w = closes[i - 19 : i + 1]
        m = sum(w) / 20
        sd = math.sqrt(sum((x - m) ** 2 for x in w) / 20)
        assert sq[i] == (m + 2 * sd < kc_up[i] and m - 2 * sd > kc_low[i]), i
    assert 0 < sq.sum() < len(sq)


# -- historical volatility, expected move ----------------------------------------------------
def test_historical_volatility_matches_pandas(daily: dict[str, pd.DataFrame]) -> None:
    c = daily["SPY"]["close"].to_numpy(np.float64)
    ref = np.log(pd.Series(c)).diff().rolling(20).std(ddof=1) * math.sqrt(252)
    ours = ind.historical_volatility(c, 20)
    assert_same(ours, ref.to_numpy())
    assert np.isnan(ours[:20]).all() and not np.isnan(ours[20])
    hvs = ind.historical_volatilities(c)
    assert sorted(hvs) == [20, 60, 120]
    i = 500
    r = np.diff(np.log(c[i - 120 : i + 1]))
    assert hvs[120][i] == pytest.approx(np.std(r, ddof=1) * math.sqrt(252), rel=RTOL)
    assert ind.realized_sigma(c, 60)[i] == pytest.approx(np.std(r[-60:], ddof=1), rel=RTOL)


def test_expected_move_formula() -> None:
    assert ind.expected_move(400.0, 0.20, 390) == pytest.approx(400 * 0.2 * math.sqrt(1 / 252), rel=1e-12)
    # 30 minutes of a 16% vol on a 4000 index, t = 30 / (252*390)
    assert ind.expected_move(4000.0, 0.16, 30) == pytest.approx(4000 * 0.16 * math.sqrt(30 / 98280), rel=1e-12)
    arr = ind.expected_move(np.array([100.0, 200.0]), 0.3, np.array([60.0, 240.0]))
    np.testing.assert_allclose(arr, [100 * 0.3 * math.sqrt(60 / 98280), 200 * 0.3 * math.sqrt(240 / 98280)])
    assert ind.expected_move(100.0, 0.3, 60, minutes_per_year=365 * 1440) == pytest.approx(
        100 * 0.3 * math.sqrt(60 / (365 * 1440))
    )


# -- VWAP ----------------------------------------------------------------------------------
def _session_ids(df: pd.DataFrame) -> np.ndarray:
    return pd.factorize(df["day"])[0].astype(np.int64)


def _loop_vwap(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    vwap = np.full(len(df), np.nan)
    sigma = np.full(len(df), np.nan)
    for _, g in df.groupby("day", sort=False):
        tp = ((g["high"] + g["low"] + g["close"]) / 3).tolist()
        vol = g["volume"].tolist()
        for j in range(len(tp)):
            sv = sum(vol[: j + 1])
            if sv == 0:
                continue
            m = sum(p * v for p, v in zip(tp[: j + 1], vol[: j + 1], strict=True)) / sv
            var = sum(v * (p - m) ** 2 for p, v in zip(tp[: j + 1], vol[: j + 1], strict=True)) / sv
            vwap[g.index[j]] = m
            sigma[g.index[j]] = math.sqrt(var)
    return vwap, sigma


def test_session_vwap_matches_loop_reference(spy5: pd.DataFrame) -> None:
    df = spy5.iloc[:78 * 40].reset_index(drop=True)  # 40 sessions incl. some missing the first hour
    h, lo, c = _hlc(df)
    vwap, up1, low1, up2, low2 = ind.session_vwap(h, lo, c, df["volume"].to_numpy(), _session_ids(df))
    ref, sig = _loop_vwap(df)
    assert_same(vwap, ref)
    np.testing.assert_allclose(up1 - vwap, sig, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(vwap - low1, sig, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(up2 - vwap, 2 * sig, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(vwap - low2, 2 * sig, rtol=1e-7, atol=1e-9)


def test_session_vwap_resets_at_each_session_open(spy5: pd.DataFrame) -> None:
    h, lo, c = _hlc(spy5)
    v = spy5["volume"].to_numpy()
    sid = _session_ids(spy5)
    vwap, up1, low1, _, _ = ind.session_vwap(h, lo, c, v, sid)
    first = np.flatnonzero(np.diff(sid, prepend=-1) != 0)
    assert len(first) == 756
    tp = (h + lo + c) / 3
    traded = first[v[first] > 0]
    assert len(traded) > 700
    # The first (traded) bar of every session is its own typical price, with zero-width bands.
    np.testing.assert_array_equal(vwap[traded], tp[traded])
    np.testing.assert_array_equal(up1[traded], tp[traded])
    np.testing.assert_array_equal(low1[traded], tp[traded])
    assert np.isnan(vwap[first[v[first] == 0]]).all()  # no volume yet: no VWAP


def test_session_vwap_ignores_the_previous_session(spy5: pd.DataFrame) -> None:
    df = spy5.iloc[: 78 * 6].reset_index(drop=True)
    h, lo, c = _hlc(df)
    v = df["volume"].to_numpy().copy()
    sid = _session_ids(df)
    today = sid == sid[-1]
    before = ind.session_vwap(h, lo, c, v, sid)
    # Mutate every earlier session wildly: prices +50, volume x1000.
    h2, lo2, c2, v2 = h.copy(), lo.copy(), c.copy(), v.copy()
    for arr in (h2, lo2, c2):
        arr[~today] += 50.0
    v2[~today] *= 1000.0
    after = ind.session_vwap(h2, lo2, c2, v2, sid)
    for b, a in zip(before, after, strict=True):
        np.testing.assert_allclose(a[today], b[today], rtol=1e-11)  # global-cumsum rounding only
    assert not np.allclose(after[0][~today], before[0][~today])
    # And a single session computed alone gives the same line.
    alone = ind.session_vwap(h[today], lo[today], c[today], v[today], sid[today])
    np.testing.assert_allclose(alone[0], before[0][today], rtol=1e-13)


def test_zero_volume_gives_nan_until_volume_arrives(spy5: pd.DataFrame) -> None:
    df = spy5.iloc[:156].reset_index(drop=True)
    h, lo, c = _hlc(df)
    v = df["volume"].to_numpy().copy()
    v[78:81] = 0.0  # the second session's first three bars trade nothing
    vwap, up1, *_ = ind.session_vwap(h, lo, c, v, _session_ids(df))
    assert np.isnan(vwap[78:81]).all() and np.isnan(up1[78:81]).all()
    assert vwap[81] == (h[81] + lo[81] + c[81]) / 3
    assert not np.isnan(vwap[:78]).any()


def test_anchored_vwap(spy5: pd.DataFrame) -> None:
    df = spy5.iloc[:500].reset_index(drop=True)
    h, lo, c = _hlc(df)
    v = df["volume"].to_numpy()
    anchor = 123
    av = ind.anchored_vwap(h, lo, c, v, anchor)
    assert np.isnan(av[:anchor]).all()
    tp = ((h + lo + c) / 3).tolist()
    vol = v.tolist()
    for i in range(anchor, len(tp), 13):
        ref = sum(p * q for p, q in zip(tp[anchor : i + 1], vol[anchor : i + 1], strict=True)) / sum(
            vol[anchor : i + 1]
        )
        assert av[i] == pytest.approx(ref, rel=RTOL)
    assert av[anchor] == tp[anchor]
    # Anchored at the first bar of a session = that session's VWAP until the next session.
    sid = _session_ids(df)
    start = int(np.flatnonzero(np.diff(sid))[1] + 1)
    sv = ind.session_vwap(h, lo, c, v, sid)[0]
    end = start + int((sid == sid[start]).sum())
    np.testing.assert_allclose(ind.anchored_vwap(h, lo, c, v, start)[start:end], sv[start:end], rtol=1e-12)


# -- input errors --------------------------------------------------------------------------
def test_errors_name_the_parameter() -> None:
    x = np.linspace(100.0, 110.0, 50)
    cases = [
        (lambda: ind.sma(x, 0), "n"),
        (lambda: ind.ema(x, -3), "n"),
        (lambda: ind.rsi(x, 2.5), "n"),
        (lambda: ind.atr(x, x[:-1], x), "low"),
        (lambda: ind.adx(x, x, x[:10]), "close"),
        (lambda: ind.true_range(x, x, x[:3]), "close"),
        (lambda: ind.bollinger(x, 20, -1.0), "k"),
        (lambda: ind.keltner(x, x, x, atr_n=0), "atr_n"),
        (lambda: ind.squeeze(x, x[:5], x), "low"),
        (lambda: ind.ema_stack(x, 20, 9, 50), "mid"),
        (lambda: ind.historical_volatility(x, 1), "n"),
        (lambda: ind.historical_volatility(x, 20, periods_per_year=0), "periods_per_year"),
        (lambda: ind.realized_sigma(-x, 5), "close"),
        (lambda: ind.expected_move(100.0, -0.2, 30), "sigma_annual"),
        (lambda: ind.expected_move(100.0, 0.2, -30), "minutes"),
        (lambda: ind.session_vwap(x, x, x, x, np.zeros(49, dtype=np.int64)), "session_id"),
        (lambda: ind.session_vwap(x, x, x, x, np.zeros(50)), "session_id"),
        (lambda: ind.session_vwap(x, x, x, -x, np.zeros(50, dtype=np.int64)), "volume"),
        (lambda: ind.anchored_vwap(x, x, x, x, 50), "anchor_index"),
        (lambda: ind.anchored_vwap(x, x, x, x[:4], 0), "volume"),
        (lambda: ind.sma(np.ones((3, 3)), 2), "x"),
        (lambda: ind.ema(["a", "b"], 2), "x"),
    ]
    for call, field in cases:
        with pytest.raises(InputError) as err:
            call()
        assert err.value.field == field, (field, str(err.value))


# -- compiled kernels: long series, edge cases, threads, JIT cache -----------------------------
def _random_walk(size: int, seed: int) -> tuple[np.ndarray, ...]:
    """Geometric random walk in cents over ~2 orders of magnitude, with 250-bar flat stretches
    (H = L = C, no volume) every 20,000 bars; volume in lots of 100, sessions of 78 bars."""
    rng = np.random.default_rng(seed)
    c = np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.004, size))), 2)
    flat = np.zeros(size, dtype=bool)
    for s in range(5000, size, 20000):
        c[s : s + 250] = c[s]
        flat[s : s + 250] = True
    up = np.round(np.abs(rng.normal(0, 0.002, size)) * c, 2)
    down = np.round(np.abs(rng.normal(0, 0.002, size)) * c, 2)
    up[flat] = 0.0
    down[flat] = 0.0
    v = rng.integers(0, 50, size) * 100.0
    v[flat] = 0.0
    return c + up, c - down, c, v, np.arange(size, dtype=np.int64) // 78


@pytest.fixture(scope="module")
def walk() -> tuple[np.ndarray, ...]:
    return _random_walk(300_000, 7)


@pytest.mark.parametrize("n", [2, 14, 200])
def test_long_random_walk_matches_talib(walk: tuple[np.ndarray, ...], n: int) -> None:
    """300k bars, prices from ~10 to ~1000 and flat stretches: no drift in the running sums and
    recursions (resyncs every max(1024, 16n) bars)."""
    h, lo, c, _, _ = walk
    assert_same(ind.sma(c, n), talib.SMA(c, n))
    assert_same(ind.ema(c, n), talib.EMA(c, n))
    assert_same(ind.atr(h, lo, c, n), talib.ATR(h, lo, c, n))
    assert_same(ind.rsi(c, n), talib.RSI(c, n))
    for ours, ref in zip(ind.adx(h, lo, c, n), (talib.ADX(h, lo, c, n), talib.PLUS_DI(h, lo, c, n),
                                                 talib.MINUS_DI(h, lo, c, n)), strict=True):
        assert_same(ours, ref)
    mid, upper, lower = ind.bollinger(c, n, 2.0)
    t_up, t_mid, t_low = talib.BBANDS(c, n, 2.0, 2.0, 0)
    assert_same(mid, t_mid)
    assert_same(upper, t_up)
    assert_same(lower, t_low)
    assert_same(ind.true_range(h, lo, c), talib.TRANGE(h, lo, c))


@pytest.mark.parametrize("n", [2, 3, 20, 200])
def test_rolling_stdev_is_exact_on_a_long_random_walk(walk: tuple[np.ndarray, ...], n: int) -> None:
    """Band width and realized sigma against a two-pass stdev of every window: ~1e-9 relative at
    worst (windows whose variance is 1e-6 of the recent maximum), exactly 0 on flat windows."""
    c = walk[2]
    mid, upper, _ = ind.bollinger(c, n, 1.0)
    width = (upper - mid)[n - 1 :]
    ref = sliding_window_view(c, n).std(axis=1)
    flat = (sliding_window_view(c, n) == c[n - 1 :, None]).all(axis=1)
    assert flat.sum() >= 15 * (251 - n)  # at least the windows inside the 15 flat stretches
    assert (width[flat] == 0.0).all()
    # upper - mid loses the last digits of the price (ulp ~1e-13 at 1000): compare above that
    np.testing.assert_allclose(width[~flat], ref[~flat], rtol=1e-8, atol=1e-12)
    returns = np.diff(np.log(c))
    sigma = ind.realized_sigma(c, n)[n:]
    ref_sigma = sliding_window_view(returns, n).std(axis=1, ddof=1)
    np.testing.assert_allclose(sigma, ref_sigma, rtol=1e-8, atol=1e-15)
    flat_returns = (sliding_window_view(returns, n) == returns[n - 1 :, None]).all(axis=1)
    assert (sigma[flat_returns] == 0.0).all()


def _loop_adx(h: list[float], lo: list[float], c: list[float], n: int) -> tuple[list[float], ...]:
    """docs/indicators.md's ADX definition, bar by bar."""
    size = len(c)
    adx_, pdi, mdi = [math.nan] * size, [math.nan] * size, [math.nan] * size
    sp = sm = st = 0.0
    dxs: list[float | None] = []
    for t in range(1, size):
        up, down = h[t] - h[t - 1], lo[t - 1] - lo[t]
        p = up if up > 0 and up > down else 0.0
        m = down if down > 0 and down > up else 0.0
        r = max(h[t] - lo[t], abs(h[t] - c[t - 1]), abs(lo[t] - c[t - 1]))
        if t < n:
            sp, sm, st = sp + p, sm + m, st + r
            continue
        sp, sm, st = sp - sp / n + p, sm - sm / n + m, st - st / n + r
        pdi[t] = 100 * sp / st if st > 0 else 0.0
        mdi[t] = 100 * sm / st if st > 0 else 0.0
        total = pdi[t] + mdi[t]
        dxs.append(100 * abs(pdi[t] - mdi[t]) / total if total > 0 else None)
        if len(dxs) == n:
            adx_[t] = sum(d for d in dxs if d is not None) / n
        elif len(dxs) > n:
            d = dxs[-1]
            adx_[t] = adx_[t - 1] if d is None else (adx_[t - 1] * (n - 1) + d) / n
    return adx_, pdi, mdi


@pytest.mark.parametrize("n", [1, 3, 14])
def test_adx_matches_loop_reference(spy5: pd.DataFrame, n: int) -> None:
    df = spy5.iloc[:3000]
    h, lo, c = _hlc(df)
    ours = ind.adx(h, lo, c, n)
    ref = _loop_adx(*(df[k].tolist() for k in ("high", "low", "close")), n)
    for o, r in zip(ours, ref, strict=True):
        assert_same(o, np.array(r))


def test_period_one_and_window_as_long_as_the_data(spy5: pd.DataFrame) -> None:
    h, lo, c = (x[:500] for x in _hlc(spy5))
    np.testing.assert_array_equal(ind.ema(c, 1), c)
    np.testing.assert_allclose(ind.sma(c, 1), c, rtol=1e-15)
    mid, upper, lower = ind.bollinger(c, 1)
    np.testing.assert_array_equal(upper, mid)  # one value: zero width
    np.testing.assert_array_equal(lower, mid)
    r1 = ind.rsi(c, 1)[1:]
    change = np.diff(c)
    np.testing.assert_array_equal(r1, np.where(change > 0, 100.0, 0.0))
    assert_same(ind.atr(h, lo, c, 1), talib.TRANGE(h, lo, c))
    # n == len: exactly one value, the last
    n = len(c)
    for out, expect in ((ind.sma(c, n), c.mean()), (ind.ema(c, n), c.mean()), (ind.bollinger(c, n)[0], c.mean())):
        assert np.isnan(out[:-1]).all()
        assert out[-1] == pytest.approx(expect, rel=1e-12)
    assert ind.bollinger(c, n, 1.0)[1][-1] - c.mean() == pytest.approx(c.std(), rel=1e-9)


def test_window_longer_than_data_is_all_nan() -> None:
    x = np.linspace(100.0, 101.0, 10)
    v = np.full(10, 100.0)
    for out in (ind.sma(x, 11), ind.ema(x, 11), ind.atr(x, x, x, 10), ind.rsi(x, 10),
                *ind.adx(x, x, x, 10), *ind.bollinger(x, 11), *ind.keltner(x, x, x, 11),
                ind.historical_volatility(x, 10), ind.realized_sigma(x, 12)):
        assert out.shape == (10,) and np.isnan(out).all()
    assert not ind.squeeze(x, x, x, 11).any()
    adx_, plus, _ = ind.adx(x, x + 0.5, x, 6)  # DIs defined from bar 6, ADX would need bar 11
    assert np.isnan(adx_).all() and not np.isnan(plus[6:]).any()
    assert ind.session_vwap(x, x, x, v, np.zeros(10, dtype=np.int64))[0][-1] == pytest.approx(100.5)


def test_all_nan_and_empty_inputs() -> None:
    for x in (np.full(30, np.nan), np.array([])):
        outs = [ind.sma(x, 5), ind.ema(x, 5), ind.rsi(x, 5), ind.true_range(x, x, x), ind.atr(x, x, x, 5),
                *ind.adx(x, x, x, 5), *ind.bollinger(x, 5), ind.historical_volatility(x, 5), *ind.keltner(x, x, x),
                *ind.session_vwap(x, x, x, np.zeros(len(x)), np.zeros(len(x), dtype=np.int64))]
        for out in outs:
            assert out.shape == x.shape and np.isnan(out).all()


def test_nan_inside_the_series_stays_like_talib(spy5: pd.DataFrame) -> None:
    """A NaN after the start poisons every later value of a running sum or recursion (TA-Lib's
    behaviour for SMA, EMA and BBANDS; RSI and ATR keep NaN too, where TA-Lib would not)."""
    h, lo, c = (x[:3000].copy() for x in _hlc(spy5))
    c[1500] = np.nan
    for n in (5, 20):
        assert_same(ind.sma(c, n), talib.SMA(c, n))
        assert_same(ind.ema(c, n), talib.EMA(c, n))
        t_up, t_mid, t_low = talib.BBANDS(c, n, 2.0, 2.0, 0)
        for ours, ref in zip(ind.bollinger(c, n), (t_mid, t_up, t_low), strict=True):
            assert_same(ours, ref)
    assert np.isnan(ind.rsi(c, 14)[1500:]).all() and not np.isnan(ind.rsi(c, 14)[14:1500]).any()
    assert np.isnan(ind.atr(h, lo, c, 14)[1501:]).all()


def test_zero_volume_sessions_and_anchor(spy5: pd.DataFrame) -> None:
    df = spy5.iloc[: 78 * 4].reset_index(drop=True)
    h, lo, c = _hlc(df)
    v = df["volume"].to_numpy().copy()
    sid = _session_ids(df)
    second = sid == sid[78]
    v[second] = 0.0  # a session with no trades at all
    lines = ind.session_vwap(h, lo, c, v, sid)
    for line in lines:
        assert np.isnan(line[second]).all()
        assert not np.isnan(line[~second]).any()
    after = sid > sid[78]
    alone = ind.session_vwap(h[after], lo[after], c[after], v[after], sid[after])
    for a, b in zip(alone, lines, strict=True):
        np.testing.assert_array_equal(a, b[after])  # each session is its own pass: bit for bit
    av = ind.anchored_vwap(h, lo, c, v, 80)  # anchored inside the silent session
    first_trade = int(np.flatnonzero(after)[0])
    assert np.isnan(av[:first_trade]).all()
    assert av[first_trade] == (h[first_trade] + lo[first_trade] + c[first_trade]) / 3


def test_concurrent_calls_from_worker_threads(walk: tuple[np.ndarray, ...]) -> None:
    """Kernels run without the GIL: several threads at once give the single-thread results."""
    h, lo, c, v, sid = (x[:100_000] for x in walk)
    jobs = [lambda: ind.bollinger(c, 20), lambda: ind.adx(h, lo, c, 14), lambda: ind.session_vwap(h, lo, c, v, sid),
            lambda: ind.rsi(c, 14), lambda: ind.sma(c, 50), lambda: ind.ema(c, 9)] * 3
    expected = [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda job: job(), jobs))
    for e, g in zip(expected, got, strict=True):
        for a, b in zip(e if isinstance(e, tuple) else (e,), g if isinstance(g, tuple) else (g,), strict=True):
            np.testing.assert_array_equal(a, b)


def test_one_compiled_kernel_per_indicator(spy5: pd.DataFrame) -> None:
    """Writable, read-only (pandas) and strided inputs all reach the same compiled kernel, and the
    caller's arrays keep their flags."""
    from core.indicators._common import kernels

    ro = spy5["close"].to_numpy(np.float64)[:1000]
    assert not ro.flags.writeable
    rw = ro.copy()
    strided = np.repeat(ro, 2)[::2]
    results = [ind.bollinger(x, 20) for x in (ro, rw, strided)]
    for r in results[1:]:
        for a, b in zip(results[0], r, strict=True):
            np.testing.assert_array_equal(a, b)
    assert rw.flags.writeable
    ind.warm_up()
    k = kernels()
    for name in ("rolling_mean", "bollinger", "ema", "atr", "rsi", "adx", "true_range", "session_vwap",
                 "anchored_vwap", "rolling_sample_std"):
        assert len(getattr(k, name).signatures) == 1, name


def _run_python(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)


def test_import_does_not_load_numba() -> None:
    """numba (~0.5 s to import) loads on the first indicator call, not when the app imports."""
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    code = "import sys, core.indicators; assert 'numba' not in sys.modules; print('ok')"
    done = _run_python(code, env, repo)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_kernels_work_without_a_writable_cache(tmp_path: Path) -> None:
    """A read-only install with no writable home: numba would refuse cache=True at decoration;
    the kernels then compile in memory, log a warning, and still give TA-Lib's numbers. With a
    writable user cache they are cached there. (Runs as root here, so 'not writable' is made with
    a file where a folder would go.)"""
    repo = Path(__file__).resolve().parents[1]
    pkg = tmp_path / "install"
    (pkg / "core" / "indicators").mkdir(parents=True)
    for name in ("__init__.py", "errors.py"):
        shutil.copy(repo / "core" / name, pkg / "core" / name)
    for src in (repo / "core" / "indicators").glob("*.py"):
        shutil.copy(src, pkg / "core" / "indicators" / src.name)
    (pkg / "core" / "indicators" / "__pycache__").write_text("not a folder")
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(PYTHONPATH=str(pkg), PYTHONDONTWRITEBYTECODE="1", HOME=str(blocker), XDG_CACHE_HOME=str(blocker / "c"))
    code = (
        "import logging, numpy as np, talib; logging.basicConfig(level=logging.WARNING)\n"
        "import core.indicators as ind\n"
        "c = 100 + np.cumsum(np.random.default_rng(1).normal(0, 0.1, 5000))\n"
        "assert np.allclose(ind.ema(c, 20)[19:], talib.EMA(c, 20)[19:], rtol=1e-9, atol=0)\n"
        "print('ok')\n"
    )
    done = _run_python(code, env, tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
    assert "numba disk cache unavailable" in done.stderr
    cache = tmp_path / "user-cache"
    env["XDG_CACHE_HOME"] = str(cache)
    done = _run_python(code, env, tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
    assert "unavailable" not in done.stderr
    assert list(cache.rglob("*.nbi")), "kernels were not cached in the user-wide cache"


def test_a_second_process_loads_every_kernel_from_the_disk_cache(tmp_path: Path) -> None:
    """Each worker process (the chart's CPU pool, the live scanner) warms up at start: with a warm
    cache nothing may compile again. The scanner's batched drivers once were closures over the
    kernels, which numba's cache never matched in a new process — each start recompiled them
    (~2 s) and left one more cache entry."""
    repo = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(PYTHONPATH=str(repo), NUMBA_CACHE_DIR=str(tmp_path / "cache"), NUMBA_DEBUG_CACHE="1")
    code = "import core.indicators as ind; ind.warm_up(); print('ok')\n"
    first = _run_python(code, env, tmp_path)
    assert first.returncode == 0 and first.stdout.strip().endswith("ok"), first.stderr[-2000:]
    assert "data saved" in first.stdout + first.stderr          # the cold run compiled and saved
    files = sorted(p.name for p in (tmp_path / "cache").rglob("*.nbc"))
    assert any("scanner_run" in f for f in files) and any("anchored_vwap_run" in f for f in files)
    second = _run_python(code, env, tmp_path)
    out = second.stdout + second.stderr
    assert second.returncode == 0 and second.stdout.strip().endswith("ok"), second.stderr[-2000:]
    assert "data saved" not in out and "index saved" not in out, [
        line for line in out.splitlines() if "saved" in line]
    assert "data loaded" in out
    assert sorted(p.name for p in (tmp_path / "cache").rglob("*.nbc")) == files   # no new entries
