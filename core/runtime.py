"""The kernel's own thread: one asyncio loop (the engine thread) and named, bounded executors.

Both faces reach the kernel only through this surface:

    fut = runtime.submit(kernel.market.bars("SPY", "5m"))   # any thread → concurrent Future
    bars = await asyncio.wrap_future(fut)                    # from another asyncio loop (the GUI's)
    bars = runtime.call(kernel.market.bars("SPY", "5m"))     # blocking, with a timeout (CLI, tests)

Code already on the kernel loop awaits services directly and sends blocking work to
`run_io` (store, files: a bounded thread pool) or `run_cpu` (scan, ranking, context: a bounded pool
of worker *processes*). CPU work in a thread of the app's own process would hold the GIL against the
GUI thread — measured: 300–750 ms GUI stalls while 8 threads scanned and ranked in-process
(bench/bench_gui_latency.py) — so pure, picklable computations run in processes; stateful ones
(the live scanner's memo) use `run_cpu_thread`. Bounded pools: a burst of API requests queues
instead of spawning without limit.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import concurrent.futures.process
import contextvars
import functools
import logging
import os
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from core.errors import TradeCoachError

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")

# Store and file access: mostly waiting, a few threads suffice.
IO_WORKERS = int(os.environ.get("TRADECOACH_IO_WORKERS", "4"))
# Worker processes for pure CPU work; the machine type has 2 cores.
CPU_WORKERS = int(os.environ.get("TRADECOACH_CPU_WORKERS", "2"))


class RuntimeStopped(TradeCoachError):
    """The kernel loop is not running (not started yet, or shut down)."""


class KernelRuntime:
    def __init__(self, *, name: str = "kernel", io_workers: int = IO_WORKERS, cpu_workers: int = CPU_WORKERS) -> None:
        self.name = name
        self._io_workers, self._cpu_workers = io_workers, cpu_workers
        self.loop: asyncio.AbstractEventLoop | None = None
        self.io: concurrent.futures.ThreadPoolExecutor | None = None
        self.cpu: concurrent.futures.ThreadPoolExecutor | None = None
        self._procs: concurrent.futures.ProcessPoolExecutor | None = None
        self._procs_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._owns_thread = False

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the engine thread and its loop (returns once the loop runs)."""
        if self.loop is not None:
            return
        self._make_pools()
        self._owns_thread = True
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-loop", daemon=True)
        self._thread.start()
        self._ready.wait()

    def adopt_running_loop(self) -> None:
        """Use the caller's running loop as the kernel loop (headless `serve`, tests, the CLI):
        there is no GUI thread to protect there, so no second thread is needed."""
        if self.loop is not None:
            return
        self._make_pools()
        self.loop = asyncio.get_running_loop()
        self._thread = threading.current_thread()
        self._ready.set()

    def _make_pools(self) -> None:
        self.io = concurrent.futures.ThreadPoolExecutor(self._io_workers, thread_name_prefix=f"{self.name}-io")
        self.cpu = concurrent.futures.ThreadPoolExecutor(self._cpu_workers, thread_name_prefix=f"{self.name}-cpu")

    def _run(self) -> None:
        # A plain asyncio loop, whatever policy the GUI installed (qasync's policy would hand this
        # thread a Qt event loop, which must only run on the GUI thread).
        loop: asyncio.AbstractEventLoop = (asyncio.ProactorEventLoop() if sys.platform == "win32"  # type: ignore[attr-defined]
                                           else asyncio.SelectorEventLoop())
        loop.set_default_executor(self.io)  # type: ignore[arg-type]
        loop.set_exception_handler(_log_loop_exception)
        asyncio.set_event_loop(loop)
        self.loop = loop
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop thread (after the owner awaited its own shutdown) and the pools."""
        loop = self.loop
        if loop is not None and self._owns_thread and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None and self._thread is not threading.current_thread():
                self._thread.join(timeout)
                if self._thread.is_alive():
                    log.error("runtime: the kernel thread did not stop within %.1f s", timeout)
        for pool in (self.io, self.cpu):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
        self.shutdown_processes()
        self.loop = None

    def shutdown_processes(self) -> None:
        with self._procs_lock:
            procs, self._procs = self._procs, None
        if procs is not None:
            procs.shutdown(wait=False, cancel_futures=True)

    @property
    def running(self) -> bool:
        return self.loop is not None and self.loop.is_running()

    def on_loop_thread(self) -> bool:
        return self._thread is threading.current_thread()

    # -- the cross-thread surface -----------------------------------------------------------------
    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run a coroutine on the kernel loop from any thread; returns a concurrent Future."""
        loop = self.loop
        if loop is None or loop.is_closed():
            coro.close()
            raise RuntimeStopped("the kernel is not running")
        return asyncio.run_coroutine_threadsafe(coro, loop)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = 60.0) -> T:
        """Blocking form of submit for threads that may block (never the GUI thread, never the loop)."""
        if self.on_loop_thread():
            coro.close()
            raise RuntimeError("KernelRuntime.call from the kernel loop would deadlock; await instead")
        return self.submit(coro).result(timeout)

    async def wrap(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await a kernel coroutine from another asyncio loop (the GUI's qasync loop)."""
        if self.on_loop_thread():
            return await coro
        return await asyncio.wrap_future(self.submit(coro))

    def call_soon(self, fn: Callable[..., object], *args: object) -> None:
        """Schedule a plain callable on the kernel loop (fire and forget; errors are logged)."""
        loop = self.loop
        if loop is None or loop.is_closed():
            raise RuntimeStopped("the kernel is not running")
        loop.call_soon_threadsafe(_logged(fn), *args)

    # -- executors (from the kernel loop) ----------------------------------------------------------
    async def run_io(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._run_in("io", fn, *args, **kwargs)

    async def run_cpu(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A pure computation (module-level function, picklable arguments and result) in a worker
        process. A dead worker is replaced and the call tried once more."""
        if os.environ.get("TRADECOACH_CPU_IN_THREADS") == "1":  # diagnostics: compare with threads
            return await self._run_in("cpu", fn, *args, **kwargs)
        call = functools.partial(fn, *args, **kwargs)
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            try:
                return await loop.run_in_executor(self._process_pool(), call)
            except concurrent.futures.process.BrokenProcessPool:
                log.error("runtime: a CPU worker process died (attempt %d); starting new ones", attempt)
                self.shutdown_processes()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def run_cpu_thread(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """CPU work on objects that must stay in this process (stateful scanners, warm-ups)."""
        return await self._run_in("cpu", fn, *args, **kwargs)

    def _process_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        with self._procs_lock:
            if self._procs is None:
                import multiprocessing

                # spawn: a forked copy of a process with Qt and threads is unsafe (and the only
                # start method on Windows and macOS).
                self._procs = concurrent.futures.ProcessPoolExecutor(
                    self._cpu_workers, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_cpu_worker)
            return self._procs

    def prestart_processes(self, prepare: Callable[[], object], count: int = 1) -> None:
        """Spawn `count` CPU worker processes now, each running `prepare` (a picklable callable:
        imports, per-process caches) once started, so the first real task does not wait for a
        cold worker. The others start when work queues up (on the 2-core machine, warming more at
        once slowed the window's own start)."""
        if os.environ.get("TRADECOACH_CPU_IN_THREADS") == "1":
            return
        pool = self._process_pool()
        for _ in range(max(0, min(count, self._cpu_workers))):
            pool.submit(prepare)

    async def _run_in(self, which: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.io is None or self.cpu is None:
            self._make_pools()
        pool = self.io if which == "io" else self.cpu
        ctx = contextvars.copy_context()
        call = functools.partial(ctx.run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(pool, call)


def _init_cpu_worker() -> None:
    """Worker processes compile/load the indicator kernels once, before their first task."""
    from core.indicators import warm_up
    from core.procs import exit_with_parent

    exit_with_parent()
    warm_up()


def _logged(fn: Callable[..., object]) -> Callable[..., None]:
    @functools.wraps(fn)
    def run(*args: object) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("runtime: callback %s failed", getattr(fn, "__qualname__", fn))
    return run


def _log_loop_exception(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    exc = context.get("exception")
    log.error("kernel loop: %s", context.get("message", "unhandled error"), exc_info=exc)
