"""Training as a kernel job: a real training process, its progress on the bus and in the jobs
table, one run at a time, resume, cancel without signals, and a reader that survives bad lines."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from pathlib import Path

import pytest

from core.config import load_settings
from core.errors import ConflictError, InputError
from core.events import JobProgress
from core.jobs import JobContext, JobManager, JobStatus
from core.training_job import follow_progress
from core.workstation import Workstation
from tests.test_models_helpers import spy_between, write_bars_csv

FAST = ("--every-minutes", "60", "--batch-size", "32", "--threads", "1", "--no-store")


async def _kernel() -> Workstation:
    k = Workstation(load_settings(), today=date(2026, 11, 22))
    await k.start(feeds=False)
    return k


async def test_train_reports_progress_then_resumes(tmp_path: Path, isolated_dirs: Path) -> None:
    bars = write_bars_csv(spy_between("2019-02-01", "2019-03-15"), tmp_path / "spy.csv")
    k = await _kernel()
    events: list[JobProgress] = []
    k.bus.subscribe(JobProgress, events.append)
    args = ("--bars", str(bars), "--symbol", "SPY", "--out", str(tmp_path / "ck"), *FAST)
    try:
        job = await k.predictor.train(epochs=2, extra_args=args)
        with pytest.raises(ConflictError, match=f"already running \\(job {job.id}\\)"):
            await k.predictor.train(extra_args=args)
        final = await k.jobs.wait(job.id, timeout=240)
        assert final.status is JobStatus.SUCCEEDED, final.error
        await k.bus.drain()
        progress = [e for e in events if not e.done and "epoch" in e.message]
        assert progress and all(0.0 <= e.fraction <= 1.0 for e in progress)
        assert progress[-1].message.startswith("epoch 2/2")
        assert events[-1].done and events[-1].status == "succeeded"
        assert final.result is not None and final.result["last_epoch"] == 2
        assert "best val loss" in final.message and final.progress == 1.0
        # Resume: the next run continues from the last checkpoint (found in the persisted jobs).
        again = await k.predictor.train(epochs=3, extra_args=args)
        final = await k.jobs.wait(again.id, timeout=240)
        assert final.status is JobStatus.SUCCEEDED, final.error
        assert final.result["last_epoch"] == 3 and final.result["epochs_run"] == 1
    finally:
        await k.stop()


async def test_cancel_stops_the_run_without_signals(tmp_path: Path, isolated_dirs: Path) -> None:
    bars = write_bars_csv(spy_between("2019-01-02", "2019-06-28"), tmp_path / "spy.csv")
    k = await _kernel()
    events: list[JobProgress] = []
    k.bus.subscribe(JobProgress, events.append)
    try:
        with pytest.raises(InputError, match="no training run"):
            await k.predictor.cancel_training()
        job = await k.predictor.train(epochs=50, extra_args=(
            "--bars", str(bars), "--symbol", "SPY", "--out", str(tmp_path / "ck"), *FAST))
        for _ in range(600):
            if any("epoch" in e.message for e in events):
                break
            await asyncio.sleep(0.1)
        info = await k.predictor.cancel_training()       # "cancel" on the child's stdin; returns at once
        assert info.status is JobStatus.RUNNING
        final = await k.jobs.wait(info.id, timeout=240)
        assert final.status is JobStatus.CANCELLED
        assert final.result is not None and final.result["stopped"] == "cancelled"
        assert final.result["last_epoch"] < 50 and final.progress < 1.0
        assert final.message.startswith("cancelled")
        assert final.id == job.id
    finally:
        await k.stop()


async def test_a_bad_progress_line_is_logged_and_the_reader_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    from core.bus import Bus
    from core.runtime import KernelRuntime

    bus = Bus()
    bus.bind()
    rt = KernelRuntime()
    rt.adopt_running_loop()
    ctx = JobContext(JobManager(bus, rt), 7, "train")
    result: dict[str, object] = {}
    lines = ['{"type": "progress", "epoch": "one", "epochs": 2, "train_loss": 1.0}\n',
             "not json at all\n",
             '{"type": "progress", "epoch": 1, "epochs": 2, "step": 5, "steps": 10, "train_loss": 0.5}\n',
             '{"type": "result", "last_epoch": 2}\n']
    with caplog.at_level(logging.WARNING, logger="core.training_job"):
        follow_progress(lines, ctx, result)
    assert "bad progress line" in caplog.text
    assert ctx.fraction == pytest.approx(0.25) and result["last_epoch"] == 2
    await bus.close()
    rt.stop()


async def test_jobs_are_persisted_and_a_restart_marks_unfinished_ones_failed(isolated_dirs: Path) -> None:
    k = await _kernel()
    try:
        gate = asyncio.Event()

        async def slow(ctx: JobContext) -> dict[str, object]:
            ctx.progress(0.5, "half way")
            await gate.wait()
            return {"answer": 42}

        async def broken(ctx: JobContext) -> dict[str, object]:
            raise ValueError("the data ran out")

        job = await k.jobs.submit("eval", slow, owner="alice", params={"n": 1})
        bad = await k.jobs.submit("eval", broken, owner="bob")
        assert (await k.jobs.wait(bad.id, timeout=10)).status is JobStatus.FAILED
        assert "the data ran out" in (await k.jobs.get(bad.id)).error
        await asyncio.sleep(0.6)
        running = await k.jobs.get(job.id)
        assert running.status is JobStatus.RUNNING and running.owner == "alice"
        assert [j.id for j in await k.jobs.list(owner="alice")] == [job.id]   # one user's jobs only
        with pytest.raises(InputError):
            await k.jobs.get(job.id, owner="bob")
        # A second kernel on the same database (the app restarted while the job ran).
        store_url = k.settings.database_url
    finally:
        gate.set()
        await k.stop()
    k2 = await _kernel()
    try:
        assert k2.settings.database_url == store_url
        done = await k2.jobs.get(job.id)
        assert done.status in (JobStatus.SUCCEEDED, JobStatus.CANCELLED, JobStatus.FAILED)
    finally:
        await k2.stop()
    # A row left "running" by a process that died is marked failed at the next start.
    from core.store.engine import open_ready_store
    from core.store.jobs import JobsRepo

    store = open_ready_store(store_url)
    try:
        orphan = JobsRepo(store).create("train", "local")
        JobsRepo(store).update(orphan.id, status="running")
    finally:
        store.close()
    k3 = await _kernel()
    try:
        row = await k3.jobs.get(orphan.id)
        assert row.status is JobStatus.FAILED and "interrupted" in (row.error or "")
    finally:
        await k3.stop()
