"""The screenshot path measured end to end on a chart style the model never saw: held-out bars are
drawn with mplfinance (the model trained on `models/render.py`'s themes), read back by the chart
reader, and predicted as the app does with no feed — the read last price as the anchor, the read
candles' volatility, no bar sequence. Scored on the same level grid as `eval-predictor`, against
volatility alone at the same (read) volatility and at the true realized volatility.

    python -m models.eval_screenshot --bars FILE --symbol SPY [--n 120] [--json]
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


def evaluate_screenshot_path(path: Path, symbol: str, n: int = 120, seed: int = 0, n_boot: int = 1000,
                             style: str = "yahoo") -> dict[str, Any]:
    from core.chartread import read_chart
    from core.market.importer import read_bars_file
    from models.dataset import WINDOW, build_samples
    from models.inference import LocalPredictor
    from models.reading_inputs import read_volatility

    t0 = time.monotonic()
    bars = read_bars_file(path, symbol).bars
    s = build_samples(bars, symbol, every_minutes=30)
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(np.flatnonzero(s.n_bars >= SHOWN_BARS), size=min(n, len(s)), replace=False))
    s = s.take(pick)
    pred = LocalPredictor.load()
    g = np.asarray(TOUCH_GRID)
    rows: list[dict[str, Any]] = []
    refused = 0
    for k in range(len(s)):
        w = s.window[k, WINDOW - SHOWN_BARS:, :4].astype(np.float64)
        ohlc = s.anchor[k] * np.exp(w)
        ends = s.decision_ns[k] - np.arange(SHOWN_BARS)[::-1] * s.interval_minutes * 60 * 10**9
        png = render_mplfinance_png(*ohlc.T, ends - s.interval_minutes * 60 * 10**9, symbol, style)
        reading = read_chart(png)
        vol = None if reading.refused else read_volatility(reading.bars, None)
        if reading.refused or vol is None or not reading.last_price:
            refused += 1
            continue
        # mplfinance shows no interval: the reader cannot know it; the bars' own interval is used as a
        # trader would type it.
        sigma = vol.sigma * math.sqrt(vol.interval_minutes / s.interval_minutes)
        price = float(reading.last_price)
        at = datetime.fromtimestamp(s.decision_ns[k] / 1e9, UTC)
        levels = price * np.exp(g * sigma * math.sqrt(s.tau[k]))
        p = [pred.predict(png, symbol, price=price, level=float(lv), at=at, sigma=sigma, path="screenshot")
             for lv in levels]
        hit = np.where(g > 0, s.label_high[k] >= levels, s.label_low[k] <= levels).astype(np.float64)
        z_true = np.log(levels / s.anchor[k]) / s.scale[k]
        rows.append({"day": s.session_day[k], "p": np.array([f.p_touch for f in p]), "hit": hit,
                     "p_read_vol": touch_probability_z(g, s.tau[k]),
                     "p_true_vol": touch_probability_z(z_true, s.tau[k]),
                     "close_pred": p[0].close, "close": s.label_close[k], "anchor_true": s.anchor[k], "price": price,
                     "sigma_ratio": sigma / s.sigma[k]})
    if not rows:
        return {"n_read": 0, "refused": refused}
    day = np.array([r["day"] for r in rows])
    bs = SessionBootstrap(day, n_boot)

    def brier(key: str) -> tuple[float, np.ndarray]:
        m, _, b = bs.mean(np.array([((r[key] - r["hit"]) ** 2).mean() for r in rows]))
        return m, b

    bm, bmb = brier("p")
    br, brb = brier("p_read_vol")
    bt, btb = brier("p_true_vol")
    err = np.abs(np.array([r["close_pred"] - r["close"] for r in rows]))
    err0 = np.abs(np.array([r["price"] - r["close"] for r in rows]))
    mae, _, mb = bs.mean(err)
    mae0, _, m0b = bs.mean(err0)
    up = np.array([r["close_pred"] > r["price"] for r in rows], dtype=np.float64)
    return {
        "symbol": symbol, "style": f"mplfinance {style} (not used in training)", "n_read": len(rows),
        "refused_or_unusable": refused, "n_sessions": len(bs.key), "seconds": round(time.monotonic() - t0, 1),
        "price_error_pct_median": float(np.median([abs(r["price"] / r["anchor_true"] - 1) * 100 for r in rows])),
        "sigma_read_over_true_median": float(np.median([r["sigma_ratio"] for r in rows])),
        "brier": bm, "brier_volatility_read": br, "brier_volatility_true": bt,
        "brier_skill_vs_read_volatility": 1 - bm / br, "brier_skill_vs_read_volatility_ci95": ci(1 - bmb / brb),
        "brier_skill_vs_true_volatility": 1 - bm / bt, "brier_skill_vs_true_volatility_ci95": ci(1 - bmb / btb),
        "close_mae_ratio_vs_no_change": mae / mae0, "close_mae_ratio_ci95": ci(mb / m0b),
        "predicted_up_share": float(up.mean()),
    }


def path_skill(r: dict[str, Any]) -> dict[str, Any]:
    """What a screenshot-path forecast quotes: the skill against volatility alone at the read volatility."""
    lo, hi = r["brier_skill_vs_read_volatility_ci95"]
    touch = ("better than volatility alone" if lo > 0 else "worse than volatility alone" if hi < 0
             else "no better than volatility alone")
    return {"n_samples": r["n_read"], "brier_skill": r["brier_skill_vs_read_volatility"], "brier_skill_ci95": [lo, hi],
            "data": f"{r['symbol']} 5m 2018–2020, {r['n_read']} screenshots in {r['style']}, read by the chart reader",
            "verdict": {"touch": touch, "close": "re-centred on the price (no drift)", "direction": "none given"}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="eval-screenshot-path")
    p.add_argument("--bars", type=Path, required=True)
    p.add_argument("--symbol", required=True)
    p.add_argument("--n", type=int, default=120, help="decision times drawn, read and predicted")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--style", default="yahoo", help="mplfinance style")
    p.add_argument("--save-skill", action="store_true", help="store the result as the checkpoint's screenshot skill")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    r = evaluate_screenshot_path(a.bars, a.symbol, a.n, a.seed, style=a.style)
    if a.save_skill and r.get("n_read"):
        from models import checkpoints

        checkpoints.attach_path_skill(checkpoints.default_checkpoint(), "screenshot", path_skill(r))
    print(json.dumps(r, default=str) if a.json else "\n".join(f"{k}: {v}" for k, v in r.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
