"""BSM pricing, greeks, IV and touch probabilities against independent oracles on REAL chains.

Oracles (test-only dependencies): vollib 1.0.11 (py_vollib's successor; LetsBeRational IV,
analytical greeks) and QuantLib 1.44 (BlackCalculator). Inputs come from the Lean chains in
shared/data/options. Tolerance: |ours - oracle| <= 1e-8 |oracle| + 1e-12 (the absolute floor
only matters for values that are ~0, e.g. the gamma of a contract 40 sigmas out).
"""

from __future__ import annotations

import csv
import os
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from core.options.chain import (
    LeanUniverse,
    OptionChain,
    expiry_close_ns,
    load_lean_quotes_csv,
    load_lean_universe_csv,
)
from core.options.pricing import IVReason, bsm_price, greeks, implied_vol, implied_vol_quotes, prob_itm, prob_touch

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import QuantLib as ql
    from vollib.black_scholes_merton import black_scholes_merton as vl_price
    from vollib.black_scholes_merton.greeks import analytical as vl_greeks
    from vollib.black_scholes_merton.implied_volatility import implied_volatility as vl_iv

RTOL = 1e-8
ATOL = 1e-12


def _data() -> Path:
    env = os.environ.get("TRADECOACH_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module")
def goog() -> OptionChain:
    return load_lean_quotes_csv(_data() / "options" / "GOOG_option_chain_quotes_20151224T1200ET_lean.csv")


def _universe_inputs(name: str, as_of_et: str, spot: float | None) -> tuple[LeanUniverse, dict[str, np.ndarray]]:
    u = load_lean_universe_csv(_data() / "options" / name)
    s = u.underlying_close if spot is None else spot
    as_of_ns = int(datetime.fromisoformat(as_of_et).astimezone(UTC).timestamp() * 1e9)
    t = (expiry_close_ns(u.expiry) - as_of_ns) / (365.0 * 86400e9)
    if (u.iv > 0.001).any():
        ok = (u.iv > 0.001) & (t > 0)
        sigma = u.iv[ok]
    else:
        # The AAPL 2014-06-06 file has no vendor IVs or prices: real contracts, a spread of vols.
        ok = t > 0
        sigma = np.resize(np.array([0.12, 0.25, 0.4, 0.8, 1.5]), int(ok.sum()))
    n = int(ok.sum())
    return u, {"s": np.full(n, s), "k": u.strike[ok], "t": t[ok], "sigma": sigma, "c": u.is_call[ok],
               "r": np.full(n, 0.01), "q": np.full(n, 0.005), "ok": ok}


def _spx_close_20151222() -> float:
    with open(_data() / "daily" / "SP500_index_daily_1999-2018_arch.csv") as fh:
        for row in csv.DictReader(fh):
            if row["Date"] == "12/22/2015":
                return float(row["Close"])
    raise AssertionError("SPX close for 2015-12-22 not in the arch file")


UNIVERSES = [
    ("GOOG_option_universe_20151224_lean.csv", "2015-12-24T16:00:00-05:00", None),
    ("AAPL_option_universe_20140606_lean.csv", "2014-06-06T16:00:00-04:00", None),
    ("SPX_indexoption_universe_20151222_lean.csv", "2015-12-22T16:00:00-05:00", "spx"),
]


def _close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a - b) <= RTOL * np.abs(b) + ATOL


@pytest.mark.parametrize(("name", "as_of", "spot"), UNIVERSES)
def test_price_and_greeks_match_vollib_on_real_universes(name: str, as_of: str, spot: str | None) -> None:
    s_val = _spx_close_20151222() if spot == "spx" else None
    _, x = _universe_inputs(name, as_of, s_val)
    assert x["k"].size > 100, "too few contracts with a vendor IV to test"
    g = greeks(x["s"], x["k"], x["t"], x["r"], x["q"], x["sigma"], x["c"])
    price = bsm_price(x["s"], x["k"], x["t"], x["r"], x["q"], x["sigma"], x["c"])
    rows = list(zip(np.where(x["c"], "c", "p"), x["s"], x["k"], x["t"], x["r"], x["sigma"], x["q"], strict=True))
    ref = {
        "price": np.array([vl_price(*a) for a in rows]),
        "delta": np.array([vl_greeks.delta(*a) for a in rows]),
        "gamma": np.array([vl_greeks.gamma(*a) for a in rows]),
        "vega_per_point": np.array([vl_greeks.vega(*a) for a in rows]),     # vollib: per 1 % vol
        "theta_per_day": np.array([vl_greeks.theta(*a) for a in rows]),     # vollib: per day (/365)
        "rho_per_point": np.array([vl_greeks.rho(*a) for a in rows]),       # vollib: per 1 % rate
    }
    ours = {"price": g.price, "delta": g.delta, "gamma": g.gamma, "vega_per_point": g.vega_per_point,
            "theta_per_day": g.theta_per_day, "rho_per_point": g.rho_per_point}
    assert np.array_equal(price, g.price) or _close(price, g.price).all()
    for key, ref_v in ref.items():
        bad = ~_close(ours[key], ref_v)
        assert not bad.any(), (
            f"{name} {key}: {bad.sum()} of {bad.size} off, e.g. {ours[key][bad][:3]} vs {ref_v[bad][:3]}")


@pytest.mark.parametrize(("name", "as_of", "spot"), UNIVERSES)
def test_price_and_greeks_match_quantlib_black_calculator(name: str, as_of: str, spot: str | None) -> None:
    s_val = _spx_close_20151222() if spot == "spx" else None
    _, x = _universe_inputs(name, as_of, s_val)
    g = greeks(x["s"], x["k"], x["t"], x["r"], x["q"], x["sigma"], x["c"])
    cols: dict[str, list[float]] = {k: [] for k in ("price", "delta", "gamma", "vega", "theta", "rho")}
    for s, k, t, r, q, v, c in zip(x["s"], x["k"], x["t"], x["r"], x["q"], x["sigma"], x["c"], strict=True):
        payoff = ql.PlainVanillaPayoff(ql.Option.Call if c else ql.Option.Put, float(k))
        fwd = s * np.exp((r - q) * t)
        bc = ql.BlackCalculator(payoff, float(fwd), float(v * np.sqrt(t)), float(np.exp(-r * t)))
        cols["price"].append(bc.value())
        cols["delta"].append(bc.delta(float(s)))
        cols["gamma"].append(bc.gamma(float(s)))
        cols["vega"].append(bc.vega(float(t)))
        cols["theta"].append(bc.theta(float(s), float(t)))
        cols["rho"].append(bc.rho(float(t)))
    ours = {"price": g.price, "delta": g.delta, "gamma": g.gamma, "vega": g.vega,
            "theta": g.theta_per_year, "rho": g.rho}
    for key, vals in cols.items():
        ref_v = np.array(vals)
        # QuantLib's theta goes through logs of the discount factors: allow 1e-8 of the price scale.
        atol = 1e-8 * x["s"] * 1e-3 if key == "theta" else ATOL
        bad = ~(np.abs(ours[key] - ref_v) <= RTOL * np.abs(ref_v) + atol)
        assert not bad.any(), f"{name} {key}: {bad.sum()} off, e.g. {ours[key][bad][:3]} vs {ref_v[bad][:3]}"


def test_implied_vol_matches_lets_be_rational_on_goog_mids(goog: OptionChain) -> None:
    t = goog.years_to_expiry()
    r, q = 0.002, 0.0
    mid = goog.mid
    res = implied_vol(mid, goog.underlying_price, goog.strike, t, r, q, goog.is_call)
    ok = res.reason == IVReason.OK
    assert ok.sum() > 500
    ref = []
    for i in np.flatnonzero(ok):
        ref.append(vl_iv(float(mid[i]), goog.underlying_price, float(goog.strike[i]), float(t[i]), r, q,
                         "c" if goog.is_call[i] else "p"))
    ref_arr = np.array(ref)
    diff = np.abs(res.iv[ok] - ref_arr)
    assert diff.max() <= 1e-6, f"max IV diff {diff.max():.2e}"
    # Reprice at the solved IV reproduces the quote.
    back = bsm_price(goog.underlying_price, goog.strike[ok], t[ok], r, q, res.iv[ok], goog.is_call[ok])
    assert np.allclose(back, mid[ok], rtol=1e-9, atol=1e-9)


def test_iv_reason_codes_on_real_goog_quotes(goog: OptionChain) -> None:
    t = goog.years_to_expiry()
    bid_r, mid_r, ask_r = implied_vol_quotes(goog.bid, goog.ask, goog.underlying_price, goog.strike, t,
                                             0.002, 0.0, goog.is_call)
    # No two-sided market -> NO_QUOTE on the mid; and every NaN IV carries a non-OK reason.
    assert np.all(mid_r.reason[~goog.has_market] == IVReason.NO_QUOTE)
    for r_ in (bid_r, mid_r, ask_r):
        assert np.all(np.isnan(r_.iv) == (r_.reason != IVReason.OK))
    # Real GOOG quotes under intrinsic exist (American ITM puts, stale deep ITM bids).
    assert (bid_r.reason == IVReason.BELOW_INTRINSIC).any()
    both = (bid_r.reason == IVReason.OK) & (ask_r.reason == IVReason.OK) & (mid_r.reason == IVReason.OK)
    assert np.all(bid_r.iv[both] <= mid_r.iv[both] + 1e-12)
    assert np.all(mid_r.iv[both] <= ask_r.iv[both] + 1e-12)


def test_iv_bounds_and_tiny_vega_give_nan_with_reason() -> None:
    s, k, t, r, q = 100.0, np.array([100.0, 100.0, 100.0, 300.0, 100.0]), 0.5, 0.03, 0.01
    upper = s * np.exp(-q * t)
    prices = np.array([np.nan, 0.1, upper + 1.0, 1e-300, 5.0])
    is_call = np.array([True, False, True, True, True])
    intrinsic_put = max(k[1] * np.exp(-r * t) - s * np.exp(-q * t), 0.0)
    prices[1] = intrinsic_put - 0.5 if intrinsic_put > 0.5 else prices[1]
    res = implied_vol(prices, s, k, t, r, q, is_call)
    assert res.reason[0] == IVReason.NO_QUOTE
    assert res.reason[2] == IVReason.ABOVE_UPPER_BOUND
    assert res.reason[3] == IVReason.VEGA_TOO_SMALL
    assert res.reason[4] == IVReason.OK and np.isfinite(res.iv[4])
    itm_put = implied_vol(1.0, 100.0, 120.0, 0.5, 0.03, 0.0, False)  # intrinsic ~18.2
    assert itm_put.reason[()] == IVReason.BELOW_INTRINSIC and np.isnan(itm_put.iv[()])
    assert implied_vol(1.0, 100.0, 100.0, 0.0, 0.03, 0.0, True).reason[()] == IVReason.BAD_INPUT


def test_prob_itm_is_n_d2_and_puts_complement_calls(goog: OptionChain) -> None:
    t = goog.years_to_expiry()
    live = t > 0
    pc = prob_itm(goog.underlying_price, goog.strike[live], t[live], 0.002, 0.0, 0.3, True)
    pp = prob_itm(goog.underlying_price, goog.strike[live], t[live], 0.002, 0.0, 0.3, False)
    assert np.allclose(pc + pp, 1.0, atol=1e-12)
    g = greeks(goog.underlying_price, goog.strike[live], t[live], 0.002, 0.0, 0.3, True)
    assert np.allclose(g.prob_itm, pc)


def test_prob_touch_driftless_is_twice_prob_itm() -> None:
    # Reflection principle with zero log-drift: P(touch H) = 2 P(S_T >= H).
    s, t, v = 100.0, 0.25, 0.3
    h = np.array([105.0, 110.0, 120.0, 90.0, 80.0])
    drift = 0.5 * v * v  # makes the log drift m = drift - v^2/2 exactly 0
    pt = prob_touch(s, h, t, v, drift)
    sd = v * np.sqrt(t)
    from core.options.normal import norm_cdf
    p_end = norm_cdf(-np.abs(np.log(h / s)) / sd)
    assert np.allclose(pt, 2.0 * p_end, rtol=1e-12)


def test_prob_touch_matches_monte_carlo_with_drift() -> None:
    rng = np.random.default_rng(7)
    s, t, v, mu = 100.0, 0.5, 0.25, 0.08
    steps, paths = 2000, 4000
    dt = t / steps
    z = rng.standard_normal((paths, steps), dtype=np.float32)
    logp = np.cumsum((mu - 0.5 * v * v) * dt + v * np.sqrt(dt) * z, axis=1)
    hi, lo = np.log(112.0 / s), np.log(90.0 / s)
    mc_up = float(np.mean(logp.max(axis=1) >= hi))
    mc_dn = float(np.mean(logp.min(axis=1) <= lo))
    up, dn = prob_touch(s, np.array([112.0, 90.0]), t, v, mu)
    # MC standard error ~0.008; discrete monitoring misses a few touches (biases MC low).
    assert abs(up - mc_up) < 0.03
    assert abs(dn - mc_dn) < 0.03
    # The drift matters: the up-touch is likelier than the symmetric driftless case predicts.
    assert up > prob_touch(s, 112.0, t, v, 0.5 * v * v)
    assert up > prob_itm(s, 112.0, t, mu, 0.0, v, True)  # touching is likelier than finishing beyond


def test_vendor_greek_differences_are_reported(capsys: pytest.CaptureFixture[str]) -> None:
    """Compare with the vendor (QuantConnect/AlgoSeek) greeks in the Lean universe files: REPORT only."""
    lines = []
    for name, as_of, spot in UNIVERSES:
        s_val = _spx_close_20151222() if spot == "spx" else None
        u, x = _universe_inputs(name, as_of, s_val)
        ok = x["ok"]
        if not (u.iv > 0.001).any():
            lines.append(f"{name}: the vendor file has no IVs/greeks (all 0): nothing to compare")
            continue
        r = 0.01
        g = greeks(x["s"], x["k"], x["t"], r, 0.0, x["sigma"], x["c"])
        iv_ours = implied_vol(u.close[ok], x["s"], x["k"], x["t"], r, 0.0, x["c"])
        m = iv_ours.reason == IVReason.OK
        near = np.abs(np.log(x["k"] / x["s"])) < 0.1
        def med(a: np.ndarray, b: np.ndarray, sel: np.ndarray) -> float:
            return float(np.median(np.abs(a[sel] - b[sel]))) if sel.any() else float("nan")
        lines.append(
            f"{name}: n={ok.sum()} near-money={near.sum()} | median |dIV| (ours from close vs vendor) "
            f"{med(iv_ours.iv, u.iv[ok], m & near):.4f} | median |d delta| {med(g.delta, u.delta[ok], near):.4f}"
            f" | vendor vega / our vega-per-point (median) "
            f"{float(np.median(u.vega[ok][near] / g.vega_per_point[near])):.3f}"
            f" | vendor theta / our theta-per-day {float(np.median(u.theta[ok][near] / g.theta_per_day[near])):.3f}")
        assert np.isfinite(g.delta).all()
    with capsys.disabled():
        print("\nvendor greek comparison (reported, not asserted):\n  " + "\n  ".join(lines))
