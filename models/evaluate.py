"""Evaluation of a checkpoint on any bar history, next to the baselines, with bootstrap 95% intervals.

Samples of one session are correlated (they share the same close), so the bootstrap resamples
whole sessions. Every metric is computed on the same samples for the model and the baselines:
no-change close; Brownian quantiles and the reflection-principle touch probability at the same
realized volatility.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.errors import InputError
from models import checkpoints
from models.baselines import brownian_quantiles, touch_probability_z
from models.dataset import SampleSet, sequence_features
from models.network import QUANTILES, TARGETS, TOUCH_GRID, ModelConfig, Predictor, image_tensor
from models.render import HEIGHT, WIDTH, render_batch

BOOTSTRAP = 1000
ABLATIONS = (None, "blank", "shuffle", "flip")


def load_model(path: str | Path | None = None) -> tuple[Predictor, dict[str, Any]]:
    data = checkpoints.load(path)
    model = Predictor(ModelConfig.from_dict(data["config"]))
    model.load_state_dict(data["state_dict"])
    model.eval()
    return model, data


def images(s: SampleSet) -> np.ndarray:
    """Canonical chart images of all samples, drawn in groups of equal bar count."""
    from models.dataset import WINDOW

    out = np.empty((len(s), HEIGHT, WIDTH, 3), dtype=np.uint8)
    for n in np.unique(s.n_bars):
        idx = np.flatnonzero(s.n_bars == n)
        w = s.window[idx, WINDOW - int(n):, :]
        out[idx] = render_batch(w[:, :, 0], w[:, :, 1], w[:, :, 2], w[:, :, 3])
    return out


@torch.no_grad()
def predict_samples(model: Predictor, s: SampleSet, grid: tuple[float, ...] = TOUCH_GRID,
                    batch: int = 512, use_bars: bool = True,
                    ablate: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles (N, 3 targets, 3 levels) in volatility units and P(touch) (N, len(grid)).
    `ablate` replaces the chart images: "blank" (one colour), "shuffle" (another sample's image),
    "flip" (upside down) — if nothing changes, the image branch adds nothing."""
    if ablate not in ABLATIONS:
        raise InputError("ablate", f"must be one of {', '.join(a for a in ABLATIONS if a)}")
    perm = np.random.default_rng(0).permutation(len(s)) if ablate == "shuffle" else None
    seq = sequence_features(s.window, s.n_bars, s.new_session, s.sigma, s.bar_minutes)
    ctx = s.ctx.copy()
    if not use_bars:  # screenshot-only mode: the model sees the chart and context only
        seq[:] = 0.0
        ctx[:, 5:9] = 0.0
    qs, ps = [], []
    d_all = torch.tensor(grid, dtype=torch.float32)
    for a in range(0, len(s), batch):
        b = slice(a, a + batch)
        rows = np.arange(a, min(a + batch, len(s)))
        pics = images(s.take(perm[rows] if perm is not None else rows))
        if ablate == "blank":
            pics[:] = pics[:, :1, :1, :]      # every pixel the corner's (background) colour
        elif ablate == "flip":
            pics = np.ascontiguousarray(pics[:, ::-1])
        img = image_tensor(pics)
        e = model.embed(img, torch.from_numpy(seq[b]), torch.from_numpy(ctx[b]))
        tau = torch.from_numpy(s.tau[b].astype(np.float32))
        qs.append(model.quantiles_from(e).numpy())
        ps.append(torch.sigmoid(model.touch_logit(e, d_all.expand(len(tau), -1), tau)).numpy())
    return np.concatenate(qs), np.concatenate(ps)


# -- bootstrap over sessions -----------------------------------------------------------------------
class SessionBootstrap:
    """Means of per-sample quantities with 95% intervals from resampling whole sessions."""

    def __init__(self, session_day: np.ndarray, n_boot: int = BOOTSTRAP, seed: int = 0) -> None:
        self.key, self.inv = np.unique(session_day, return_inverse=True)
        rng = np.random.default_rng(seed)
        k = len(self.key)
        # (B, sessions) multiplicity of each session in each resample
        self.w = rng.multinomial(k, np.full(k, 1.0 / k), size=n_boot).astype(np.float64)

    def sums(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        per = np.bincount(self.inv, weights=x, minlength=len(self.key))
        return float(per.sum()), self.w @ per

    def mean(self, x: np.ndarray, mask: np.ndarray | None = None) -> tuple[float, list[float], np.ndarray]:
        m = np.ones(len(x)) if mask is None else mask.astype(np.float64)
        xs, xb = self.sums(np.where(m > 0, x, 0.0))
        ns, nb = self.sums(m)
        boot = xb / np.maximum(nb, 1e-12)
        return xs / ns, ci(boot), boot


def ci(boot: np.ndarray) -> list[float]:
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return [float(lo), float(hi)]


def pinball_z(q: np.ndarray, y: np.ndarray, level: float) -> np.ndarray:
    d = y - q
    return np.maximum(level * d, (level - 1) * d)


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: |mean p - hit rate| per equal-width bin, weighted by bin size."""
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() * abs(p[m].mean() - y[m].mean())
    return float(total / len(p))


def evaluate_samples(model: Predictor, s: SampleSet, *, n_boot: int = BOOTSTRAP,
                     use_bars: bool = True, ablate: str | None = None) -> dict[str, Any]:
    """All metrics of the model and the baselines on the same samples. With `ablate`, the metrics
    are those of the ablated images, and `ablation` compares them pairwise with the real images."""
    t0 = time.monotonic()
    q, p_touch = predict_samples(model, s, use_bars=use_bars, ablate=ablate)
    bs = SessionBootstrap(s.session_day, n_boot)
    scale, S = s.scale, s.anchor
    y = np.stack([s.z(s.label_close), s.z(s.label_high), s.z(s.label_low)], axis=1)
    # close
    pred = S * np.exp(q[:, 0, 1] * scale)
    err, err0 = np.abs(pred - s.label_close), np.abs(S - s.label_close)
    mae, mae_ci, mae_b = bs.mean(err)
    mae0, mae0_ci, mae0_b = bs.mean(err0)
    rmse_b, rmse0_b = np.sqrt(bs.mean(err**2)[2]), np.sqrt(bs.mean(err0**2)[2])
    pct, pct0 = 100 * err / S, 100 * err0 / S
    close = {"mae": mae, "mae_ci95": mae_ci, "mae_no_change": mae0, "mae_no_change_ci95": mae0_ci,
             "mae_ratio_vs_no_change": mae / mae0, "mae_ratio_ci95": ci(mae_b / mae0_b),
             "rmse": float(np.sqrt(np.mean(err**2))), "rmse_ci95": ci(rmse_b),
             "rmse_no_change": float(np.sqrt(np.mean(err0**2))), "rmse_no_change_ci95": ci(rmse0_b),
             "mae_pct": float(pct.mean()), "mae_pct_no_change": float(pct0.mean()),
             "rmse_pct": float(np.sqrt(np.mean(pct**2))), "rmse_pct_no_change": float(np.sqrt(np.mean(pct0**2)))}
    # direction (moves of exactly zero have no direction and are left out)
    move = np.sign(s.label_close - S)
    has = move != 0
    hit = (np.sign(q[:, 0, 1]) == move).astype(np.float64)
    acc, acc_ci, _ = bs.mean(hit, has)
    up, up_ci, _ = bs.mean((move > 0).astype(np.float64), has)
    pred_up, pred_up_ci, _ = bs.mean((q[:, 0, 1] > 0).astype(np.float64))
    direction = {"accuracy": acc, "ci95": acc_ci, "n": int(has.sum()), "up_share": up, "up_share_ci95": up_ci,
                 "predicted_up_share": pred_up, "predicted_up_share_ci95": pred_up_ci,
                 "median_drift_vol_units": float(np.median(q[:, 0, 1])),
                 "note": "no-change has no direction: compare with 0.5 and with up_share (always long)"}
    # quantiles and ranges
    base_q = brownian_quantiles(QUANTILES)
    quant: dict[str, Any] = {}
    for t, name in enumerate(TARGETS):
        quant[name] = {}
        for k, lev in enumerate(QUANTILES):
            lm, lm_ci, lb = bs.mean(pinball_z(q[:, t, k], y[:, t], lev))
            l0, l0_ci, l0b = bs.mean(pinball_z(np.full(len(y), base_q[t, k]), y[:, t], lev))
            quant[name][str(lev)] = {"pinball": lm, "ci95": lm_ci, "pinball_brownian": l0, "brownian_ci95": l0_ci,
                                     "skill": 1 - lm / l0, "skill_ci95": ci(1 - lb / l0b)}
    inside = {name: (y[:, t] >= q[:, t, 0]) & (y[:, t] <= q[:, t, 2]) for t, name in enumerate(TARGETS)}
    inside0 = {name: (y[:, t] >= base_q[t, 0]) & (y[:, t] <= base_q[t, 2]) for t, name in enumerate(TARGETS)}
    hl = np.concatenate([inside["high"], inside["low"]]).astype(np.float64)
    hl0 = np.concatenate([inside0["high"], inside0["low"]]).astype(np.float64)
    bs2 = SessionBootstrap(np.concatenate([s.session_day, s.session_day]), n_boot)
    cov, cov_ci, _ = bs2.mean(hl)
    cov0, cov0_ci, _ = bs2.mean(hl0)
    rng: dict[str, Any] = {"coverage80": cov, "ci95": cov_ci, "coverage80_brownian": cov0, "brownian_ci95": cov0_ci,
                           "target": 0.8}
    for name in TARGETS:
        rng[f"coverage80_{name}"] = float(inside[name].mean())
        rng[f"coverage80_{name}_brownian"] = float(inside0[name].mean())
    # touch over the level grid
    g = np.asarray(TOUCH_GRID)
    outcome = np.where(g[None, :] > 0, y[:, 1:2] >= g[None, :], y[:, 2:3] <= g[None, :]).astype(np.float64)
    p_ref = touch_probability_z(g[None, :], s.tau[:, None])
    bm, bm_ci, bmb = bs.mean(((p_touch - outcome) ** 2).mean(axis=1))
    br, br_ci, brb = bs.mean(((p_ref - outcome) ** 2).mean(axis=1))
    touch = {"brier": bm, "brier_ci95": bm_ci, "brier_reflection": br, "brier_reflection_ci95": br_ci,
             "brier_skill": 1 - bm / br, "brier_skill_ci95": ci(1 - bmb / brb),
             "ece": ece(p_touch.ravel(), outcome.ravel()), "ece_reflection": ece(p_ref.ravel(), outcome.ravel()),
             "hit_rate": float(outcome.mean()), "levels_vol_units": list(TOUCH_GRID), "n_pairs": int(outcome.size),
             "baseline": "reflection principle at realized volatility, BGK shift for 1-minute monitoring"}
    report = {"n_samples": len(s), "n_sessions": len(bs.key), "first_session": str(s.session_day.min()),
              "last_session": str(s.session_day.max()), "bars_used": "yes" if use_bars else "screenshot only",
              "close": close, "direction": direction, "quantiles": quant, "range": rng, "touch": touch}
    if ablate:
        _, p_real = predict_samples(model, s, use_bars=use_bars)
        real_b = ((p_real - outcome) ** 2).mean(axis=1)
        dm, dm_ci, _ = bs.mean(((p_touch - outcome) ** 2).mean(axis=1) - real_b)
        report["ablation"] = {"images": ablate, "mean_abs_change_p_touch": float(np.abs(p_touch - p_real).mean()),
                              "brier_change": dm, "brier_change_ci95": dm_ci,
                              "note": "brier_change > 0 (whole interval) would mean the images add skill"}
    report["verdict"] = verdict(report)
    report["seconds_model"] = round(time.monotonic() - t0, 2)
    return report


def verdict(r: dict[str, Any]) -> dict[str, str]:
    """Plain words, decided by the 95% intervals: 'beats' only when the whole interval is better."""
    t = r["touch"]
    touch = ("better than volatility alone" if t["brier_skill_ci95"][0] > 0 else
             "worse than volatility alone" if t["brier_skill_ci95"][1] < 0 else "no better than volatility alone")
    c = r["close"]
    close = ("better than no change" if c["mae_ratio_ci95"][1] < 1 else
             "worse than no change" if c["mae_ratio_ci95"][0] > 1 else "no better than no change")
    d = r["direction"]
    if d["ci95"][0] > max(0.5, d["up_share"], 1 - d["up_share"]):
        direction = "better than a coin flip and than always long/short"
    elif d["ci95"][0] > 0.5:
        # in a trending sample "always long" is right more often: say so rather than claim skill
        direction = f"better than a coin flip, not than always {'long' if d['up_share'] >= 0.5 else 'short'}"
    else:
        direction = "no better than a coin flip"
    return {"touch": touch, "close": close, "direction": direction}


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The skill a prediction quotes (kept small: it travels with every prediction)."""
    return {"n_samples": report["n_samples"], "data": report.get("data", ""),
            "brier_skill": report["touch"]["brier_skill"], "brier_skill_ci95": report["touch"]["brier_skill_ci95"],
            "mae_ratio_vs_no_change": report["close"]["mae_ratio_vs_no_change"],
            "mae_ratio_ci95": report["close"]["mae_ratio_ci95"], "coverage80": report["range"]["coverage80"],
            "direction_accuracy": report["direction"]["accuracy"], "verdict": report["verdict"]}


def evaluate_file(path: Path, symbol: str, checkpoint: Path | None = None, *, every_minutes: int | None = 30,
                  start: Any = None, end: Any = None, n_boot: int = BOOTSTRAP, use_bars: bool = True,
                  ablate: str | None = None) -> dict[str, Any]:
    """Read a bar file, build samples every `every_minutes` (default 30) and evaluate."""
    from core.errors import InputError
    from core.market.importer import read_bars_file
    from models.dataset import build_samples

    t0 = time.monotonic()
    imported = read_bars_file(path, symbol)
    bars = imported.bars
    if start is not None or end is not None:
        s_ns = None if start is None else int(np.datetime64(start, "ns").astype(np.int64))
        e_ns = None if end is None else int(np.datetime64(end, "ns").astype(np.int64)) + 86_400 * 10**9
        bars = bars.between(s_ns, e_ns)
    every = every_minutes if every_minutes is None or every_minutes >= imported.interval.minutes else None
    samples = build_samples(bars, symbol, every_minutes=every)
    if len(samples) < 10:
        raise InputError("bars", f"only {len(samples)} complete-session samples in {path.name}; need at least 10")
    model, data = load_model(checkpoint)
    report = evaluate_samples(model, samples, n_boot=n_boot, use_bars=use_bars, ablate=ablate)
    report.update({"symbol": symbol.upper(), "bars_file": str(path), "interval": imported.interval.name,
                   "every_minutes": every or imported.interval.minutes,
                   "checkpoint": str(checkpoint or checkpoints.default_checkpoint()),
                   "model_version": data.get("model_version", "?"), "seconds": round(time.monotonic() - t0, 2)})
    return report
