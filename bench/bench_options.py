"""Benchmark: all greeks and IV for 100,000 contracts vs reference implementations, same run.

References:
- vollib 1.0.11 in a Python loop (py_vollib_vectorized 0.1.1 installs but fails under numba 0.68
  with "cannot type infer runaway recursion", so it cannot be the reference here). The loop is
  timed on a sample and scaled to 100,000 (a full loop takes minutes).
- a plain scipy-vectorised BSM (scipy.special.ndtr), the fair "numpy-speed" yardstick for greeks.
Contracts: strikes/expiries of the real GOOG 2015-12-24 chain, tiled and jittered to 100,000.
Goals: greeks <= 0.25 x reference time, IV <= 1 x. Prints the ratios; no pass/fail.

Run: .venv/bin/python bench/bench_options.py
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.options.chain import load_lean_quotes_csv
from core.options.pricing import greeks, implied_vol

N = 100_000
LOOP_SAMPLE = 3_000


def _data() -> Path:
    env = os.environ.get("TRADECOACH_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def _contracts() -> dict[str, np.ndarray]:
    ch = load_lean_quotes_csv(_data() / "options" / "GOOG_option_chain_quotes_20151224T1200ET_lean.csv")
    t = ch.years_to_expiry()
    live = t > 1e-3
    rng = np.random.default_rng(0)
    idx = rng.choice(np.flatnonzero(live), N)
    return {"s": np.full(N, ch.underlying_price) * rng.uniform(0.97, 1.03, N), "k": ch.strike[idx],
            "t": t[idx], "r": np.full(N, 0.01), "q": np.full(N, 0.005),
            "sigma": rng.uniform(0.15, 0.6, N), "c": ch.is_call[idx]}


def _best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _scipy_greeks(x: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    from scipy.special import ndtr
    s, k, t, r, q, v, c = x["s"], x["k"], x["t"], x["r"], x["q"], x["sigma"], x["c"]
    sq = np.sqrt(t)
    d1 = (np.log(s / k) + (r - q + 0.5 * v * v) * t) / (v * sq)
    d2 = d1 - v * sq
    pdf = np.exp(-0.5 * d1 * d1) / np.sqrt(2 * np.pi)
    dq, dr = np.exp(-q * t), np.exp(-r * t)
    call = s * dq * ndtr(d1) - k * dr * ndtr(d2)
    put = k * dr * ndtr(-d2) - s * dq * ndtr(-d1)
    price = np.where(c, call, put)
    delta = np.where(c, dq * ndtr(d1), -dq * ndtr(-d1))
    gamma = dq * pdf / (s * v * sq)
    vega = s * dq * pdf * sq
    theta = np.where(c, -s * dq * pdf * v / (2 * sq) + q * s * dq * ndtr(d1) - r * k * dr * ndtr(d2),
                     -s * dq * pdf * v / (2 * sq) - q * s * dq * ndtr(-d1) + r * k * dr * ndtr(-d2)) / 365
    rho = np.where(c, k * t * dr * ndtr(d2), -k * t * dr * ndtr(-d2))
    return price, delta, gamma, vega, theta, rho


def main() -> None:
    warnings.simplefilter("ignore", DeprecationWarning)
    from vollib.black_scholes_merton import black_scholes_merton as vl_price
    from vollib.black_scholes_merton.greeks import analytical as vg
    from vollib.black_scholes_merton.implied_volatility import implied_volatility as vl_iv

    x = _contracts()
    ours_g = _best(lambda: greeks(x["s"], x["k"], x["t"], x["r"], x["q"], x["sigma"], x["c"]))
    sci_g = _best(lambda: _scipy_greeks(x))
    prices = greeks(x["s"], x["k"], x["t"], x["r"], x["q"], x["sigma"], x["c"]).price
    ours_iv = _best(lambda: implied_vol(prices, x["s"], x["k"], x["t"], x["r"], x["q"], x["c"]), repeat=2)
    res = implied_vol(prices, x["s"], x["k"], x["t"], x["r"], x["q"], x["c"])
    ok = res.reason == 0

    sample = np.arange(LOOP_SAMPLE)
    flags = np.where(x["c"], "c", "p")
    args = [(flags[i], x["s"][i], x["k"][i], x["t"][i], x["r"][i], x["sigma"][i], x["q"][i]) for i in sample]

    def loop_greeks() -> None:
        for a in args:
            vl_price(*a)
            vg.delta(*a)
            vg.gamma(*a)
            vg.vega(*a)
            vg.theta(*a)
            vg.rho(*a)

    def loop_iv() -> None:
        for i in sample:
            if ok[i]:
                vl_iv(prices[i], x["s"][i], x["k"][i], x["t"][i], x["r"][i], x["q"][i], flags[i])

    vl_g = _best(loop_greeks, repeat=1) * N / LOOP_SAMPLE
    vl_i = _best(loop_iv, repeat=1) * N / LOOP_SAMPLE
    iv_err = float(np.max(np.abs(res.iv[ok] - x["sigma"][ok])))

    print(f"contracts: {N:,} (GOOG 2015-12-24 strikes/expiries); numpy {np.__version__}")
    print(f"greeks (price, delta, gamma, vega, theta, rho, prob ITM): ours {ours_g * 1e3:8.1f} ms")
    print(f"   vs vollib loop (scaled from {LOOP_SAMPLE:,}): {vl_g * 1e3:10.1f} ms  ratio {ours_g / vl_g:.4f}"
          f"  (goal <= 0.25)")
    print(f"   vs scipy-vectorised BSM:                 {sci_g * 1e3:10.1f} ms  ratio {ours_g / sci_g:.3f}")
    print(f"implied vol: ours {ours_iv * 1e3:8.1f} ms, converged {ok.mean() * 100:.2f} %, max |IV err| {iv_err:.1e}")
    print(f"   vs vollib (LetsBeRational) loop (scaled): {vl_i * 1e3:10.1f} ms  ratio {ours_iv / vl_i:.4f}"
          f"  (goal <= 1)")


if __name__ == "__main__":
    main()
