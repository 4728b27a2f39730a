"""Background tasks whose failures are never silent.

`asyncio.create_task` keeps only a weak reference to its task (a task nobody holds can be garbage
collected mid-flight) and an exception inside it is reported, at best, as "Task exception was
never retrieved" when the task is collected — long after the fact, without the task's name.
`spawn` fixes both for every background task in the kernel and the app:

    self._task = spawn(self._watch(), name="feed-status")
    spawn(pump(), name="pump:SPY/1m", on_error=lambda exc: mark_degraded(str(exc)))

- the task is held in a module-level set until it ends (no premature garbage collection);
- when it ends with an exception, the exception is logged with its traceback under the task's
  name, then `on_error(exc)` runs (e.g. to publish a degraded health state); an error raised by
  `on_error` itself is logged too, never propagated into the event loop;
- cancellation is normal shutdown: not logged, `on_error` not called.

Call it from code running on the asyncio loop (it uses the running loop).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

ErrorHandler = Callable[[BaseException], object]

_running: set[asyncio.Task[object]] = set()


def spawn(coro: Coroutine[object, object, T], *, name: str, on_error: ErrorHandler | None = None,
          logger: logging.Logger | None = None, loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Task[T]:
    """Start `coro` as a named background task that keeps a strong reference and logs failures.

    on_error: called with the exception after it is logged (on the loop thread).
    logger: where the failure is logged (default: this module's logger).
    """
    task = (loop or asyncio.get_running_loop()).create_task(coro, name=name)
    _running.add(task)  # type: ignore[arg-type]
    task.add_done_callback(_done_callback(on_error, logger or log))
    return task


def _done_callback(on_error: ErrorHandler | None, logger: logging.Logger) -> Callable[[asyncio.Task[T]], None]:
    def done(task: asyncio.Task[T]) -> None:
        _running.discard(task)  # type: ignore[arg-type]
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        logger.error("background task %s failed: %s: %s", task.get_name(), type(exc).__name__, exc,
                     exc_info=(type(exc), exc, exc.__traceback__))
        if on_error is not None:
            try:
                on_error(exc)
            except Exception:
                logger.exception("error handler of background task %s failed", task.get_name())

    return done


def running() -> int:
    """How many spawned tasks are still running (for tests and diagnostics)."""
    return len(_running)


async def cancel_all(tasks: list[asyncio.Task[object]] | set[asyncio.Task[object]], timeout: float = 2.0) -> None:
    """Cancel tasks and wait (bounded) until they have ended; a task that will not end is logged."""
    pending = [t for t in tasks if not t.done()]
    for t in pending:
        t.cancel()
    if pending:
        _done, still = await asyncio.wait(pending, timeout=timeout)
        for t in still:
            log.warning("task %s did not stop within %.1f s", t.get_name(), timeout)
