"""Benchmark: scan 500 symbols × 390 one-minute bars with every playbook.

    python bench/bench_scan.py [--series 500] [--bars 390] [--repeats 5]

Series: distinct windows of 390 consecutive real 1-minute bars (each ending inside regular hours)
cut from the ES futures Lean samples (front month), the Lean equity samples (SPY, AAPL, IBM, BAC,
AIG, GOOG; extended hours included) and the ES continuous TradingView file (no volume), in
../shared/data (or $TRADECOACH_SHARED_DATA). Figure: wall time of one `scan()` over all series
(features for all series at once, each playbook's detector run once over the 500 decision bars,
plans built for the triggers), best of R after one warm-up call. Reference, same run: the naive
loop that scans the symbols one by one. Goal: ≤ 0.3 s on the 2-core dev machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.market.calendar import calendar_for
from core.market.importer import read_bars_file
from core.market.sessions import SessionPhase, phases
from core.scanner.features import SeriesInput
from core.scanner.scan import scan


def _data_dir() -> Path:
    env = os.environ.get("TRADECOACH_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


def windows(count: int, length: int) -> list[SeriesInput]:
    d = _data_dir() / "intraday"
    sources = [("ES", read_bars_file(d / "ES_futures_1min_samples_lean.csv", "ES").bars)]
    for sym in ("SPY", "AAPL", "IBM", "BAC", "AIG", "GOOG"):
        sources.append((sym, read_bars_file(d / "lean_equity_1min_samples.csv", sym).bars))
    sources.append(("ES", read_bars_file(d / "ES_continuous_1min_2025-07_to_2025-12_tradingview.parquet",
                                         "ES", tz="UTC").bars))
    ends: list[tuple[str, np.ndarray, int]] = []
    for sym, bars in sources:
        ph = phases(bars.ts, calendar_for(sym))
        ok = np.flatnonzero((ph >= SessionPhase.OPEN_DRIVE) & (ph <= SessionPhase.POWER_HOUR))
        ok = ok[ok >= length - 1]
        ends.append((sym, bars, ok))  # type: ignore[arg-type]
    out: list[SeriesInput] = []
    # Spread the windows over the sources in turn, at evenly spaced end bars (all distinct).
    per = [np.linspace(0, len(ok) - 1, num=min(len(ok), count)).astype(int) for _, _, ok in ends]
    k = 0
    while len(out) < count:
        progressed = False
        for (sym, bars, ok), picks in zip(ends, per, strict=True):
            if k < len(picks) and len(out) < count:
                e = int(ok[picks[k]])
                out.append(SeriesInput(sym, bars[e - length + 1:e + 1]))
                progressed = True
        k += 1
        if not progressed:
            break
    return out


def best_of(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=500)
    ap.add_argument("--bars", type=int, default=390)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    series = windows(a.series, a.bars)
    distinct = len({(s.symbol, int(s.bars.ts[-1])) for s in series})
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print(f"{len(series)} series ({distinct} distinct windows) × {a.bars} one-minute bars")
    res = scan(series, "1m")  # warm-up: calendars, numba kernels
    batched = best_of(lambda: scan(series, "1m"), a.repeats)
    naive = best_of(lambda: [scan([s], "1m") for s in series], max(1, a.repeats // 2))
    print(f"plans issued: {len(res.plans)}  rejected by validation: {len(res.rejected)}")
    print(f"scan, all series at once : {batched:8.3f} s   (goal ≤ 0.3 s)")
    print(f"reference, one by one    : {naive:8.3f} s   ({naive / batched:.1f}× slower)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
