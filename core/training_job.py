"""Training as a background job: `python -m models.cli train --progress-json` in its own process
(so the window stays smooth and a crash cannot take the app down), its progress lines turned into
JobProgress events, cancel by SIGINT (the trainer stops after the current step and checkpoints),
and resume from the last checkpoint of the previous run."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from core.bus import Bus
from core.errors import InputError
from core.events import JobProgress

log = logging.getLogger(__name__)
KIND = "train"


@dataclass
class TrainingJob:
    job_id: str
    proc: subprocess.Popen[str]
    result: dict[str, object] | None = None
    error: str | None = None
    lines: list[str] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.proc.poll() is None


class TrainingJobs:
    def __init__(self, bus: Bus, data_dir: Path) -> None:
        self._bus = bus
        self._data_dir = data_dir
        self.current: TrainingJob | None = None
        self.last_result: dict[str, object] | None = None

    def start(self, *, epochs: int | None = None, max_minutes: float | None = None, resume: bool = True,
              extra_args: list[str] | None = None) -> str:
        if self.current is not None and self.current.running:
            raise InputError("train", "a training run is already in progress")
        args = [sys.executable, "-m", "models.cli", "train", "--progress-json", "--workers", "0"]
        if epochs is not None:
            args += ["--epochs", str(epochs)]
        if max_minutes is not None:
            args += ["--max-minutes", str(max_minutes)]
        last = self.last_result.get("resume_from") if self.last_result else None
        if resume and last and Path(str(last)).exists():
            args += ["--resume", str(last)]
        args += extra_args or []
        env = {**os.environ, "TRADECOACH_DATA_DIR": str(self._data_dir)}
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                cwd=Path(__file__).resolve().parents[1])
        job = TrainingJob(uuid.uuid4().hex[:12], proc)
        self.current = job
        threading.Thread(target=self._read, args=(job,), name=f"train-{job.job_id}", daemon=True).start()
        self._bus.publish(JobProgress(job.job_id, KIND, 0.0, "starting…"))
        return job.job_id

    def cancel(self) -> None:
        job = self.current
        if job is None or not job.running:
            raise InputError("train", "no training run in progress")
        job.proc.send_signal(signal.SIGINT)

    def _read(self, job: TrainingJob) -> None:
        assert job.proc.stdout is not None and job.proc.stderr is not None
        err_tail: list[str] = []
        threading.Thread(target=lambda: err_tail.extend(job.proc.stderr), daemon=True).start()  # type: ignore[arg-type]
        for line in job.proc.stdout:
            job.lines.append(line)
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                continue
            if msg.get("type") == "progress":
                frac = ((msg["epoch"] - 1) + msg.get("step", 0) / max(msg.get("steps", 1), 1)) / max(msg["epochs"], 1)
                eta = msg.get("eta_s")
                text = (f"epoch {msg['epoch']}/{msg['epochs']} · loss {msg['train_loss']:.4f}"
                        + (f" · val {msg['val_loss']:.4f}" if msg.get("val_loss") is not None else "")
                        + (f" · ETA {eta / 60:.1f} min" if eta is not None else ""))
                self._bus.publish(JobProgress(job.job_id, KIND, min(frac, 1.0), text))
            elif msg.get("type") == "result":
                job.result = msg
        rc = job.proc.wait()
        if rc == 0 and job.result is not None:
            self.last_result = job.result
            text = f"{job.result.get('stopped')}: best val loss {job.result.get('best_val_loss')}"
            self._bus.publish(JobProgress(job.job_id, KIND, 1.0, text, done=True))
        else:
            job.error = "".join(err_tail[-5:]).strip() or f"exit code {rc}"
            log.error("training job %s failed: %s", job.job_id, job.error)
            self._bus.publish(JobProgress(job.job_id, KIND, 1.0, "failed", done=True, error=job.error))
