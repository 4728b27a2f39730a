"""The predictor as a kernel service. Inference runs in one long-lived worker *process*: torch
is imported there (never in the app's process at start), the model is loaded once, and a slow
prediction can never hold the GUI thread's GIL."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from core.events import Event
from core.market.bars import Bars

log = logging.getLogger(__name__)

_worker_predictor: Any = None  # per worker process: the loaded model (set by _init_worker)


def _init_worker(checkpoint: str | None) -> None:
    global _worker_predictor  # one model per worker process, by design
    from core.procs import exit_with_parent
    from models.inference import LocalPredictor

    exit_with_parent()
    _worker_predictor = LocalPredictor.load(checkpoint)


def _predict_in_worker(image: bytes, symbol: str, price: float | None, level: float | None,
                       bars: Bars | None, at: datetime, price_source: str, sigma: float | None = None,
                       sigma_source: str | None = None, path: str = "feed") -> Any:
    assert _worker_predictor is not None
    return _worker_predictor.predict(image, symbol, price=price, level=level, bars=bars, at=at,
                                     price_source=price_source, sigma=sigma, sigma_source=sigma_source, path=path)


@dataclass(frozen=True, slots=True)
class PredictionMade(Event):
    prediction_id: int | None
    forecast: Any  # models.forecast.Forecast (models is imported lazily, never at kernel import)


class PredictorClient:
    """Owns the worker process; `predict` is awaitable from the asyncio loop."""

    def __init__(self, checkpoint: Path | None = None) -> None:
        self._checkpoint = str(checkpoint) if checkpoint else None
        self._pool: ProcessPoolExecutor | None = None

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn: a forked copy of a Qt process is unsafe, and the child must not inherit threads.
            ctx = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=_init_worker,
                                             initargs=(self._checkpoint,))
        return self._pool

    async def predict(self, image: bytes, symbol: str, *, at: datetime, price: float | None = None,
                      level: float | None = None, bars: Bars | None = None, price_source: str = "feed",
                      sigma: float | None = None, sigma_source: str | None = None, path: str = "feed") -> Any:
        """Errors of the prediction itself propagate to the caller; a dead worker (crash, killed,
        out of memory) is replaced and the prediction tried once more."""
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            try:
                return await loop.run_in_executor(self._ensure_pool(), _predict_in_worker, image, symbol, price,
                                                  level, bars, at, price_source, sigma, sigma_source, path)
            except BrokenProcessPool:
                log.error("predictor: the worker process died (attempt %d); starting a new one", attempt)
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def reload(self, checkpoint: Path | None = None) -> None:
        """Load a (new) checkpoint: the next prediction starts a worker with it."""
        if checkpoint is not None:
            self._checkpoint = str(checkpoint)
        self.close()

    def worker_pid(self) -> int | None:
        procs = getattr(self._pool, "_processes", None) or {}
        return next(iter(procs), None)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
