"""The Train button's job: a real training process, its progress on the bus, resume and cancel."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.bus import Bus
from core.errors import InputError
from core.events import JobProgress
from core.training_job import TrainingJobs
from tests.test_models_helpers import spy_between, write_bars_csv

FAST = ["--every-minutes", "60", "--batch-size", "32", "--threads", "1", "--no-store"]


async def _until_done(events: list[JobProgress], timeout: float) -> JobProgress:
    for _ in range(int(timeout / 0.1)):
        done = [e for e in events if e.done]
        if done:
            return done[-1]
        await asyncio.sleep(0.1)
    raise AssertionError(f"training did not finish in {timeout} s; got {events[-3:]}")


async def test_train_reports_progress_then_resumes(tmp_path: Path) -> None:
    bars = write_bars_csv(spy_between("2019-02-01", "2019-03-15"), tmp_path / "spy.csv")
    bus = Bus()
    bus.bind()
    events: list[JobProgress] = []
    bus.subscribe(JobProgress, events.append)
    jobs = TrainingJobs(bus, tmp_path / "data")
    args = ["--bars", str(bars), "--symbol", "SPY", "--out", str(tmp_path / "ck"), *FAST]
    jobs.start(epochs=2, extra_args=args)
    with pytest.raises(InputError, match="already in progress"):
        jobs.start(extra_args=args)
    final = await _until_done(events, 240)
    assert final.error is None, final.error
    progress = [e for e in events if not e.done and "epoch" in e.message]
    assert progress and all(0.0 <= e.fraction <= 1.0 for e in progress)
    assert progress[-1].message.startswith("epoch 2/2")
    assert jobs.last_result is not None and jobs.last_result["last_epoch"] == 2
    # Resume: the next run continues from the last checkpoint instead of starting over.
    events.clear()
    jobs.start(epochs=3, extra_args=args)
    final = await _until_done(events, 240)
    assert final.error is None, final.error
    assert jobs.last_result["last_epoch"] == 3 and jobs.last_result["epochs_run"] == 1
    await bus.close()


async def test_cancel_stops_the_run(tmp_path: Path) -> None:
    bars = write_bars_csv(spy_between("2019-01-02", "2019-06-28"), tmp_path / "spy.csv")
    bus = Bus()
    bus.bind()
    events: list[JobProgress] = []
    bus.subscribe(JobProgress, events.append)
    jobs = TrainingJobs(bus, tmp_path / "data")
    with pytest.raises(InputError, match="no training run"):
        jobs.cancel()
    jobs.start(epochs=50, extra_args=["--bars", str(bars), "--symbol", "SPY", "--out", str(tmp_path / "ck"), *FAST])
    for _ in range(600):
        if any("epoch" in e.message for e in events):
            break
        await asyncio.sleep(0.1)
    jobs.cancel()
    final = await _until_done(events, 120)
    assert final.error is None and jobs.last_result is not None
    assert jobs.last_result["stopped"] == "cancelled" and jobs.last_result["last_epoch"] < 50
    await bus.close()
