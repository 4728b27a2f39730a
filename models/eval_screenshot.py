"""The screenshot path measured end to end: held-out bars are drawn as chart screenshots in several
styles — some the chart reader was written against, some it never saw — read back by the chart
reader, and predicted as the app does with no feed: the read last price as the anchor, the read
candles' volatility, no bar sequence. An ablation on the same decisions and the same levels says
what the screenshot is worth:

- `screenshot`   what the app does with a bare screenshot (read price, read-candle volatility);
- `true candles` the same, from the true shown candles (the reader's errors removed);
- `feed`         the model with the true bar history (sequence and intraday context);
- `price only`   the read price and no candles: 20% a year assumed (what is left without them);
- volatility alone at the read volatility, and at the true realized volatility (baselines).

P(touch) is scored on `eval-predictor`'s level grid (±0.3…2 true volatility units from the true
price); 95% intervals resample whole sessions. Renderers: mplfinance (Agg), TradingView's
lightweight-charts (headless Chromium) and the app's chart (offscreen Qt), from bench/chartread_render.

    python -m models.eval_screenshot --bars FILE --symbol SPY [--n 120] [--styles a,b] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from models.baselines import touch_probability_z
from models.evaluate import SessionBootstrap, ci
from models.network import TOUCH_GRID

SHOWN_BARS = 60


def render_mplfinance_png(o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, ts_ns: np.ndarray,
                          symbol: str, style: str = "yahoo") -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplfinance as mpf
    import pandas as pd

    idx = pd.DatetimeIndex(pd.to_datetime(ts_ns, utc=True).tz_convert("America/New_York").tz_localize(None))
    df = pd.DataFrame({"Open": o, "High": h, "Low": lo, "Close": c}, index=idx)
    fig, _ = mpf.plot(df, type="candle", style=style, returnfig=True, figsize=(10, 6), title=symbol,
                      scale_padding={"left": 0.3, "right": 1.2, "top": 0.6, "bottom": 1.0})
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


# name → (renderer, theme or style, used while the reader was written). Held-out styles were never
# rendered before this evaluation: nothing in the reader was tuned on them. The network has no
# image input at inference, so no model weight was fitted on any style.
STYLES: dict[str, tuple[str, str, bool]] = {
    "mplfinance yahoo": ("mplfinance", "yahoo", True),
    "lightweight-charts dark": ("lwc", "dark", True),
    "app chart dark": ("app", "dark", True),
    "mplfinance binancedark": ("mplfinance", "binancedark", False),
    "mplfinance ibd": ("mplfinance", "ibd", False),
    "lightweight-charts navy (blue up, orange down)": ("lwc", "navy", False),
}
ARMS = ("screenshot", "true candles", "feed", "price only", "volatility alone (read)", "volatility alone (true)")


class _Renderers:
    """Renders one window of bars in a named style: PNG bytes and each bar's x pixel (the truth)."""

    def __init__(self) -> None:
        self._lwc: Any = None

    def render(self, style: str, truth: Any) -> tuple[bytes, np.ndarray]:
        from bench.chartread_render import render_app_chart, render_mplfinance

        kind, theme, _ = STYLES[style]
        if kind == "mplfinance":
            return render_mplfinance(truth, style=theme)
        if kind == "app":
            return render_app_chart(truth, theme=theme)
        if self._lwc is None:
            from bench.chartread_render import LwcRenderer

            self._lwc = LwcRenderer()
        return self._lwc.render(truth, theme=theme)  # type: ignore[no-any-return]

    def close(self) -> None:
        if self._lwc is not None:
            self._lwc.close()


def read_accuracy(reading: Any, truth: Any, xs: np.ndarray) -> tuple[int, int, list[float]]:
    """(true bars shown, found, |OHLC error| % of price): a bar is found when a read candle's centre
    lies within half a bar spacing of the renderer's own x for it (as bench/bench_chartread.py)."""
    visible = np.flatnonzero(np.isfinite(xs))
    if reading.refused or not reading.bars:
        return len(visible), 0, []
    bx = np.array([b.x for b in reading.bars])
    spacing = float(np.median(np.diff(xs[visible]))) if visible.size > 1 else 10.0
    found, errors = 0, []
    for i in visible:
        j = int(np.argmin(np.abs(bx - xs[i])))
        if abs(bx[j] - xs[i]) > spacing / 2:
            continue
        found += 1
        b = reading.bars[j]
        for got, want in ((b.open, truth.open[i]), (b.high, truth.high[i]), (b.low, truth.low[i]),
                          (b.close, truth.close[i])):
            errors.append(abs(got - want) / truth.close[i] * 100)
    return len(visible), found, errors


def evaluate_screenshot_path(path: Path, symbol: str, n: int = 120, seed: int = 0, n_boot: int = 1000,
                             styles: list[str] | None = None, progress: bool = False,
                             dump: Path | None = None) -> dict[str, Any]:
    """`dump`: one JSON line per decision appended as it is done, so a partial run can be
    summarized (`--from-dump`)."""
    import torch

    from bench.chartread_render import TruthBars
    from core.chartread import read_chart
    from core.market.importer import read_bars_file
    from models.dataset import WINDOW, build_samples
    from models.inference import LocalPredictor
    from models.reading_inputs import read_volatility

    styles = styles or list(STYLES)
    unknown = [st for st in styles if st not in STYLES]
    if unknown:
        from core.errors import InputError

        raise InputError("styles", f"unknown: {', '.join(unknown)} (known: {', '.join(STYLES)})")
    t0 = time.monotonic()
    bars = read_bars_file(path, symbol).bars
    s = build_samples(bars, symbol, every_minutes=30)
    rng = np.random.default_rng(seed)
    # random order (not sorted by date), so a run stopped early is still a random sample
    pick = rng.choice(np.flatnonzero(s.n_bars >= SHOWN_BARS), size=min(n, len(s)), replace=False)
    s = s.take(pick)
    torch.set_num_threads(1)   # one small forward pass at a time: more threads only contend on a shared CPU
    pred = LocalPredictor.load()
    g = np.asarray(TOUCH_GRID)
    iv_ns = s.interval_minutes * 60 * 10**9
    renderers = _Renderers()
    records: list[dict[str, Any]] = []
    try:
        for k in range(len(s)):
            style = styles[k % len(styles)]
            w = s.window[k, WINDOW - SHOWN_BARS:, :].astype(np.float64)
            ohlc = s.anchor[k] * np.exp(w[:, :4])
            starts = s.decision_ns[k] - (np.arange(SHOWN_BARS)[::-1] + 1) * iv_ns
            truth = TruthBars(symbol, f"{s.interval_minutes}m", (starts // 10**9).astype(np.int64),
                              *(ohlc[:, j].copy() for j in range(4)), np.expm1(w[:, 4]))
            png, xs = renderers.render(style, truth)
            r0 = time.monotonic()
            reading = read_chart(png)
            shown, found, errors = read_accuracy(reading, truth, xs)
            rec: dict[str, Any] = {"k": k, "day": str(s.session_day[k]), "style": style, "shown": shown,
                                   "found": found, "errors": [round(e, 6) for e in errors],
                                   "read_seconds": round(time.monotonic() - r0, 3), "status": "read"}
            interval = None if reading.refused else reading.interval_minutes()
            vol = None if reading.refused else read_volatility(reading.bars, interval)
            if reading.refused:
                rec.update(status="refused", reason=reading.reason)
            elif vol is None or not reading.last_price:
                rec.update(status="unusable", reason="no volatility or last price read")
            else:
                at = datetime.fromtimestamp(s.decision_ns[k] / 1e9, UTC)
                levels = s.anchor[k] * np.exp(g * s.scale[k])        # eval-predictor's grid, true units
                price = float(reading.last_price)
                true_vol = read_volatility([_Bar(*ohlc[i]) for i in range(SHOWN_BARS)], s.interval_minutes)
                arms = {
                    "screenshot": dict(price=price, sigma=vol.sigma, path="screenshot"),
                    "true candles": dict(price=float(s.anchor[k]), sigma=true_vol.sigma if true_vol else None,
                                         path="screenshot"),
                    "feed": dict(bars=bars.between(None, int(s.decision_ns[k])).tail(RECENT_BARS), path="feed"),
                    "price only": dict(price=price, path="price only"),
                }
                p = {name: np.array([pred.predict(None if name == "feed" else _TINY, symbol, level=float(lv), at=at,
                                                  **kw).p_touch for lv in levels])  # type: ignore[arg-type]
                     for name, kw in arms.items()}
                read_scale = vol.sigma * math.sqrt(s.tau[k])
                p["volatility alone (read)"] = touch_probability_z(np.log(levels / price) / read_scale, s.tau[k])
                p["volatility alone (true)"] = touch_probability_z(g, s.tau[k])
                hit = np.where(g > 0, s.label_high[k] >= levels, s.label_low[k] <= levels).astype(np.float64)
                rec.update(brier={a: float(((p[a] - hit) ** 2).mean()) for a in ARMS},
                           price_err_pct=abs(price / s.anchor[k] - 1) * 100, sigma_ratio=vol.sigma / s.sigma[k],
                           interval_read=interval)
            records.append(rec)
            if dump is not None:
                with dump.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(rec) + "\n")
            if progress and (k + 1) % 10 == 0:
                print(f"{k + 1}/{len(s)} decisions, {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
    finally:
        renderers.close()
    return summarize(records, symbol, n_boot) | {"seed": seed, "seconds": round(time.monotonic() - t0, 1)}


def summarize(records: list[dict[str, Any]], symbol: str, n_boot: int = 1000) -> dict[str, Any]:
    """Reading accuracy and forecast skill, overall, per style and over the held-out styles."""
    rows = [r for r in records if r["status"] == "read"]
    out: dict[str, Any] = {"symbol": symbol, "decisions": len(records), "n_read": len(rows),
                           "refused_or_unusable": len(records) - len(rows)}
    if not rows:
        return out
    out.update(_skills(rows, n_boot))
    out["per_style"] = {}
    for st in dict.fromkeys(r["style"] for r in records):
        rec = [r for r in records if r["style"] == st]
        errors = [e for r in rec for e in r["errors"]]
        sub = [r for r in rows if r["style"] == st]
        entry: dict[str, Any] = {
            "held_out": not STYLES[st][2], "renders": len(rec),
            "refused": sum(r["status"] == "refused" for r in rec),
            "unusable": sum(r["status"] == "unusable" for r in rec),
            "refusal_reasons": sorted({r.get("reason", "") for r in rec if r["status"] != "read"}),
            "candles_found": sum(r["found"] for r in rec) / max(sum(r["shown"] for r in rec), 1),
            "candles_shown": sum(r["shown"] for r in rec),
            "candles_found_when_read": sum(r["found"] for r in rec if r["status"] != "refused")
            / max(sum(r["shown"] for r in rec if r["status"] != "refused"), 1),
            "ohlc_error_pct_median": float(np.median(errors)) if errors else None,
            "ohlc_error_pct_p95": float(np.percentile(errors, 95)) if errors else None,
            "read_seconds_median": float(np.median([r["read_seconds"] for r in rec])),
        }
        if len({r["day"] for r in sub}) >= 5:
            entry.update(_skills(sub, n_boot))
        out["per_style"][st] = entry
    for name, held in (("held_out_styles", True), ("tuned_styles", False)):
        sub = [r for r in rows if (not STYLES[r["style"]][2]) == held]
        if len({r["day"] for r in sub}) >= 5:
            out[name] = _skills(sub, n_boot)
    return out


RECENT_BARS = 200   # as the app hands the feed's bars to the model
_TINY = np.full((96, 96, 3), 128, np.uint8)   # the network's image input is blank at inference anyway


class _Bar:
    """A true candle in the shape read_volatility takes."""

    __slots__ = ("close", "high", "low", "open", "time")

    def __init__(self, o: float, h: float, lo: float, c: float) -> None:
        self.open, self.high, self.low, self.close, self.time = o, h, lo, c, None


def _skills(rows: list[dict[str, Any]], n_boot: int) -> dict[str, Any]:
    """Brier per arm, skill of each arm against both volatility baselines and the screenshot's
    gain over the other arms, all with paired session-bootstrap 95% intervals."""
    bs = SessionBootstrap(np.array([r["day"] for r in rows]), n_boot)
    # a screenshot whose candles were misread shows up here; the rest is in per_style
    b = {a: bs.mean(np.array([r["brier"][a] for r in rows])) for a in ARMS}
    out: dict[str, Any] = {"n": len(rows), "sessions": len(bs.key),
                           "brier": {a: b[a][0] for a in ARMS},
                           "price_error_pct_median": float(np.median([r["price_err_pct"] for r in rows])),
                           "sigma_read_over_true_median": float(np.median([r["sigma_ratio"] for r in rows]))}

    def skill(a: str, ref: str) -> dict[str, Any]:
        return {"skill": 1 - b[a][0] / b[ref][0], "ci95": ci(1 - b[a][2] / b[ref][2])}

    out["skill_vs_volatility_read"] = {a: skill(a, "volatility alone (read)") for a in ARMS[:4]}
    out["skill_vs_volatility_true"] = {a: skill(a, "volatility alone (true)") for a in ARMS[:5]}
    # What the screenshot adds: its arm against the arms without it (positive = the screenshot helps).
    out["screenshot_vs"] = {a: skill("screenshot", a) for a in ("price only", "true candles", "feed")}
    s = out["skill_vs_volatility_read"]["screenshot"]
    out["brier_skill_vs_read_volatility"], out["brier_skill_vs_read_volatility_ci95"] = s["skill"], s["ci95"]
    return out


def path_skill(r: dict[str, Any]) -> dict[str, Any]:
    """What a screenshot-path forecast quotes: the skill against volatility alone at the read volatility."""
    lo, hi = r["brier_skill_vs_read_volatility_ci95"]
    touch = ("better than volatility alone" if lo > 0 else "worse than volatility alone" if hi < 0
             else "no better than volatility alone")
    n_styles = len(r.get("per_style") or {}) or 1
    return {"n_samples": r["n_read"], "brier_skill": r["brier_skill_vs_read_volatility"], "brier_skill_ci95": [lo, hi],
            "data": f"{r['symbol']} 5m 2018–2020, {r['n_read']} screenshots in {n_styles} chart styles "
                    "(mplfinance, lightweight-charts, the app's chart), read by the chart reader; baseline: "
                    "volatility alone at the read volatility",
            "verdict": {"touch": touch, "close": "re-centred on the price (no drift)", "direction": "none given"}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="eval-screenshot-path")
    p.add_argument("--bars", type=Path, required=True)
    p.add_argument("--symbol", required=True)
    p.add_argument("--n", type=int, default=120, help="decision times drawn, rendered, read and predicted")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--styles", default="", help=f"comma-separated, default all: {', '.join(STYLES)}")
    p.add_argument("--save-skill", action="store_true", help="store the result as the checkpoint's screenshot skill")
    p.add_argument("--json", action="store_true")
    p.add_argument("--progress", action="store_true")
    p.add_argument("--dump", type=Path, help="append one JSON line per decision here as it is done")
    p.add_argument("--from-dump", type=Path, help="summarize an earlier (possibly partial) --dump, run nothing")
    a = p.parse_args(argv)
    styles = [x.strip() for x in a.styles.split(",") if x.strip()] or None
    if a.from_dump:
        lines = a.from_dump.read_text(encoding="utf-8").splitlines()
        r = summarize([json.loads(x) for x in lines if x.strip()], a.symbol)
    else:
        r = evaluate_screenshot_path(a.bars, a.symbol, a.n, a.seed, styles=styles, progress=a.progress, dump=a.dump)
    if a.save_skill and r.get("n_read"):
        from models import checkpoints

        checkpoints.attach_path_skill(checkpoints.default_checkpoint(), "screenshot", path_skill(r))
    print(json.dumps(r, default=str) if a.json else "\n".join(f"{k}: {v}" for k, v in r.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
