"""The predictor: screenshot (+ bars) → forecast, stored; history; outcomes resolved from the feed;
training as a job; reloading the model. The window's Predictor panel, `python -m app predict` and
the API call these same methods."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.bus import Bus
from core.errors import InputError
from core.jobs import JobContext, JobInfo, JobManager
from core.market.bars import Bars
from core.prediction import PredictionMade, PredictorClient
from core.runtime import KernelRuntime
from core.services.market import MarketService
from core.store.engine import Store
from core.training_job import KIND as TRAIN_KIND
from core.training_job import TrainRequest, run_training

if TYPE_CHECKING:
    from core.collection.outcomes import ResolveReport
    from core.store.predictions import PredictionRecord
    from models.forecast import Forecast

log = logging.getLogger(__name__)

RECENT_BARS = 200  # 5-minute bars handed to the model


@dataclass(frozen=True, slots=True)
class PredictRequest:
    image: bytes
    symbol: str
    level: float | None = None
    price: float | None = None       # typed by the trader; else the bars' or the feed's latest price
    at: datetime | None = None       # screenshot time (UTC); else the kernel clock
    bars: Bars | None = None         # recent bars from a file; else the feed's
    bars_source: str | None = None   # how to name `bars` in the output
    image_path: str | None = None
    store: bool = True
    owner: str = "local"             # the API user the stored prediction belongs to


@dataclass(frozen=True, slots=True)
class PredictionResult:
    forecast: Forecast
    prediction_id: int | None

    def to_dict(self) -> dict[str, object]:
        return {**self.forecast.to_dict(), "prediction_id": self.prediction_id}


class PredictorService:
    def __init__(self, market: MarketService, store: Store | None, bus: Bus, runtime: KernelRuntime,
                 jobs: JobManager, data_dir: Path, client: PredictorClient | None = None) -> None:
        self._market, self._store, self._bus, self._rt = market, store, bus, runtime
        self._jobs, self._data_dir = jobs, data_dir
        self.client = client or PredictorClient()

    async def predict(self, req: PredictRequest) -> PredictionResult:
        symbol = (req.symbol or "").strip().upper()
        if not symbol:
            raise InputError("symbol", "is required")
        if not req.image:
            raise InputError("file", "the image is empty")
        if req.level is not None and not (np.isfinite(req.level) and req.level > 0):
            raise InputError("level", "must be a positive price")
        if req.price is not None and not (np.isfinite(req.price) and req.price > 0):
            raise InputError("price", "must be a positive price")
        at = req.at or self._market.clock.now()
        bars, price, source = req.bars, req.price, "given"
        if bars is not None:
            bars = bars.between(None, int(at.timestamp() * 1e9))
            if price is None and len(bars):
                price, source = float(bars.close[-1]), req.bars_source or "bars file"
        else:
            bars = await self._market.bars(symbol, "5m", limit=RECENT_BARS)
            if price is None:
                if not len(bars):
                    raise InputError("price", f"the feed has no price for {symbol}; type one")
                last = await self._market.last_price(symbol)
                price, source = last.price, f"feed ({self._market.status().source})"
        forecast = await self.client.predict(req.image, symbol, at=at, price=price, level=req.level,
                                             bars=bars if bars is not None and len(bars) else None,
                                             price_source=source)
        prediction_id = None
        if req.store and self._store is not None:
            from core.store.predictions import PredictionsRepo
            from models.forecast import record

            repo = PredictionsRepo(self._store)
            row = await self._rt.run_io(lambda: record(forecast, repo, image_path=req.image_path))
            prediction_id = row.prediction_id
            if req.owner != "local":
                await self._rt.run_io(repo.set_owner, prediction_id, req.owner)
        self._bus.publish(PredictionMade(prediction_id, forecast))
        return PredictionResult(forecast, prediction_id)

    async def history(self, symbol: str | None = None, limit: int = 50,
                      owner: str | None = None) -> list[PredictionRecord]:
        from core.store.predictions import PredictionsRepo

        repo = PredictionsRepo(self._need_store())
        return await self._rt.run_io(lambda: repo.history(symbol, limit=limit, owner=owner))

    async def resolve_due(self, symbols: set[str] | None = None) -> ResolveReport:
        """Record the outcome of every prediction whose close has passed: the actual close, the high
        and low from the screenshot time to the close, and whether the level was touched."""
        from core.collection.outcomes import resolve_due
        from core.store.predictions import PredictionsRepo

        repo = PredictionsRepo(self._need_store())
        return await resolve_due(repo, self._market, self._market.clock.now(), symbols=symbols)

    # -- the model --------------------------------------------------------------------------------
    async def reload(self, checkpoint: Path | None = None) -> None:
        if checkpoint is not None and not checkpoint.exists():
            raise InputError("checkpoint", f"{checkpoint} does not exist")
        self.client.reload(checkpoint)

    async def train(self, *, epochs: int | None = None, max_minutes: float | None = None, resume: bool = True,
                    owner: str = "local", extra_args: tuple[str, ...] = ()) -> JobInfo:
        """Start training as a job (one at a time: a second request gets "already running (job N)")."""
        if epochs is not None and not 1 <= epochs <= 1000:
            raise InputError("epochs", "must be between 1 and 1000")
        resume_from = await self._last_checkpoint() if resume else None
        req = TrainRequest(epochs, max_minutes, resume_from, tuple(extra_args))

        async def runner(ctx: JobContext) -> dict[str, object]:
            return await run_training(ctx, req, self._data_dir)

        # A cancelled run finishes its step and writes a checkpoint to resume from: give it time.
        return await self._jobs.submit(TRAIN_KIND, runner, owner=owner, params=req.to_params(), exclusive=True,
                                       cancel_grace_s=120.0)

    async def cancel_training(self) -> JobInfo:
        running = self._jobs.running(TRAIN_KIND)
        if not running:
            raise InputError("train", "no training run in progress")
        return await self._jobs.cancel(running[0])

    async def _last_checkpoint(self) -> str | None:
        for job in await self._jobs.list(kind=TRAIN_KIND, limit=20):
            last = (job.result or {}).get("resume_from")
            if last and Path(str(last)).exists():
                return str(last)
        return None

    def _need_store(self) -> Store:
        if self._store is None:
            raise InputError("store", "the database is not open")
        return self._store

    def close(self) -> None:
        self.client.close()


def utc_from_ns(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)
