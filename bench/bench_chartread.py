"""Chart-reader accuracy and speed on renders of real bars with known truth.

Run:  QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_chartread.py [--quick] [--fixtures DIR]

Renders windows of real bars from the shared data folder (SPY 5-min IB, ES1! 5-min TradingView,
SPY 1-hour Lean; read with the app's importer) with
  (a) TradingView lightweight-charts v5 (vendored) in headless Chromium, dark and light, two sizes,
      60 and 150 bars, volume overlaid; plus hollow-up-candle, decimal-comma and log-scale variants;
      and thin candles (300 and 500 bars across 1000 px);
  (b) the app's own ChartWidget (offscreen Qt), dark and light, two sizes, 60 and 150 bars;
  (c) mplfinance (Agg): 'yahoo' (grey wicks) and 'charles' styles at two sizes, 'nightclouds' at one.
Each render is read with core.chartread.read_chart and matched to the truth by x (a truth bar is
found when a read bar's centre lies within half a bar spacing of the library's own x for it).
Prints per group: candles found, median and p95 |OHLC error| as % of price, axis read rate,
seconds per image, and the ratio to a reference measured in the same run: one bare tesseract run
over the price-axis strip (the floor cost of any OCR-based reader).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PIL import Image

from bench.chartread_render import LwcRenderer, TruthBars, load_truth, render_app_chart, render_mplfinance
from core.chartread import read_chart
from core.chartread.ocr import DIGITS, read_words
from core.chartread.pane import find_layout

DATA = Path(os.environ.get("TRADECOACH_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
SOURCES = [
    ("SPY", "5m", "intraday/SPY_5min_2018-2020_ib.csv"),
    ("ES", "5m", "intraday/ES1_continuous_5min_2024-12_to_2025-12_tradingview.parquet"),
    ("SPY", "1h", "intraday/SPY_1hour_1998-2021_lean.csv"),
]


@dataclass
class Result:
    group: str
    n_true: int
    n_found: int
    errors: list[float] = field(default_factory=list)   # |error| % of price, O,H,L,C pooled
    axis_ok: bool = False
    seconds: float = 0.0
    cpu_seconds: float = 0.0       # this process + its tesseract children: steadier on a busy machine
    refused: str | None = None
    direction_errors: int = 0


def score(group: str, png: bytes, truth: TruthBars, xs: np.ndarray) -> Result:
    c0 = _cpu()
    t0 = time.perf_counter()
    reading = read_chart(png)
    dt = time.perf_counter() - t0
    visible = np.flatnonzero(np.isfinite(xs))
    res = Result(group, len(visible), 0, seconds=dt, cpu_seconds=_cpu() - c0)
    if reading.refused:
        res.refused = reading.reason
        return res
    res.axis_ok = reading.fit_residual_pct is not None and reading.fit_residual_pct < 0.1 and len(reading.labels) >= 3
    bx = np.array([b.x for b in reading.bars])
    spacing = float(np.median(np.diff(xs[visible]))) if visible.size > 1 else 10.0
    for i in visible:
        j = int(np.argmin(np.abs(bx - xs[i])))
        if abs(bx[j] - xs[i]) > spacing / 2:
            continue
        res.n_found += 1
        b = reading.bars[j]
        ref = truth.close[i]
        for got, want in ((b.open, truth.open[i]), (b.high, truth.high[i]), (b.low, truth.low[i]),
                          (b.close, truth.close[i])):
            res.errors.append(abs(got - want) / ref * 100)
        if (truth.close[i] - truth.open[i]) * (b.close - b.open) < 0 and \
                abs(truth.close[i] - truth.open[i]) > 0.001 * ref:
            res.direction_errors += 1
    return res


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def axis_reference(png: bytes) -> float:
    """Seconds for one tesseract run over the price-axis strip alone."""
    rgb = np.asarray(Image.open(__import__("io").BytesIO(png)).convert("RGB"))
    lay = find_layout(rgb)
    t0 = time.perf_counter()
    read_words(rgb[:, max(0, lay.axis_x0 - 2):lay.axis_x1 + 2], lay.bg, whitelist=DIGITS)
    return time.perf_counter() - t0


def windows(quick: bool) -> list[tuple[TruthBars, int]]:
    rng = np.random.default_rng(14)
    out = []
    for sym, interval, rel in SOURCES:
        path = DATA / rel
        for count in (60, 150):
            full = load_truth(path, sym, interval, 0, 10**9)
            reps = 1 if quick else 2
            for _ in range(reps):
                start = int(rng.integers(0, len(full) - count))
                out.append((load_truth(path, sym, interval, start, count), count))
    return out


def summarize(results: list[Result]) -> list[str]:
    groups: dict[str, list[Result]] = {}
    for r in results:
        groups.setdefault(r.group, []).append(r)
    rows = ["| renderer / case | renders | candles found | median err % | p95 err % | axis read | dir. wrong "
            "| s/image |",
            "|---|---|---|---|---|---|---|---|"]
    for g, rs in groups.items():
        n_true = sum(r.n_true for r in rs)
        n_found = sum(r.n_found for r in rs)
        errs = [e for r in rs for e in r.errors]
        med = f"{np.median(errs):.4f}" if errs else "-"
        p95 = f"{np.percentile(errs, 95):.4f}" if errs else "-"
        axis = sum(r.axis_ok for r in rs) / len(rs)
        wrong = sum(r.direction_errors for r in rs)
        secs = statistics.median(r.seconds for r in rs)
        refused = sum(r.refused is not None for r in rs)
        note = f" ({refused} refused)" if refused else ""
        rows.append(f"| {g} | {len(rs)}{note} | {n_found / max(1, n_true):.1%} ({n_found}/{n_true}) | {med} | {p95} |"
                    f" {axis:.0%} | {wrong} | {secs:.2f} |")
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="one window per source and bar count")
    ap.add_argument("--fixtures", type=Path, help="also write the unit-test fixtures into this folder")
    ap.add_argument("--json", type=Path, help="write per-render results here")
    args = ap.parse_args()
    cases = windows(args.quick)
    results: list[Result] = []
    ref_times: list[float] = []
    sizes = [(1000, 600), (1400, 800)]
    with LwcRenderer() as lwc:
        for k, (truth, _count) in enumerate(cases):
            for theme in ("dark", "light"):
                for w, h in sizes:
                    png, xs = lwc.render(truth, theme=theme, width=w, height=h)
                    results.append(score(f"lightweight-charts {theme}", png, truth, xs))
                    if len(ref_times) < 6:
                        ref_times.append(axis_reference(png))
            # variants on one size
            png, xs = lwc.render(truth, theme="light" if k % 2 else "dark", hollow=True)
            results.append(score("lightweight-charts hollow up candles", png, truth, xs))
            png, xs = lwc.render(truth, theme="dark" if k % 2 else "light", decimal_comma=True)
            results.append(score("lightweight-charts decimal comma", png, truth, xs))
        # log scale: a long daily-like window (SPY 1h, 150 bars) where log and linear differ little,
        # and the fit must still pick a scale that matches
        for truth, _ in cases[-2:]:
            png, xs = lwc.render(truth, theme="dark", log=True)
            results.append(score("lightweight-charts log scale", png, truth, xs))
        # thin candles: 300 and 500 bars across 1000 px (3 and 2 px a bar)
        spy5 = DATA / SOURCES[0][2]
        for n, start in ((300, 5000), (300, 20000), (500, 9000), (500, 30000)):
            t = load_truth(spy5, "SPY", "5m", start, n)
            png, xs = lwc.render(t, theme="dark", width=1000, height=600)
            results.append(score(f"lightweight-charts thin: {n} bars in 1000 px", png, t, xs))
        if args.fixtures:
            write_fixtures(args.fixtures, lwc, cases)
    for truth, _count in cases:
        for theme in ("dark", "light"):
            for w, h in sizes:
                png, xs = render_app_chart(truth, theme=theme, width=w, height=h)
                results.append(score(f"app ChartWidget {theme}", png, truth, xs))
    for truth, _count in cases:
        for style in ("yahoo", "charles"):
            for w, h in sizes:
                png, xs = render_mplfinance(truth, style=style, width=w, height=h)
                results.append(score(f"mplfinance {style}", png, truth, xs))
        png, xs = render_mplfinance(truth, style="nightclouds")
        results.append(score("mplfinance nightclouds (white/blue)", png, truth, xs))
    print(f"data: {DATA}; {len(cases)} windows of real bars; {len(results)} renders read")
    for line in summarize(results):
        print(line)
    secs = [r.seconds for r in results]
    cpu = [r.cpu_seconds for r in results]
    ref = statistics.median(ref_times)
    print(f"\nseconds per image (wall): median {statistics.median(secs):.2f}, p95 {np.percentile(secs, 95):.2f}, "
          f"max {max(secs):.2f}; CPU seconds (incl. tesseract): median {statistics.median(cpu):.2f}; "
          f"reference (one tesseract run over the axis strip) {ref:.2f} s wall "
          f"→ ratio {statistics.median(secs) / ref:.1f}x; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs")
    refused = [(r.group, r.refused) for r in results if r.refused]
    for g, why in refused:
        print(f"refused: {g}: {why}")
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ | {"errors": [round(e, 5) for e in r.errors]} for r in results]))
    return 0


def write_fixtures(folder: Path, lwc: LwcRenderer, cases: list[tuple[TruthBars, int]]) -> None:
    """Small PNGs with their true OHLC and bar x, for tests that run without Chromium."""
    folder.mkdir(parents=True, exist_ok=True)
    spy5 = next(t for t, c in cases if t.interval == "5m" and t.symbol == "SPY" and c == 60)
    es5 = next(t for t, c in cases if t.symbol == "ES" and c == 150)
    spy1h = next(t for t, c in cases if t.interval == "1h" and c == 60)
    made = [
        ("lwc_dark_spy5m_60", *lwc.render(spy5, theme="dark", width=800, height=480), spy5),
        ("lwc_light_es5m_150", *lwc.render(es5, theme="light", width=1000, height=600, legend=True), es5),
        ("lwc_dark_comma_spy1h_60", *lwc.render(spy1h, theme="dark", width=800, height=480, decimal_comma=True),
         spy1h),
        ("app_dark_spy1h_60", *render_app_chart(spy1h, theme="dark", width=800, height=480), spy1h),
    ]
    for name, png, xs, truth in made:
        img = Image.open(__import__("io").BytesIO(png)).convert("RGB")
        img.save(folder / f"{name}.png", optimize=True)
        doc = truth.to_json() | {"x": [None if not np.isfinite(x) else round(float(x), 2) for x in xs]}
        (folder / f"{name}.json").write_text(json.dumps(doc, indent=0))
        print(f"fixture {name}: {(folder / f'{name}.png').stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    raise SystemExit(main())
