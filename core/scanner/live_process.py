"""Live rescans in their own worker process.

A live rescan runs on every bar close of the watchlist (every 0.3 s at a 1000× replay) and is pure
Python-heavy CPU work; in a thread of the app's process it holds the GIL against the GUI thread
(measured: GUI stalls of 0.7–1.3 s with all panels open). The scanner's state — the plan memo and
the detection record that make a rescan incremental — lives in one spawned worker process, keyed
by watch id; the kernel sends the series and gets the report and changes back. If the worker dies,
the next call starts a new one and rebuilds the state from the series it is sent."""

from __future__ import annotations

import asyncio
import concurrent.futures
import ctypes
import ctypes.util
import gc
import logging
import multiprocessing
import sys
from collections.abc import Mapping

from core.market.bars import Bars
from core.market.intervals import Interval
from core.scanner.evaluate import Calibration
from core.scanner.plan import PlanContext
from core.scanner.setups import LiveScanner, ScanReport, SetupChange

log = logging.getLogger(__name__)

# -- in the worker process ----------------------------------------------------------------------
_scanners: dict[str, LiveScanner] = {}  # one per watch, owned by the worker process


def prepare_process() -> None:
    """The worker's start: compile the numba kernels, then freeze what the imports allocated (about
    150k objects: modules, pandas, numba) out of the cyclic collector's reach — they live as long as
    the process, and a bar close allocates enough Plans and Candidates to trigger full collections
    that would otherwise walk them all every few closes (bench/bench_scan.py --live calls this too).
    Then keep freed heap memory for reuse (`_keep_heap`)."""
    from core.indicators import warm_up

    warm_up()
    gc.collect()
    gc.freeze()
    _keep_heap()


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3     # glibc mallopt parameters (malloc.h)
HEAP_KEEP = 256 << 20                            # bytes of free heap kept instead of returned to the OS
MMAP_ABOVE = 32 << 20                            # only blocks above this get their own mapping


def _keep_heap() -> None:
    """A rescan builds ~40 frame-sized arrays (150 kB each for 50 symbols × 391 bars). glibc maps
    blocks that large afresh and unmaps them on free, so every close paid ~1000 page faults (~2 ms,
    measured) touching new pages; with a high mmap threshold and trim threshold they are served from
    heap memory the previous close freed. Only the worker process does this (glibc only; elsewhere
    it is skipped)."""
    if not sys.platform.startswith("linux"):
        return
    name = ctypes.util.find_library("c")
    if name is None:
        log.warning("live scanner: libc not found; heap tuning skipped")
        return
    libc = ctypes.CDLL(name)
    if not hasattr(libc, "mallopt"):      # musl and other libcs have no mallopt
        return
    for param, value in ((M_MMAP_THRESHOLD, MMAP_ABOVE), (M_TRIM_THRESHOLD, HEAP_KEEP)):
        if libc.mallopt(param, value) != 1:
            log.warning("live scanner: mallopt(%d, %d) refused", param, value)


def _init_worker() -> None:
    from core.procs import exit_with_parent

    exit_with_parent()
    prepare_process()


def _update(key: str, interval: Interval, style: str, calibration: Calibration | None,
            series: Mapping[str, Bars], closed: list[str] | None,
            now_ns: int | None) -> tuple[ScanReport, list[SetupChange], bool]:
    """(report, changes, fresh): `fresh` when this worker had no state for `key` (a first call, or a
    new worker after a crash) — the report is then a full scan and its changes are not news."""
    scanner = _scanners.get(key)
    fresh = scanner is None
    if scanner is None:
        scanner = _scanners[key] = LiveScanner(interval, style=style,
                                                ctx=PlanContext.with_caches(style, calibration))
    report, changes = scanner.update(series, None if fresh else closed, now_ns)
    return report, changes, fresh


def _drop(key: str) -> None:
    _scanners.pop(key, None)


# -- in the kernel ---------------------------------------------------------------------------------
class LiveScanProcess:
    def __init__(self) -> None:
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def _ensure(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker)
        return self._pool

    async def update(self, key: str, interval: Interval, style: str, calibration: Calibration | None,
                     series: Mapping[str, Bars], closed: list[str] | None,
                     now_ns: int | None) -> tuple[ScanReport, list[SetupChange], bool]:
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            try:
                return await loop.run_in_executor(self._ensure(), _update, key, interval, style, calibration,
                                                  dict(series), closed, now_ns)
            except concurrent.futures.process.BrokenProcessPool:
                log.error("live scanner: the worker process died (attempt %d); starting a new one", attempt)
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def drop(self, key: str) -> None:
        if self._pool is not None:
            await asyncio.get_running_loop().run_in_executor(self._pool, _drop, key)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
