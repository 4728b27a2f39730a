"""Training as a job: `models.cli train --progress-json --cancel-on-stdin` in its own process (so
the window stays smooth and a crash cannot take the app down). Its JSON progress lines become job
progress; cancel writes "cancel" to the child's stdin — the same on Linux, macOS and Windows — and
the trainer stops after the current step with a checkpoint to resume from."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import DataError
from core.jobs import JobContext
from core.procs import module_command

log = logging.getLogger(__name__)
KIND = "train"


@dataclass(frozen=True, slots=True)
class TrainRequest:
    epochs: int | None = None
    max_minutes: float | None = None
    resume_from: str | None = None  # a *-last.pt checkpoint; None = fresh run
    extra_args: tuple[str, ...] = ()

    def to_params(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "max_minutes": self.max_minutes, "resume_from": self.resume_from,
                "extra_args": list(self.extra_args)}


def progress_text(msg: Mapping[str, Any]) -> tuple[float, str]:
    """A `{"type": "progress", …}` line → (fraction 0–1, text for the trader)."""
    epochs = max(int(msg["epochs"]), 1)
    frac = ((int(msg["epoch"]) - 1) + float(msg.get("step", 0)) / max(int(msg.get("steps", 1)), 1)) / epochs
    eta = msg.get("eta_s")
    val = msg.get("val_loss")
    text = (f"epoch {msg['epoch']}/{msg['epochs']} · loss {float(msg['train_loss']):.4f}"
            + (f" · val {float(val):.4f}" if val is not None else "")
            + (f" · ETA {float(eta) / 60:.1f} min" if eta is not None else ""))
    return min(frac, 1.0), text


def follow_progress(lines: Iterable[str], ctx: JobContext, result: dict[str, Any]) -> None:
    """Turn the trainer's JSON lines into job progress and its result; anything else is a log line.
    A malformed progress line is logged and skipped — it never stops the reader."""
    for line in lines:
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue  # plain log lines from the trainer
        try:
            if msg.get("type") == "progress":
                ctx.progress(*progress_text(msg))
            elif msg.get("type") == "result":
                result.update(msg)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("training job %s: bad progress line %r (%s)", ctx.job_id, line[:200], exc)


def train_command(req: TrainRequest) -> list[str]:
    args = ["train", "--progress-json", "--cancel-on-stdin", "--workers", "0"]
    if req.epochs is not None:
        args += ["--epochs", str(req.epochs)]
    if req.max_minutes is not None:
        args += ["--max-minutes", str(req.max_minutes)]
    if req.resume_from and Path(req.resume_from).exists():
        args += ["--resume", req.resume_from]
    return module_command("models.cli", args + list(req.extra_args))


async def run_training(ctx: JobContext, req: TrainRequest, data_dir: Path) -> dict[str, Any]:
    """The job runner: start the trainer, follow its progress, stop it on cancel."""
    env = {**os.environ, "TRADECOACH_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen(train_command(req), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env,
                            cwd=Path(__file__).resolve().parents[1])
    ctx.progress(0.0, "starting…")
    result: dict[str, Any] = {}
    err_tail: list[str] = []
    loop = asyncio.get_running_loop()

    def read_stdout() -> None:
        assert proc.stdout is not None
        follow_progress(proc.stdout, ctx, result)

    def read_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            err_tail.append(line)
            del err_tail[:-20]

    readers = [threading.Thread(target=f, daemon=True, name=f"train-{ctx.job_id}-{f.__name__}")
               for f in (read_stdout, read_stderr)]
    for t in readers:
        t.start()

    def send_cancel() -> None:
        try:
            assert proc.stdin is not None
            proc.stdin.write("cancel\n")
            proc.stdin.flush()
        except (OSError, ValueError) as exc:  # the child already ended
            log.info("training job %s: cancel not delivered (%s)", ctx.job_id, exc)

    try:
        sent = False
        while proc.poll() is None:
            if ctx.cancelled and not sent:
                await loop.run_in_executor(None, send_cancel)
                sent = True
            await asyncio.sleep(0.2)
        rc = await loop.run_in_executor(None, proc.wait)
    except asyncio.CancelledError:
        await loop.run_in_executor(None, send_cancel)
        try:
            await asyncio.wait_for(loop.run_in_executor(None, proc.wait), 10)
        except TimeoutError:
            proc.kill()
        raise
    for t in readers:
        await loop.run_in_executor(None, t.join, 5)
    if rc != 0 or not result:
        tail = "".join(err_tail[-5:]).strip()
        raise DataError(f"training exited with code {rc}" + (f": {tail[-500:]}" if tail else ""))
    best = result.get("best_val_loss")
    stopped = str(result.get("stopped"))
    ctx.message = (f"{stopped.replace('_', ' ')}: best val loss {float(best):.4f}" if best is not None
                   else stopped)
    if stopped == "cancelled":
        ctx.mark_cancelled()  # the trainer honoured the cancel: record the job as cancelled, with its result
    return {k: v for k, v in result.items() if k != "type"}
