"""Volatility metrics on the real GOOG chain, real GOOG daily closes and the real VIX series."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.options.chain import OptionChain, load_lean_quotes_csv
from core.options.vol import (
    atm_iv_30d,
    expiry_atm_ivs,
    historical_volatility,
    iv_percentile,
    iv_rank,
    regime_label,
    skew_25d,
    volatility_regime,
)

R = 0.002


def _data() -> Path:
    env = os.environ.get("TRADECOACH_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module")
def goog() -> OptionChain:
    ch = load_lean_quotes_csv(_data() / "options" / "GOOG_option_chain_quotes_20151224T1200ET_lean.csv")
    return ch.with_model_greeks(R)


@pytest.fixture(scope="module")
def goog_closes() -> np.ndarray:
    with open(_data() / "daily" / "lean_us_equities_daily_raw.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["symbol"] == "GOOG" and r["date"] <= "2015-12-24"]
    return np.array([float(r["close"]) for r in rows])


@pytest.fixture(scope="module")
def vix() -> np.ndarray:
    # FRED-style file: "." marks a day without a print; those days are dropped.
    df = pd.read_csv(_data() / "daily" / "VIX_daily_2014-2019_arch.csv", na_values=["."])
    v = df["vix"].to_numpy(dtype=float) / 100.0
    return v[np.isfinite(v)]


def test_atm_iv_30d_interpolates_total_variance(goog: OptionChain) -> None:
    rows = expiry_atm_ivs(goog, R)
    atm = atm_iv_30d(goog, R)
    assert atm.method == "interpolated" and len(atm.expiries) == 2
    (_e1, t1, d1, v1), (_e2, t2, d2, v2) = [x for x in rows if str(x[0]) in atm.expiries]
    assert 15 <= d1 <= 30 <= d2 <= 60
    tt = 30 / 365
    w = v1**2 * t1 + (v2**2 * t2 - v1**2 * t1) * (tt - t1) / (t2 - t1)
    assert atm.value == pytest.approx(np.sqrt(w / tt), rel=1e-12)
    assert min(v1, v2) <= atm.value <= max(v1, v2)
    # ATM IV at the forward equals the IV reported by the nearest strikes (GOOG ~750.9).
    assert 0.1 < atm.value < 0.5


def test_iv_rank_and_percentile_on_real_vix_history(vix: np.ndarray) -> None:
    hist, cur = vix[:-1][-252:], float(vix[-1])
    rank, pct = iv_rank(cur, hist), iv_percentile(cur, hist)
    assert rank == pytest.approx(100 * (cur - hist.min()) / (hist.max() - hist.min()))
    assert pct == pytest.approx(100 * np.sum(hist < cur) / hist.size)
    assert 0 <= rank <= 100 and 0 <= pct <= 100
    # Both on the same 0-100 scale: the extremes map to 0 and 100.
    assert iv_rank(hist.max(), hist) == 100 and iv_percentile(hist.min(), hist) == 0


def test_hv_matches_pandas_rolling_std(goog_closes: np.ndarray) -> None:
    ours = historical_volatility(goog_closes, 20)
    ref = pd.Series(np.log(goog_closes)).diff().rolling(20).std().to_numpy() * np.sqrt(252)
    m = np.isfinite(ref)
    assert np.allclose(ours[m], ref[m], rtol=1e-10)
    assert np.isnan(ours[:20]).all()


def test_regime_uses_iv_history_when_long_else_labelled_hv_proxy(goog: OptionChain, goog_closes: np.ndarray,
                                                                 vix: np.ndarray) -> None:
    proxy = volatility_regime(goog, iv_history=vix[:30], daily_closes=goog_closes, r=R)
    assert proxy.rank_source == "hv_proxy" and proxy.history_days == 30
    assert 0 <= proxy.iv_rank <= 100 and 0 <= proxy.iv_percentile <= 100
    full = volatility_regime(goog, iv_history=vix[:300], daily_closes=goog_closes, r=R)
    assert full.rank_source == "iv_history"
    assert full.iv_rank == pytest.approx(iv_rank(full.iv_atm, vix[:300]))
    assert full.regime_label == regime_label(full.iv_rank)
    assert full.iv_to_hv_ratio == pytest.approx(full.iv_atm / full.hv_20)
    assert np.isfinite([full.hv_20, full.hv_60, full.hv_120]).all()
    # GOOG reported on 2016-02-01: the expiries spanning earnings carry more vol -> contango.
    assert full.term_slope > 0
    none = volatility_regime(goog, None, goog_closes[:10], r=R)
    assert none.rank_source == "unavailable" and none.regime_label == "unknown"


def test_skew_25d_put_minus_call_by_interpolation(goog: OptionChain) -> None:
    e = np.datetime64("2016-01-22")
    skew = skew_25d(goog, e)
    m = (goog.expiry == e) & np.isfinite(goog.iv)
    def at(sel: np.ndarray, target: float) -> float:
        d, v = goog.delta[sel], goog.iv[sel]
        lo = np.max(d[d <= target])
        hi = np.min(d[d >= target])
        vlo, vhi = v[d == lo][0], v[d == hi][0]
        return float(vlo if hi == lo else vlo + (vhi - vlo) * (target - lo) / (hi - lo))
    expected = at(m & ~goog.is_call, -0.25) - at(m & goog.is_call, 0.25)
    assert skew == pytest.approx(expected, rel=1e-12)
    assert skew > 0           # equity skew: OTM puts richer than OTM calls


def test_regime_label_thresholds() -> None:
    assert [regime_label(x) for x in (95, 90, 80, 75, 50, 25, 5)] == [
        "extreme", "extreme", "elevated", "elevated", "normal", "low", "low"]
