"""Background tasks that never fail silently.

`asyncio.create_task` keeps only a weak reference and drops the task's exception unless someone
retrieves it. `spawn` keeps the task alive until it ends and logs any failure with its traceback;
`on_error` lets the owner react (mark a feed degraded, show the error in the UI)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

_alive: set[asyncio.Task[Any]] = set()  # strong references until done (asyncio keeps only weak ones)


def spawn(coro: Coroutine[Any, Any, T], *, name: str,
          on_error: Callable[[BaseException], object] | None = None,
          loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Task[T]:
    """Start `coro` as a task on the running loop (or `loop`); log and report its failure."""
    task = (loop or asyncio.get_running_loop()).create_task(coro, name=name)
    _alive.add(task)
    task.add_done_callback(lambda t: _done(t, on_error))
    return task


def _done(task: asyncio.Task[Any], on_error: Callable[[BaseException], object] | None) -> None:
    _alive.discard(task)
    if task.cancelled():
        return
    exc = task.exception()
    if exc is None:
        return
    log.error("background task %s failed", task.get_name(), exc_info=exc)
    if on_error is not None:
        try:
            on_error(exc)
        except Exception:
            log.exception("error handler of task %s failed", task.get_name())


async def cancel_all(tasks: list[asyncio.Task[Any]] | set[asyncio.Task[Any]], timeout: float = 2.0) -> None:
    """Cancel tasks and wait (bounded) until they have ended."""
    pending = [t for t in tasks if not t.done()]
    for t in pending:
        t.cancel()
    if pending:
        _done, still = await asyncio.wait(pending, timeout=timeout)
        for t in still:
            log.warning("task %s did not stop within %.1f s", t.get_name(), timeout)
