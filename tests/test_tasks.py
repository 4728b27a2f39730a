"""core.tasks.spawn: background failures are logged with their traceback and reported to the
owner; cancellation is quiet; the task is held until it ends."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from core.tasks import running, spawn


async def _boom() -> None:
    await asyncio.sleep(0)
    raise RuntimeError("pump exploded")


async def test_failure_is_logged_with_traceback_and_handed_to_on_error(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[BaseException] = []
    with caplog.at_level(logging.ERROR, logger="core.tasks"):
        task = spawn(_boom(), name="pump:SPY/1m", on_error=seen.append)
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(0)  # done callbacks run on the next loop turn
    assert len(seen) == 1 and isinstance(seen[0], RuntimeError)
    rec = [r for r in caplog.records if "pump:SPY/1m" in r.getMessage()]
    assert rec and rec[0].exc_info is not None and "pump exploded" in rec[0].getMessage()
    assert "_boom" in caplog.text  # the traceback names the failing coroutine


async def test_cancellation_is_quiet(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[BaseException] = []
    with caplog.at_level(logging.ERROR, logger="core.tasks"):
        task = spawn(asyncio.sleep(10), name="sleeper", on_error=seen.append)
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(0)
    assert not seen and not caplog.records


async def test_a_failing_error_handler_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def bad_handler(exc: BaseException) -> None:
        raise ValueError("handler broke")

    with caplog.at_level(logging.ERROR, logger="core.tasks"):
        task = spawn(_boom(), name="t", on_error=bad_handler)
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(0)
    assert "error handler of background task t failed" in caplog.text and "handler broke" in caplog.text


async def test_unreferenced_task_still_runs_to_the_end() -> None:
    done = asyncio.Event()

    async def work() -> None:
        await asyncio.sleep(0.01)
        gc.collect()        # a weakly held task would be collected here and never finish
        await asyncio.sleep(0.01)
        done.set()

    before = running()
    spawn(work(), name="orphan")   # the caller drops the task
    gc.collect()
    await asyncio.wait_for(done.wait(), 10.0)
    await asyncio.sleep(0)
    assert running() == before
