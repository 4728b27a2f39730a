"""Command-line entry points, wired by the app as `python -m app predict|train|eval-predictor`.

    train [--bars FILE --symbol S] [--epochs N] [--max-minutes M] [--resume PATH] [--json] …
    eval-predictor --bars FILE --symbol S [--checkpoint PATH] [--json]

Each `main_*` takes argv (without the command name) and returns an exit code: 0 ok, 2 bad input
or data (the message names the field). torch is imported only inside the commands.
Also runnable as `python -m models.cli COMMAND …` (what torchrun starts for multi-GPU training).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from datetime import date
from pathlib import Path
from typing import Any

from core.errors import InputError, TradeCoachError

log = logging.getLogger(__name__)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from exc


def _open_training_repo(enabled: bool) -> tuple[Any, Any]:
    if not enabled:
        return None, None
    from core.config import load_settings
    from core.store import TrainingRepo
    from core.store.engine import open_ready_store

    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_ready_store(settings.database_url)
    return store, TrainingRepo(store)


# -- train ----------------------------------------------------------------------------------------
def train_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tradecoach train", description="Train the chart predictor. Default data: "
                                "the bundled bars up to 2017 (train < 2014, val 2014–15, test 2016–17).")
    p.add_argument("--bars", type=Path, help="train on this bar file (CSV/Parquet) instead of the bundle")
    p.add_argument("--symbol", help="symbol of --bars")
    p.add_argument("--every-minutes", type=int,
                   help="decision times every N minutes from the open (default: every bar)")
    p.add_argument("--val-start", type=_date, help="first validation date (default: chronological 70/15/15 split)")
    p.add_argument("--test-start", type=_date, help="first test date (never trained or validated on)")
    p.add_argument("--backbone", choices=("small", "resnet18", "efficientnet_b0"))
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float, help="learning rate (default LEARNING_RATE)")
    p.add_argument("--patience", type=int, default=5, help="early stopping: epochs without a better val loss")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--workers", type=int, default=1, help="data-loader processes drawing the charts")
    p.add_argument("--epoch-samples", type=int, help="training samples drawn per epoch (default: all)")
    p.add_argument("--max-minutes", type=float, help="stop after the epoch that crosses this wall-clock budget")
    p.add_argument("--out", type=Path, default=None, help="checkpoint folder (default: DATA_DIR/checkpoints)")
    p.add_argument("--resume", type=Path, help="continue from a *-last.pt checkpoint (same run id, next epoch)")
    p.add_argument("--no-store", action="store_true", help="do not write learning_metrics/model_checkpoints rows")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--progress-json", action="store_true",
                   help="print one JSON line per epoch on stdout (the app's Train button reads them)")
    p.add_argument("--cancel-on-stdin", action="store_true",
                   help="stop after the current step when a line 'cancel' (or end of input) arrives on stdin")
    return p


def main_train(argv: list[str]) -> int:
    args = train_parser().parse_args(argv)
    try:
        return _train(args)
    except TradeCoachError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _train(args: argparse.Namespace) -> int:
    from core.config import load_settings
    from models import dataset

    settings = load_settings()
    if args.bars is not None:
        if not args.symbol:
            raise InputError("symbol", "is required with --bars")
        from core.market.importer import read_bars_file

        bars = read_bars_file(args.bars, args.symbol).bars
        samples = dataset.build_samples(bars, args.symbol, every_minutes=args.every_minutes)
        if args.val_start and args.test_start:
            split = dataset.split_by_date(samples.session_day, args.val_start, args.test_start)
        else:
            split = dataset.split_by_fraction(samples.session_day)
        samples = samples.with_split(split)
        note = f"{args.bars.name} ({args.symbol})"
    else:
        samples = dataset.bundled_samples(hourly_every=args.every_minutes)
        note = "bundled Lean data (Apache-2.0) up to 2017-12-31"
    overrides: dict[str, Any] = {k: v for k, v in {
        "backbone": args.backbone, "epochs": args.epochs, "batch_size": args.batch_size,
        "learning_rate": args.lr}.items() if v is not None}
    from models.train import configs_from_settings, train

    mcfg, tcfg = configs_from_settings(settings, **overrides)
    out = args.out or settings.data_dir / "checkpoints"
    from dataclasses import replace

    tcfg = replace(tcfg, patience=args.patience, seed=args.seed, device=args.device, threads=args.threads,
                   workers=args.workers, epoch_samples=args.epoch_samples, max_minutes=args.max_minutes, out_dir=out)
    cancel = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        def on_sigint(signum: int, frame: object) -> None:
            print("\ncancelling after the current step…", file=sys.stderr)
            cancel.set()
        previous = signal.signal(signal.SIGINT, on_sigint)
    if args.cancel_on_stdin:
        def watch_stdin() -> None:
            # Works the same on every OS (no signals): the parent writes "cancel" or closes the pipe.
            for line in sys.stdin:
                if line.strip() == "cancel":
                    break
            print("cancel requested: stopping after the current step…", file=sys.stderr, flush=True)
            cancel.set()
        threading.Thread(target=watch_stdin, name="cancel-on-stdin", daemon=True).start()
    store, repo = _open_training_repo(not args.no_store)

    def show(p: Any) -> None:
        if args.progress_json:
            print(json.dumps({"type": "progress", "epoch": p.epoch, "epochs": p.epochs, "step": p.step,
                              "steps": p.steps, "train_loss": p.train_loss,
                              "val_loss": p.val_loss, "best_val": p.best_val, "samples_per_s": p.samples_per_s,
                              "eta_s": p.eta_s}, default=float), flush=True)
        else:
            bar.update((p.epoch - 1 + p.step / max(p.steps, 1)) / max(p.epochs, 1),
                       f"epoch {p.epoch}/{p.epochs} loss {p.train_loss:.4f}")
        if p.val_loss is not None:
            bar.note(f"epoch {p.epoch}/{p.epochs}  train {p.train_loss:.4f}  val {p.val_loss:.4f}  "
                     f"best {p.best_val:.4f}  {p.samples_per_s:.0f} samples/s  ETA {(p.eta_s or 0) / 60:.1f} min")
    from core.progress import TerminalProgress

    # A bar on a terminal's stderr; the JSON-lines protocol of the app's Train button stays as it is.
    bar = TerminalProgress("train", enabled=not (args.json or args.progress_json))
    try:
        with bar:
            res = train(samples, mcfg, tcfg, repo=repo, progress=show, cancel=cancel, resume=args.resume,
                        data_note=note)
    finally:
        if store is not None:
            store.close()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    info = {"run_id": res.run_id, "model_version": res.model_version, "stopped": res.stopped,
            "epochs_run": res.epochs_run, "last_epoch": res.last_epoch, "best_val_loss": res.best_val,
            "best_checkpoint": str(res.best_path) if res.best_path else None, "resume_from": str(res.last_path),
            "n_train": int((samples.split == "train").sum()), "n_val": int((samples.split == "val").sum())}
    if args.progress_json:
        print(json.dumps({"type": "result", **info}), flush=True)
    else:
        print(json.dumps(info) if args.json else "\n".join(f"{k}: {v}" for k, v in info.items()))
    return 0


# -- eval-predictor -----------------------------------------------------------------------------
def eval_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tradecoach eval-predictor",
                                description="Evaluate a predictor checkpoint on a bar history, next to the baselines.")
    p.add_argument("--bars", type=Path, required=True, help="CSV/Parquet bar file (intraday)")
    p.add_argument("--symbol", required=True)
    p.add_argument("--checkpoint", type=Path, help="default: the shipped model")
    p.add_argument("--every-minutes", type=int, default=30, help="a decision time every N minutes from the open")
    p.add_argument("--start", type=_date, help="first session date to evaluate")
    p.add_argument("--end", type=_date, help="last session date to evaluate")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples of sessions for the 95%% intervals")
    p.add_argument("--screenshot-only", action="store_true",
                   help="evaluate without the bars sequence (chart image only)")
    p.add_argument("--ablate", choices=("blank", "shuffle", "flip"),
                   help="replace the chart images (one colour / another sample's / upside down) and compare")
    p.add_argument("--save-skill", action="store_true",
                   help="store the summary in the checkpoint (quoted by predictions)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def main_eval(argv: list[str]) -> int:
    args = eval_parser().parse_args(argv)
    try:
        from models.evaluate import evaluate_file, summary

        if args.bootstrap < 100:
            raise InputError("bootstrap", "use at least 100 resamples")
        from core.progress import TerminalProgress

        with TerminalProgress(f"eval-predictor {args.bars.name}", enabled=not args.json, determinate=False):
            report = evaluate_file(args.bars, args.symbol, args.checkpoint, every_minutes=args.every_minutes,
                                   start=args.start, end=args.end, n_boot=args.bootstrap,
                                   use_bars=not args.screenshot_only, ablate=args.ablate)
        if args.save_skill:
            from models import checkpoints

            report["data"] = (f"{args.symbol.upper()} {report['interval']} "
                              f"{report['first_session']}…{report['last_session']}")
            checkpoints.attach_skill(args.checkpoint or checkpoints.default_checkpoint(), summary(report))
    except TradeCoachError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, default=str) if args.json else format_report(report))
    return 0


def _ci(v: list[float], fmt: str = "{:.4f}") -> str:
    return "[" + fmt.format(v[0]) + ", " + fmt.format(v[1]) + "]"


def format_report(r: dict[str, Any]) -> str:
    c, d, rg, t = r["close"], r["direction"], r["range"], r["touch"]
    lines = [
        f"{r['symbol']} {r['interval']} bars, {r['first_session']} … {r['last_session']}: {r['n_samples']} decision "
        f"times in {r['n_sessions']} sessions (every {r['every_minutes']} min), model {r['model_version']}, "
        f"{r['seconds']:.1f} s",
        "95% intervals from resampling whole sessions.",
        "",
        f"close MAE        {c['mae']:.4f} {_ci(c['mae_ci95'])}   no-change {c['mae_no_change']:.4f}   "
        f"ratio {c['mae_ratio_vs_no_change']:.4f} {_ci(c['mae_ratio_ci95'])}",
        f"close MAE %      {c['mae_pct']:.4f}%   no-change {c['mae_pct_no_change']:.4f}%",
        f"close RMSE       {c['rmse']:.4f} {_ci(c['rmse_ci95'])}   no-change {c['rmse_no_change']:.4f}   "
        f"({c['rmse_pct']:.4f}% vs {c['rmse_pct_no_change']:.4f}%)",
        f"direction        {d['accuracy']:.4f} {_ci(d['ci95'])}   (up share {d['up_share']:.4f}; coin flip 0.5)",
        f"close drift      predicted up in {d['predicted_up_share']:.3f} {_ci(d['predicted_up_share_ci95'], '{:.3f}')}"
        f" of decisions (always long: 1.0), median drift {d['median_drift_vol_units']:+.3f} vol units",
        f"80% ranges       coverage {rg['coverage80']:.4f} {_ci(rg['ci95'])}   Brownian {rg['coverage80_brownian']:.4f}"
        f"   (high {rg['coverage80_high']:.3f}, low {rg['coverage80_low']:.3f}, close {rg['coverage80_close']:.3f})",
        f"P(touch) Brier   {t['brier']:.4f} {_ci(t['brier_ci95'])}   reflection {t['brier_reflection']:.4f}   "
        f"skill {t['brier_skill']:+.4f} {_ci(t['brier_skill_ci95'], '{:+.4f}')}",
        f"P(touch) ECE     {t['ece']:.4f}   reflection {t['ece_reflection']:.4f}",
        "pinball (vol units): " + "; ".join(
            f"{name} " + " ".join(f"q{k}: {v['pinball']:.4f}/{v['pinball_brownian']:.4f}" for k, v in qs.items())
            for name, qs in r["quantiles"].items()) + "  (model/Brownian)",
        "",
        "verdict: touch " + r["verdict"]["touch"] + "; close " + r["verdict"]["close"] + "; direction "
        + r["verdict"]["direction"],
    ]
    if "ablation" in r:
        a = r["ablation"]
        lines.append(f"ablation ({a['images']} images): mean |change of P(touch)| {a['mean_abs_change_p_touch']:.4f}, "
                     f"Brier change {a['brier_change']:+.5f} {_ci(a['brier_change_ci95'], '{:+.5f}')}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"train": main_train, "eval-predictor": main_eval}
    if not argv or argv[0] not in commands:
        print(f"usage: python -m models.cli {{{','.join(commands)}}} …", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
