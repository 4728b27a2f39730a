"""Benchmark: core.indicators vs TA-Lib on real SPY 5-minute bars, timed in the same run.

    python bench/bench_indicators.py [--bars N] [--repeats R] [--runs K] [--wall]

Bars: /work/shared/data/intraday/SPY_5min_2018-2020_ib.csv (or $TRADECOACH_SHARED_DATA), tiled
end to end until N bars (default 1,000,000). Where TA-Lib has no counterpart the row shows only
our time.

Method: the first call of each of our indicators is timed alone ("first call": numba compile, or
loading the compiled kernel from numba's cache) and kept out of the timed runs. Then our call and
TA-Lib's alternate R times and each side keeps its best. The clock is the CPU time of this thread
(both sides are single-threaded), so time spent descheduled on a busy machine does not count;
``--wall`` uses wall time instead. The table is repeated K times; the last column is the median
ratio over the K runs. The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import talib

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import core.indicators as ind
from core.indicators._common import kernels


def _data_dir() -> Path:
    env = os.environ.get("TRADECOACH_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


def load_bars(count: int) -> dict[str, np.ndarray]:
    df = pd.read_csv(_data_dir() / "intraday" / "SPY_5min_2018-2020_ib.csv")
    reps = -(-count // len(df))
    cols = {k: np.tile(df[k].to_numpy(np.float64), reps)[:count] for k in ("high", "low", "close")}
    cols["volume"] = np.tile(df["volume_lots100"].to_numpy(np.float64) * 100.0, reps)[:count]
    day = pd.to_datetime(df["bar_start_et"].str[:10]).to_numpy().view(np.int64) // 86_400_000_000_000
    span = int(day.max() - day.min() + 1)
    cols["session"] = (np.tile(day, reps) + np.repeat(np.arange(reps), len(df)) * span)[:count]
    return cols


def pair_ms(
    ours: Callable[[], object], ref: Callable[[], object] | None, repeats: int, clock: Callable[[], float]
) -> tuple[float, float]:
    """Best times (ms) of ours and of ref, called alternately so load changes hit both alike."""
    best_ours = best_ref = float("inf")
    for _ in range(repeats):
        t0 = clock()
        ours()
        best_ours = min(best_ours, clock() - t0)
        if ref is not None:
            t0 = clock()
            ref()
            best_ref = min(best_ref, clock() - t0)
    return best_ours * 1e3, best_ref * 1e3


def load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--wall", action="store_true", help="time wall clock instead of thread CPU time")
    args = parser.parse_args()
    clock = time.perf_counter if args.wall else time.thread_time
    b = load_bars(args.bars)
    h, lo, c, v, sid = b["high"], b["low"], b["close"], b["volume"], b["session"]

    def talib_adx_all() -> None:
        talib.ADX(h, lo, c, 14)
        talib.PLUS_DI(h, lo, c, 14)
        talib.MINUS_DI(h, lo, c, 14)

    rows: list[tuple[str, Callable[[], object], Callable[[], object] | None]] = [
        ("sma(20)", lambda: ind.sma(c, 20), lambda: talib.SMA(c, 20)),
        ("sma(200)", lambda: ind.sma(c, 200), lambda: talib.SMA(c, 200)),
        ("ema(20)", lambda: ind.ema(c, 20), lambda: talib.EMA(c, 20)),
        ("true_range", lambda: ind.true_range(h, lo, c), lambda: talib.TRANGE(h, lo, c)),
        ("atr(14)", lambda: ind.atr(h, lo, c, 14), lambda: talib.ATR(h, lo, c, 14)),
        ("rsi(14)", lambda: ind.rsi(c, 14), lambda: talib.RSI(c, 14)),
        ("adx(14) vs ADX+PLUS_DI+MINUS_DI", lambda: ind.adx(h, lo, c, 14), talib_adx_all),
        ("adx(14) vs ADX alone", lambda: ind.adx(h, lo, c, 14), lambda: talib.ADX(h, lo, c, 14)),
        ("bollinger(20, 2)", lambda: ind.bollinger(c, 20, 2.0), lambda: talib.BBANDS(c, 20, 2.0, 2.0, 0)),
        ("ema_stack(9,20,50)", lambda: ind.ema_stack(c), None),
        ("keltner(20,1.5,10)", lambda: ind.keltner(h, lo, c), None),
        ("squeeze", lambda: ind.squeeze(h, lo, c), None),
        ("historical_volatility(20)", lambda: ind.historical_volatility(c, 20, 252 * 78), None),
        ("session_vwap", lambda: ind.session_vwap(h, lo, c, v, sid), None),
        ("anchored_vwap(0)", lambda: ind.anchored_vwap(h, lo, c, v, 0), None),
    ]
    print(load_text())
    t0 = time.perf_counter()
    kernels()  # numba's import, timed on its own
    print(f"import of the numba kernels: {(time.perf_counter() - t0) * 1e3:.0f} ms")
    first: dict[str, float] = {}
    for name, ours, ref in rows:
        t0 = time.perf_counter()
        ours()  # compile (or load from numba's cache) the kernels this indicator uses
        first[name] = (time.perf_counter() - t0) * 1e3
        if ref is not None:
            ref()  # page in TA-Lib's code and buffers as well
    ratios: dict[str, list[float]] = {name: [] for name, _, ref in rows if ref is not None}
    clock_name = "wall" if args.wall else "thread CPU"
    for run in range(1, args.runs + 1):
        print(f"\nrun {run}/{args.runs}: {len(c):,} bars (SPY 5-min tiled), best of {args.repeats}, "
              f"{clock_name} time in ms")
        print(f"{'indicator':36} {'ours':>9} {'TA-Lib':>9} {'ratio':>7} {'median':>7} {'1st call':>9}")
        for name, ours, ref in rows:
            t_ours, t_ref = pair_ms(ours, ref, args.repeats, clock)
            if ref is None:
                print(f"{name:36} {t_ours:9.2f} {'-':>9} {'-':>7} {'-':>7} {first[name]:9.0f}")
                continue
            ratios[name].append(t_ours / t_ref)
            med = statistics.median(ratios[name])
            print(f"{name:36} {t_ours:9.2f} {t_ref:9.2f} {t_ours / t_ref:6.2f}x {med:6.2f}x {first[name]:9.0f}")
    print("\n" + load_text())
    worst = max(ratios, key=lambda k: statistics.median(ratios[k]))
    print(f"worst median ratio: {worst} {statistics.median(ratios[worst]):.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
