"""Training mechanics on real SPY bars with a tiny network: learning, resume, cancel, early
stopping, checkpoint and metric rows, settings, backbones, and one-process DDP under torchrun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from core.errors import InputError
from models import checkpoints
from models.network import ModelConfig, Predictor, count_parameters, loss_terms
from models.train import TorchSamples, _collate, configs_from_settings, train
from tests.test_models_helpers import REPO, small_samples, spy_between, tiny_configs, write_bars_csv


def _store(tmp_path: Path):  # type: ignore[no-untyped-def]
    from core.store import TrainingRepo, open_store, sqlite_url

    store = open_store(sqlite_url(tmp_path / "t.db"))
    store.migrate()
    return store, TrainingRepo(store)


@torch.no_grad()
def _loss_on(model: Predictor, s) -> float:  # type: ignore[no-untyped-def]
    model.eval()
    ds = TorchSamples(s, augment=False)
    batch = _collate([ds[i] for i in range(len(ds))])
    pin, bce = loss_terms(model, batch)
    return float(pin + bce)


def test_loss_decreases_on_real_bars(tmp_path: Path) -> None:
    s = small_samples()
    train_part = s.take(np.flatnonzero(s.split == "train"))
    m, t = tiny_configs(tmp_path, epochs=6, learning_rate=1e-3)
    torch.manual_seed(0)
    before = _loss_on(Predictor(m), train_part)  # same seed → the same initial weights train() starts from
    res = train(s, m, t)
    after_model = Predictor(m)
    after_model.load_state_dict(checkpoints.load(res.last_path)["state_dict"])
    after = _loss_on(after_model, train_part)
    assert res.epochs_run == 6 and res.stopped == "completed"
    assert after < before - 0.01, f"training did not fit the training set: {before:.4f} → {after:.4f}"
    assert res.history[-1]["train_loss"] < res.history[0]["train_loss"]


def test_rows_per_epoch_best_checkpoint_by_val_loss_and_resume(tmp_path: Path) -> None:
    store, repo = _store(tmp_path)
    try:
        m, t = tiny_configs(tmp_path / "ck", epochs=3, keep_best=10)
        first = train(small_samples(), m, t, repo=repo)
        assert first.last_epoch == 3
        # resume: the epoch count continues, rows keep the same run id
        res = train(small_samples(), m, replace(t, epochs=5), repo=repo, resume=first.last_path)
        assert res.run_id == first.run_id and res.epochs_run == 2 and res.last_epoch == 5
        assert [int(h["epoch"]) for h in res.history] == [1, 2, 3, 4, 5]
        rows = repo.metrics(run_id=res.run_id)
        for kind in ("train_loss", "val_loss"):
            assert sorted(p.epoch for p in rows if p.metric_type == kind) == [1, 2, 3, 4, 5]
        vals = {p.epoch: p.value for p in rows if p.metric_type == "val_loss"}
        best = repo.best_checkpoint(res.run_id)
        assert best is not None and best.val_loss == pytest.approx(min(vals.values()))
        assert best.epoch == min(vals, key=vals.get)  # type: ignore[arg-type]
        assert Path(best.path).is_file() and checkpoints.load(best.path)["epoch"] == best.epoch
        # only improvements are saved, never one file per epoch
        improving = [e for e in range(1, 6) if vals[e] < min([np.inf] + [vals[k] for k in range(1, e)]) - 1e-4]
        assert sorted(c.epoch for c in repo.checkpoints(res.run_id)) == improving
    finally:
        store.close()


def test_keep_best_prunes_old_checkpoint_files_and_rows(tmp_path: Path) -> None:
    store, repo = _store(tmp_path)
    try:
        m, t = tiny_configs(tmp_path / "ck", epochs=4, keep_best=1, learning_rate=5e-3)
        res = train(small_samples(), m, t, repo=repo)
        rows = repo.checkpoints(res.run_id)
        assert len(rows) == 1 and rows[0].path == str(res.best_path)
        assert sorted(p.name for p in (tmp_path / "ck").glob("*-e*.pt")) == [res.best_path.name]
    finally:
        store.close()


def test_cancel_stops_training(tmp_path: Path) -> None:
    cancel = threading.Event()
    seen: list[int] = []

    def progress(p) -> None:  # type: ignore[no-untyped-def]
        seen.append(p.epoch)
        if p.epoch == 2 and p.val_loss is None:
            cancel.set()

    m, t = tiny_configs(tmp_path, epochs=20, batch_size=8)
    res = train(small_samples(), m, t, cancel=cancel, progress=progress)
    assert res.stopped == "cancelled"
    assert res.last_epoch == 1 and res.epochs_run == 1  # the interrupted epoch 2 does not count
    assert max(seen) == 2


def test_early_stopping_triggers(tmp_path: Path) -> None:
    # min_delta larger than any possible gain: no epoch after the first counts as better
    m, t = tiny_configs(tmp_path, epochs=20, patience=2, min_delta=10.0)
    res = train(small_samples(), m, t)
    assert res.stopped == "early_stopping" and res.last_epoch == 3


def test_progress_reports_epoch_loss_and_eta(tmp_path: Path) -> None:
    got = []
    m, t = tiny_configs(tmp_path, epochs=2, batch_size=16)
    train(small_samples(), m, t, progress=got.append)
    ends = [p for p in got if p.val_loss is not None]
    assert [p.epoch for p in ends] == [1, 2]
    assert ends[0].eta_s > 0 and ends[-1].eta_s == 0
    assert all(np.isfinite(p.train_loss) and p.samples_per_s > 0 for p in got)


def test_hyper_parameters_come_from_settings() -> None:
    from core.config import Settings

    st = Settings(batch_size=16, learning_rate=0.002, num_epochs=7, num_lstm_layers=3, lstm_hidden_size=24,
                  mlp_hiddens="48,24", cnn_trainable_param_groups=1, backbone="small")
    m, t = configs_from_settings(st)
    assert (t.batch_size, t.learning_rate, t.epochs) == (16, 0.002, 7)
    assert (m.lstm_layers, m.lstm_hidden, m.mlp_hiddens, m.trainable_groups) == (3, 24, (48, 24), 1)
    model = Predictor(m)
    assert model.lstm.num_layers == 3 and model.lstm.hidden_size == 24
    trainable = [all(p.requires_grad for p in g.parameters()) for g in model.encoder.groups]
    assert trainable == [False] * (len(trainable) - 1) + [True]
    with pytest.raises(InputError, match="mlp_hiddens"):
        configs_from_settings(Settings(mlp_hiddens="a,b"))


@pytest.mark.parametrize("backbone", ["resnet18", "efficientnet_b0"])
def test_gpu_backbones_build_and_run(backbone: str) -> None:
    model = Predictor(ModelConfig(backbone=backbone, lstm_hidden=8, lstm_layers=1, mlp_hiddens=(16,)))
    assert count_parameters(model.encoder) > 3_000_000
    s = small_samples()
    ds = TorchSamples(s.take(np.arange(2)), augment=True, seq_dropout=1.0)
    batch = _collate([ds[0], ds[1]])
    pin, bce = loss_terms(model, batch)
    (pin + bce).backward()
    assert np.isfinite(pin.item()) and np.isfinite(bce.item())
    with pytest.raises(InputError, match="backbone"):
        Predictor(ModelConfig(backbone="vgg"))


def test_ddp_under_torchrun_on_one_process(tmp_path: Path) -> None:
    bars = write_bars_csv(spy_between("2019-02-01", "2019-03-15"), tmp_path / "spy.csv")
    torchrun = Path(sys.executable).with_name("torchrun")
    env = {**os.environ, "TRADECOACH_DATA_DIR": str(tmp_path / "data"), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [str(torchrun), "--standalone", "--nproc_per_node=1", "-m", "models.cli", "train", "--bars", str(bars),
         "--symbol", "SPY", "--every-minutes", "60", "--epochs", "1", "--batch-size", "32", "--workers", "0",
         "--threads", "1", "--out", str(tmp_path / "ck"), "--json"],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert info["stopped"] == "completed" and info["last_epoch"] == 1
    assert Path(info["best_checkpoint"]).is_file()
    assert "x1 (DistributedDataParallel)" in out.stderr  # the model really ran wrapped in DDP
