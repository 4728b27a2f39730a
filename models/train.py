"""Training: progress (epoch, loss, ETA), cancel, resume, early stopping, seeds, and the
`learning_metrics` / `model_checkpoints` rows. CPU or CUDA; several GPUs with torch's
DistributedDataParallel when started by torchrun (see docs/predictor.md):

    torchrun --nproc_per_node=4 -m models.cli train --device cuda --epochs 50

Only rank 0 validates, writes rows and saves checkpoints; the others follow its stop decision.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from core.errors import InputError
from models import checkpoints
from models.dataset import SampleSet, render_window, sequence_features
from models.network import ModelConfig, Predictor, count_parameters, image_tensor, loss_terms
from models.render import Look, random_look

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 200
    batch_size: int = 64
    learning_rate: float = 1e-4
    weight_decay: float = 1e-4
    patience: int = 5             # epochs without a better validation loss before stopping
    min_delta: float = 1e-4
    seed: int = 0
    device: str = "cpu"
    threads: int | None = None    # torch CPU threads (None: torch's default)
    workers: int = 1              # data-loader processes rendering the chart images
    augment: bool = True
    seq_dropout: float = 0.25     # share of training samples shown as a bare screenshot (no bars)
    max_val: int = 4000           # validation samples (evenly spaced) per epoch
    epoch_samples: int | None = None  # draw this many training samples per epoch (None: all of them)
    max_minutes: float | None = None  # wall-clock budget; stops cleanly after the epoch that crosses it
    keep_best: int = 3            # best checkpoints kept on disk (older ones are deleted with their rows)
    out_dir: Path = Path("checkpoints")
    run_id: str = ""


@dataclass(frozen=True)
class Progress:
    run_id: str
    epoch: int
    epochs: int
    step: int
    steps: int
    train_loss: float
    val_loss: float | None
    best_val: float | None
    elapsed_s: float
    eta_s: float | None
    samples_per_s: float


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    model_version: str | None
    best_path: Path | None
    best_val: float | None
    last_path: Path
    epochs_run: int
    last_epoch: int
    stopped: str                  # "completed", "early_stopping", "cancelled", "time_budget"
    history: list[dict[str, float]] = field(default_factory=list)


def configs_from_settings(settings: Any, **overrides: Any) -> tuple[ModelConfig, TrainConfig]:
    """The seed's hyper-parameter settings (BATCH_SIZE, LEARNING_RATE, …) as the two configs."""
    try:
        hiddens = tuple(int(x) for x in str(settings.mlp_hiddens).split(",") if x.strip())
    except ValueError as exc:
        raise InputError("mlp_hiddens", f"expected comma-separated integers, got {settings.mlp_hiddens!r}") from exc
    if not hiddens or min(hiddens) < 1:
        raise InputError("mlp_hiddens", "needs at least one positive width")
    mcfg = ModelConfig(backbone=settings.backbone, lstm_layers=settings.num_lstm_layers,
                       lstm_hidden=settings.lstm_hidden_size, mlp_hiddens=hiddens,
                       trainable_groups=settings.cnn_trainable_param_groups)
    tcfg = TrainConfig(epochs=settings.num_epochs, batch_size=settings.batch_size,
                       learning_rate=settings.learning_rate)
    mkeys = set(ModelConfig.__dataclass_fields__)
    mcfg = replace(mcfg, **{k: v for k, v in overrides.items() if k in mkeys})
    tcfg = replace(tcfg, **{k: v for k, v in overrides.items() if k not in mkeys})
    return mcfg, tcfg


# -- data ---------------------------------------------------------------------------------------
class TorchSamples(Dataset):  # type: ignore[type-arg]
    """Model inputs of a SampleSet. Training images are re-drawn with a random look each time."""

    def __init__(self, s: SampleSet, *, augment: bool, seq_dropout: float = 0.0, seed: int = 0) -> None:
        self.s = s
        self.augment = augment
        self.seq_dropout = seq_dropout
        self.seed = seed
        self.epoch = 0
        self.seq = sequence_features(s.window, s.n_bars, s.new_session, s.sigma, s.bar_minutes)
        self.y = np.stack([s.z(s.label_close), s.z(s.label_high), s.z(s.label_low)], axis=1).astype(np.float32)
        self.tau = s.tau.astype(np.float32)
        self._cache: dict[int, np.ndarray] = {}  # canonical images never change: draw them once

    def __len__(self) -> int:
        return len(self.s)

    def __getitem__(self, i: int) -> dict[str, Any]:
        s = self.s
        seq, ctx = self.seq[i], s.ctx[i].copy()
        if self.augment:
            rng = np.random.default_rng((self.seed, self.epoch, i))
            shown = int(rng.integers(32, 65))
            img = render_window(s.window[i], int(s.n_bars[i]), random_look(rng), shown)
            if rng.random() < self.seq_dropout:  # a bare screenshot: no bars, so no intraday context either
                seq, ctx[5:9] = np.zeros_like(seq), 0.0
        else:
            img = self._cache.get(i)
            if img is None:
                img = self._cache[i] = render_window(s.window[i], int(s.n_bars[i]), Look())
        return {"image": img, "seq": seq, "ctx": ctx, "tau": self.tau[i], "y": self.y[i]}


def _collate(items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
    out = {k: torch.as_tensor(np.stack([it[k] for it in items])) for k in ("seq", "ctx", "tau", "y")}
    out["image"] = image_tensor(np.stack([it["image"] for it in items]))
    return out


def _to(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


# -- distributed --------------------------------------------------------------------------------
def _dist_setup(device: str) -> tuple[int, int, torch.device]:
    """(rank, world, device). Under torchrun (LOCAL_RANK set) joins the process group."""
    if "LOCAL_RANK" not in os.environ:
        return 0, 1, torch.device(device)
    import torch.distributed as dist

    local = int(os.environ["LOCAL_RANK"])
    if device.startswith("cuda"):
        torch.cuda.set_device(local)
        dev = torch.device("cuda", local)
        backend = "nccl"
    else:
        dev, backend = torch.device("cpu"), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return dist.get_rank(), dist.get_world_size(), dev


# -- the loop -----------------------------------------------------------------------------------
def _seed_all(seed: int) -> None:
    # Weights and dropout; augmentation draws from its own generator keyed by (seed, epoch, sample).
    torch.manual_seed(seed)


def train(samples: SampleSet, mcfg: ModelConfig, tcfg: TrainConfig, *,
          repo: Any | None = None, progress: Callable[[Progress], None] | None = None,
          cancel: threading.Event | None = None, resume: Path | None = None,
          data_note: str = "") -> TrainResult:
    """Train on samples.split == 'train', validate on 'val'. `repo` is a core.store.TrainingRepo."""
    if not len(samples.split):
        raise InputError("samples", "samples need a train/val split (models.dataset.split_by_*)")
    tr_idx, va_idx = np.flatnonzero(samples.split == "train"), np.flatnonzero(samples.split == "val")
    if len(tr_idx) < 2 or len(va_idx) < 1:
        raise InputError("samples", f"need >= 2 training and >= 1 validation samples, "
                                    f"got {len(tr_idx)} and {len(va_idx)}")
    if len(va_idx) > tcfg.max_val:
        va_idx = va_idx[np.linspace(0, len(va_idx) - 1, tcfg.max_val).round().astype(int)]
    if tcfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("device", "CUDA is not available on this machine")
    rank, world, device = _dist_setup(tcfg.device)
    if tcfg.threads:
        torch.set_num_threads(tcfg.threads)
    state = checkpoints.load(resume) if resume is not None else None
    if state is not None:
        mcfg = ModelConfig.from_dict(state["config"])
    run_id = (state or {}).get("run_id") or tcfg.run_id or uuid.uuid4().hex[:12]
    _seed_all(tcfg.seed + rank)
    model = Predictor(mcfg).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=tcfg.learning_rate, weight_decay=tcfg.weight_decay)
    start_epoch, best_val, bad_epochs, best_path = 1, math.inf, 0, None
    history: list[dict[str, float]] = []
    kept: list[tuple[int | None, Path]] = []
    if state is not None:
        model.load_state_dict(state["state_dict"])
        opt.load_state_dict(state["optimizer"])
        start_epoch = int(state["epoch"]) + 1
        best_val = float(state.get("best_val", math.inf))
        bad_epochs = int(state.get("bad_epochs", 0))
        history = list(state.get("history", []))
        best_path = Path(state["best_path"]) if state.get("best_path") else None
        kept = [(r, Path(p)) for r, p in state.get("kept", [])]
        if "torch_rng" in state:
            torch.set_rng_state(state["torch_rng"])
    net: torch.nn.Module = model
    if world > 1 or "LOCAL_RANK" in os.environ:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    train_ds = TorchSamples(samples.take(tr_idx), augment=tcfg.augment, seq_dropout=tcfg.seq_dropout, seed=tcfg.seed)
    val_ds = TorchSamples(samples.take(va_idx), augment=False)
    sampler = None
    if world > 1:
        from torch.utils.data.distributed import DistributedSampler

        sampler = DistributedSampler(train_ds, num_replicas=world, rank=rank, seed=tcfg.seed)
    gen = torch.Generator().manual_seed(tcfg.seed)
    if sampler is None and tcfg.epoch_samples and tcfg.epoch_samples < len(train_ds):
        from torch.utils.data import RandomSampler

        sampler = RandomSampler(train_ds, num_samples=tcfg.epoch_samples, generator=gen)
    loader = DataLoader(train_ds, batch_size=tcfg.batch_size, shuffle=sampler is None, sampler=sampler,
                        collate_fn=_collate, num_workers=tcfg.workers, generator=gen,
                        drop_last=len(train_ds) > tcfg.batch_size,
                        persistent_workers=False, pin_memory=device.type == "cuda")
    val_loader = DataLoader(val_ds, batch_size=256, collate_fn=_collate, num_workers=0)
    out_dir = Path(tcfg.out_dir)
    last_path = out_dir / f"{run_id}-last.pt"
    t0, stopped, epoch = time.monotonic(), "completed", start_epoch - 1
    epochs_run = 0
    if rank == 0:
        log.info("training run %s: %d train / %d val samples, %s, %d parameters, device %s x%d%s",
                 run_id, len(train_ds), len(val_ds), mcfg.backbone, count_parameters(model), device, world,
                 " (DistributedDataParallel)" if net is not model else "")
    for epoch in range(start_epoch, tcfg.epochs + 1):
        if cancel is not None and cancel.is_set():
            stopped, epoch = "cancelled", epoch - 1
            break
        net.train()
        train_ds.epoch = epoch
        gen.manual_seed(tcfg.seed * 100_003 + epoch)  # the same shuffle on resume
        if sampler is not None and hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        t_ep, seen, total, steps = time.monotonic(), 0, 0.0, len(loader)
        cancelled = False
        for step, batch in enumerate(loader, 1):
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
            batch = _to(batch, device)
            pin, bce = loss_terms(net, batch)  # through DDP's forward when wrapped: it syncs the gradients
            loss = pin + bce
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            n = len(batch["y"])
            seen += n
            total += float(loss.detach()) * n
            if progress is not None and rank == 0 and (step % 20 == 0 or step == steps):
                el = time.monotonic() - t_ep
                rate = seen / max(el, 1e-9)
                left = (steps - step) * tcfg.batch_size / rate + (tcfg.epochs - epoch) * steps * tcfg.batch_size / rate
                progress(Progress(run_id, epoch, tcfg.epochs, step, steps, total / seen, None,
                                  None if math.isinf(best_val) else best_val, time.monotonic() - t0, left, rate))
        if cancelled:
            stopped, epoch = "cancelled", epoch - 1  # the interrupted epoch does not count
            break
        epochs_run += 1
        train_loss = total / max(seen, 1)
        ep_s = time.monotonic() - t_ep
        val_loss, v_pin, v_bce = _validate(model, val_loader, device) if rank == 0 else (0.0, 0.0, 0.0)
        val_loss = _broadcast(val_loss, world, device)
        improved = val_loss < best_val - tcfg.min_delta
        row = {"epoch": float(epoch), "train_loss": train_loss, "val_loss": val_loss, "val_pinball": v_pin,
               "val_touch_bce": v_bce, "epoch_seconds": ep_s, "samples_per_s": seen * world / max(ep_s, 1e-9),
               "learning_rate": float(opt.param_groups[0]["lr"])}
        history.append(row)
        if improved:
            best_val, bad_epochs = val_loss, 0
        else:
            bad_epochs += 1
        if rank == 0:
            if repo is not None:
                repo.add_metrics(run_id, epoch, {k: v for k, v in row.items() if k != "epoch"})
            if improved:
                best_path = out_dir / f"{run_id}-e{epoch:03d}.pt"
                checkpoints.save(best_path, _payload(model, mcfg, tcfg, run_id, epoch, best_val, history, data_note))
                row_id = None
                if repo is not None:
                    ck = repo.add_checkpoint(run_id=run_id, model_version=_version(mcfg, run_id, epoch), epoch=epoch,
                                             path=str(best_path), val_loss=val_loss, train_loss=train_loss,
                                             metrics={"best_so_far": True, "val_pinball": v_pin,
                                                      "val_touch_bce": v_bce})
                    row_id = ck.id
                kept.append((row_id, best_path))
                while len(kept) > tcfg.keep_best:  # DT kept every epoch (~10 GB a run); we keep a few
                    old_id, old_path = kept.pop(0)
                    if repo is not None and old_id is not None:
                        repo.delete_checkpoint(old_id)
                    old_path.unlink(missing_ok=True)
            checkpoints.save(last_path, {**_payload(model, mcfg, tcfg, run_id, epoch, best_val, history, data_note),
                                         "optimizer": opt.state_dict(), "bad_epochs": bad_epochs,
                                         "best_path": str(best_path) if best_path else None,
                                         "kept": [[r, str(p)] for r, p in kept], "torch_rng": torch.get_rng_state()})
            if progress is not None:
                el = time.monotonic() - t0
                eta = el / epochs_run * (tcfg.epochs - epoch)
                progress(Progress(run_id, epoch, tcfg.epochs, steps, steps, train_loss, val_loss, best_val, el, eta,
                                  row["samples_per_s"]))
        if bad_epochs >= tcfg.patience:
            stopped = "early_stopping"
            break
        if tcfg.max_minutes is not None and (time.monotonic() - t0) / 60 >= tcfg.max_minutes:
            stopped = "time_budget"
            break
    best_epoch = int(best_path.stem.rsplit("-e", 1)[1]) if best_path else None
    return TrainResult(run_id, _version(mcfg, run_id, best_epoch) if best_epoch else None, best_path,
                       None if math.isinf(best_val) else best_val, last_path, epochs_run, epoch, stopped, history)


def _broadcast(value: float, world: int, device: torch.device) -> float:
    if world == 1:
        return value
    import torch.distributed as dist

    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.broadcast(t, 0)
    return float(t.item())


@torch.no_grad()
def _validate(model: Predictor, loader: DataLoader, device: torch.device) -> tuple[float, float, float]:  # type: ignore[type-arg]
    model.eval()
    n, pin_sum, bce_sum = 0, 0.0, 0.0
    for batch in loader:
        batch = _to(batch, device)
        pin, bce = loss_terms(model, batch)
        k = len(batch["y"])
        n, pin_sum, bce_sum = n + k, pin_sum + float(pin) * k, bce_sum + float(bce) * k
    return (pin_sum + bce_sum) / n, pin_sum / n, bce_sum / n


def _version(mcfg: ModelConfig, run_id: str, epoch: int | None) -> str:
    return f"{mcfg.backbone}-{run_id}-e{epoch or 0}"


def _payload(model: Predictor, mcfg: ModelConfig, tcfg: TrainConfig, run_id: str, epoch: int, best_val: float,
             history: list[dict[str, float]], data_note: str) -> dict[str, Any]:
    tc = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(tcfg).items()}
    return {"state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}, "config": mcfg.to_dict(),
            "train_config": tc, "run_id": run_id, "epoch": epoch, "best_val": best_val,
            "model_version": _version(mcfg, run_id, epoch), "history": history, "data": data_note}
