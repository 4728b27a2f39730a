"""Shared set-up for the predictor tests (no tests here): real SPY 5-minute bars from
../shared/data and a tiny model trained once per test session on a few weeks of them."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    env = os.environ.get("TRADECOACH_SHARED_DATA")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    if not path.is_dir():
        raise FileNotFoundError(f"real market data not found at {path}; set TRADECOACH_SHARED_DATA")
    return path


SPY_5M = "intraday/SPY_5min_2018-2020_ib.csv"


@functools.cache
def spy_5m():  # type: ignore[no-untyped-def]
    """SPY 5-minute RTH bars, 2018–2020 (real IB data)."""
    from core.market.importer import read_bars_file

    return read_bars_file(shared_data_dir() / SPY_5M, "SPY").bars


def spy_between(start: str, end: str):  # type: ignore[no-untyped-def]
    bars = spy_5m()
    s = int(np.datetime64(start, "ns").astype(np.int64))
    e = int(np.datetime64(end, "ns").astype(np.int64))
    return bars.between(s, e)


def write_bars_csv(bars, path: Path) -> Path:  # type: ignore[no-untyped-def]
    df = bars.to_pandas().reset_index()
    df["timestamp"] = df["ts"].map(lambda t: t.isoformat())
    df[["timestamp", "open", "high", "low", "close", "volume"]].to_csv(path, index=False)
    return path


@functools.cache
def small_samples(every: int = 30):  # type: ignore[no-untyped-def]
    """Samples from SPY 2019-01-02 … 2019-03-29, split 70/15/15 by date."""
    from models.dataset import build_samples, split_by_fraction

    s = build_samples(spy_between("2019-01-01", "2019-03-30"), "SPY", every_minutes=every)
    return s.with_split(split_by_fraction(s.session_day))


def tiny_configs(tmp: Path, **over):  # type: ignore[no-untyped-def]
    from models.network import ModelConfig
    from models.train import TrainConfig

    m = ModelConfig(lstm_layers=1, lstm_hidden=16, mlp_hiddens=(32,), dropout=0.0)
    t = TrainConfig(epochs=2, batch_size=32, learning_rate=3e-3, workers=0, threads=1, augment=False,
                    out_dir=tmp, patience=50)
    from dataclasses import replace

    mk = set(ModelConfig.__dataclass_fields__)
    return (replace(m, **{k: v for k, v in over.items() if k in mk}),
            replace(t, **{k: v for k, v in over.items() if k not in mk}))


@functools.cache
def tiny_checkpoint() -> Path:
    """A tiny model trained for 2 epochs on the small set (cached for the session)."""
    import tempfile

    from models.train import train

    out = Path(tempfile.mkdtemp(prefix="tc-models-"))
    m, t = tiny_configs(out)
    res = train(small_samples(), m, t)
    assert res.best_path is not None
    return res.best_path
