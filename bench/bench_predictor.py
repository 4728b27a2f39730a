"""Predictor benchmarks on CPU, on real SPY 5-minute bars (../shared/data):

1. single-screenshot end-to-end latency (PNG decode → canonical image → features → network →
   prices), goal <= 100 ms, for the shipped model; reference: the same pipeline with a
   ResNet-18-style encoder, measured in the same run;
2. training throughput in samples/s (augmented chart drawing included) for the default network and
   the ResNet-18-style one.

    .venv/bin/python bench/bench_predictor.py [--threads N] [--runs 50]

Timings depend on the machine and its load: compare the ratios within one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def shared_data() -> Path:
    env = os.environ.get("TRADECOACH_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def median_ms(fn, runs: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    for _ in range(3):
        fn()
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        t.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(t), float(np.percentile(t, 90))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()
    t0 = time.perf_counter()
    import torch

    t_import = time.perf_counter() - t0
    torch.set_num_threads(args.threads)
    from PIL import Image

    from core.market.importer import read_bars_file
    from models.dataset import build_samples, render_window, split_by_fraction
    from models.inference import LocalPredictor
    from models.network import ModelConfig, Predictor
    from models.render import random_look
    from models.train import TrainConfig, train

    bars = read_bars_file(shared_data() / "intraday" / "SPY_5min_2018-2020_ib.csv", "SPY").bars
    recent = bars.between(None, int(datetime(2019, 5, 9, 18, 0, tzinfo=UTC).timestamp() * 1e9))
    recent = recent.tail(300)
    samples = build_samples(bars.between(None, int(datetime(2018, 3, 1, tzinfo=UTC).timestamp() * 1e9)), "SPY")
    chart = render_window(samples.window[-1], int(samples.n_bars[-1]), random_look(np.random.default_rng(4)))
    tmp = Path(tempfile.mkdtemp())
    shot = tmp / "screenshot.png"
    # Full-screen grabs, 1792 x 896: the chart upscaled smoothly ("clean", compresses like a flat
    # chart), and the same with pixel noise ("noisy": noise does not compress, a pessimistic decode).
    big = np.asarray(Image.fromarray(chart).resize((1792, 896), Image.Resampling.BILINEAR))
    clean = tmp / "clean.png"
    Image.fromarray(big).save(clean)
    noisy = big.astype(np.int16) + np.random.default_rng(5).integers(-3, 4, big.shape)
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(shot)
    at = datetime(2019, 5, 9, 18, 0, tzinfo=UTC)

    t0 = time.perf_counter()
    shipped = LocalPredictor.load()
    t_load = time.perf_counter() - t0
    resnet = LocalPredictor(Predictor(ModelConfig(backbone="resnet18")).eval(), {"model_version": "resnet18-ref"})
    print(f"CPU threads {args.threads}; torch import {t_import:.2f} s, shipped checkpoint load {t_load * 1e3:.0f} ms")
    from models.render import load_screenshot

    print(f"screenshots 1792x896 PNG: clean {clean.stat().st_size // 1024} KB, noisy {shot.stat().st_size // 1024} KB")
    print("\n1. single-screenshot latency, median / p90 ms over", args.runs, "runs")
    for name, path in (("clean", clean), ("noisy", shot)):
        med, p90 = median_ms(lambda path=path: load_screenshot(path), args.runs)
        print(f"   decode + resize only ({name} PNG)            {med:7.1f} / {p90:7.1f}")
    arr = load_screenshot(clean)
    rows = {}
    for name, p in (("default (small CNN)", shipped), ("ResNet-18-style reference", resnet)):
        for mode, img, kw in (("decoded image + bars", arr, {"bars": recent}),
                              ("clean PNG + bars", clean, {"bars": recent}),
                              ("noisy PNG + bars", shot, {"bars": recent}),
                              ("clean PNG, no bars", clean, {"price": 285.0})):
            rows[(name, mode)] = median_ms(lambda p=p, img=img, kw=kw: p.predict(img, "SPY", at=at, level=290.0, **kw),
                                           args.runs)
            med, p90 = rows[(name, mode)]
            print(f"   {name:26s} {mode:22s} {med:7.1f} / {p90:7.1f}")
    for mode in ("decoded image + bars", "clean PNG + bars", "noisy PNG + bars", "clean PNG, no bars"):
        ours = rows[("default (small CNN)", mode)][0]
        r = rows[("ResNet-18-style reference", mode)][0] / ours
        print(f"   {mode:22s} ResNet-18-style / default {r:.2f}x; default {ours:.1f} ms: goal <= 100 ms "
              f"{'met' if ours <= 100 else 'NOT met'}")

    print("\n2. training throughput (samples/s, one epoch, augmented drawing in 1 loader process)")
    s = samples.with_split(split_by_fraction(samples.session_day, 0.1, 0.1))
    small = s.take(np.r_[np.flatnonzero(s.split == "train")[:1024], np.flatnonzero(s.split == "val")[:64]])
    tiny = s.take(np.r_[np.flatnonzero(s.split == "train")[:128], np.flatnonzero(s.split == "val")[:32]])
    rates = {}
    for name, cfg, data in (("default (small CNN)", ModelConfig(), small),
                            ("ResNet-18-style", ModelConfig(backbone="resnet18"), tiny)):
        res = train(data, cfg, TrainConfig(epochs=1, batch_size=64, learning_rate=1e-3, threads=args.threads,
                                           workers=1, out_dir=tmp / name.split()[0]))
        rates[name] = res.history[-1]["samples_per_s"]
        print(f"   {name:28s} {rates[name]:7.1f} samples/s")
    print(f"   default / ResNet-18-style: {rates['default (small CNN)'] / rates['ResNet-18-style']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
