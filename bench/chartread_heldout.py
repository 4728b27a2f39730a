"""Held-out chart styles for core.chartread: random windows of 60 real SPY 5-min bars rendered in
styles the reader was not written on (mplfinance binancedark and ibd) and the app's chart; prints,
per style, renders refused, candles found, extra candles, median/p95 OHLC error % and the interval
read. `python -m bench.chartread_heldout --n 30 [--styles ...] [--save DIR]`."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from bench.chartread_render import load_truth, render_app_chart, render_mplfinance

DATA = Path("/work/shared/data/intraday/SPY_5min_2018-2020_ib.csv")
STYLES = {"mplfinance binancedark": ("mpf", "binancedark"), "mplfinance ibd": ("mpf", "ibd"),
          "app chart dark": ("app", "dark"),
          # tuned styles, run to check for regressions (--styles)
          "mplfinance yahoo": ("mpf", "yahoo"), "mplfinance charles": ("mpf", "charles")}
DEFAULT = ("mplfinance binancedark", "mplfinance ibd", "app chart dark")


def render(style: str, truth):  # type: ignore[no-untyped-def]
    kind, theme = STYLES[style]
    return render_mplfinance(truth, style=theme) if kind == "mpf" else render_app_chart(truth, theme=theme)


def score(reading, truth, xs: np.ndarray) -> tuple[int, int, int, list[float]]:  # type: ignore[no-untyped-def]
    """(shown, found, extra, errors %): found = a read candle within half a spacing of the true x."""
    vis = np.flatnonzero(np.isfinite(xs))
    if reading.refused or not reading.bars:
        return len(vis), 0, 0, []
    bx = np.array([b.x for b in reading.bars])
    sp = float(np.median(np.diff(xs[vis])))
    found, errs, used = 0, [], set()
    for i in vis:
        j = int(np.argmin(np.abs(bx - xs[i])))
        if abs(bx[j] - xs[i]) > sp / 2:
            continue
        found += 1
        used.add(j)
        b = reading.bars[j]
        for got, want in ((b.open, truth.open[i]), (b.high, truth.high[i]), (b.low, truth.low[i]),
                          (b.close, truth.close[i])):
            errs.append(abs(got - want) / truth.close[i] * 100)
    return len(vis), found, len(bx) - len(used), errs


# (name, style, window index with seed 14): renders that failed before the fixes of issue 14 —
# binancedark refused (axis strip taken from the frame and grid lines), ibd refused or fitted to the
# volume pane's axis with volume-bar edges read as candles, the app's interval read as 1m from a wick
FIXTURES = (("mpf_binancedark_spy5m_60", "mplfinance binancedark", 1), ("mpf_ibd_spy5m_60", "mplfinance ibd", 3),
            ("app_dark_spy5m_60", "app chart dark", 2))


def write_fixtures(folder: Path, starts: np.ndarray) -> None:
    import io
    import json

    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for name, style, k in FIXTURES:
        truth = load_truth(DATA, "SPY", "5m", int(starts[k]), 60)
        png, xs = render(style, truth)
        Image.open(io.BytesIO(png)).convert("RGB").save(folder / f"{name}.png", optimize=True)
        doc = truth.to_json() | {"x": [None if not np.isfinite(x) else round(float(x), 2) for x in xs]}
        (folder / f"{name}.json").write_text(json.dumps(doc, indent=0))
        print(f"fixture {name}: {(folder / f'{name}.png').stat().st_size / 1024:.0f} KB")


def main(argv: list[str] | None = None) -> int:
    from core.chartread import read_chart
    from core.market.importer import read_bars_file

    p = argparse.ArgumentParser(prog="chartread-heldout")
    p.add_argument("--n", type=int, default=30)
    p.add_argument("--seed", type=int, default=14)
    p.add_argument("--styles", default=",".join(DEFAULT))
    p.add_argument("--save", type=Path, help="write each render's PNG here")
    p.add_argument("--fixtures", type=Path, help="write the test fixtures of the fixed failures here, run nothing")
    a = p.parse_args(argv)
    total = len(read_bars_file(DATA, "SPY").bars)
    rng = np.random.default_rng(a.seed)
    starts = rng.integers(0, total - 60, size=max(a.n, 4))
    if a.fixtures:
        write_fixtures(a.fixtures, starts)
        return 0
    for style in a.styles.split(","):
        refused, shown, found, extra, errs, ivs, worst = Counter(), 0, 0, 0, [], Counter(), 0.0
        for k, s0 in enumerate(starts):
            truth = load_truth(DATA, "SPY", "5m", int(s0), 60)
            png, xs = render(style, truth)
            if a.save:
                a.save.mkdir(parents=True, exist_ok=True)
                (a.save / f"{STYLES[style][1]}_{k:02d}.png").write_bytes(png)
            r = read_chart(png)
            if r.refused:
                refused[r.reason] += 1
                continue
            sh, fo, ex, er = score(r, truth, xs)
            shown, found, extra, errs = shown + sh, found + fo, extra + ex, errs + er
            worst = max(worst, max(er, default=0.0))
            ivs[r.interval["value"] if r.interval else None] += 1
        e = np.array(errs) if errs else np.array([np.nan])
        print(f"{style}: {a.n} renders, refused {sum(refused.values())} {dict(refused)}; found "
              f"{found}/{shown} ({100 * found / max(shown, 1):.1f}%), extra {extra}; err median "
              f"{np.median(e):.4f}% p95 {np.percentile(e, 95):.4f}% max {worst:.3f}%; interval {dict(ivs)}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
