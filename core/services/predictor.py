"""The predictor: screenshot (+ bars) → forecast, stored; history; outcomes resolved from the feed;
training as a job; reloading the model. The window's Predictor panel, `python -m app predict` and
the API call these same methods."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

import numpy as np

from core.bus import Bus
from core.capture.naming import utc_from_ns
from core.chartread import ChartReading, read_chart
from core.errors import DataError, InputError
from core.jobs import JobContext, JobInfo, JobManager
from core.market.bars import Bars
from core.prediction import PredictionMade, PredictorClient
from core.runtime import KernelRuntime
from core.services.market import MarketService
from core.store.engine import Store
from core.training_job import KIND as TRAIN_KIND
from core.training_job import TrainRequest, run_training
from models.reading_inputs import candles_match_feed, read_volatility

if TYPE_CHECKING:
    from core.collection.outcomes import ResolveReport
    from core.store.predictions import PredictionRecord
    from models.forecast import Forecast

log = logging.getLogger(__name__)

RECENT_BARS = 200  # 5-minute bars handed to the model
MATCH_WINDOW = 400  # feed bars whose times a read time may match
NY = ZoneInfo("America/New_York")


@dataclass(frozen=True, slots=True)
class PredictRequest:
    image: bytes
    symbol: str = ""                 # typed; else the symbol read off the chart's legend
    chart_symbol: str = ""           # the window's chart symbol: only when none is typed or read
    level: float | None = None
    price: float | None = None       # typed by the trader; else the feed's, else the chart's last price
    at: datetime | None = None       # screenshot time (UTC); else the kernel clock
    bars: Bars | None = None         # recent bars from a file; else the feed's
    bars_source: str | None = None   # how to name `bars` in the output
    image_path: str | None = None
    store: bool = True
    owner: str = "local"             # the API user the stored prediction belongs to
    reading: ChartReading | None = None  # the screenshot already read (the panel shows it first)


Path_ = Literal["screenshot", "feed", "both", "price only"]


@dataclass(frozen=True, slots=True)
class PredictionResult:
    forecast: Forecast
    prediction_id: int | None
    reading: dict[str, object] | None = None   # ChartReading.to_dict() of the screenshot
    path: Path_ = "feed"                        # where the forecast's inputs came from
    inputs: str = ""                            # one sentence: which bars, price and volatility were used

    def to_dict(self) -> dict[str, object]:
        return {**self.forecast.to_dict(), "prediction_id": self.prediction_id, "reading": self.reading,
                "path": self.path, "inputs": self.inputs}


@dataclass(frozen=True, slots=True)
class _Inputs:
    symbol: str
    price: float | None
    price_source: str
    bars: Bars | None
    sigma: float | None
    sigma_source: str | None
    path: Path_
    inputs: str


class PredictorService:
    def __init__(self, market: MarketService, store: Store | None, bus: Bus, runtime: KernelRuntime,
                 jobs: JobManager, data_dir: Path, client: PredictorClient | None = None) -> None:
        self._market, self._store, self._bus, self._rt = market, store, bus, runtime
        self._jobs, self._data_dir = jobs, data_dir
        self.client = client or PredictorClient()

    async def read(self, image: bytes) -> ChartReading:
        """The chart reader on the screenshot, in a CPU worker process (it is pure)."""
        if not image:
            raise InputError("file", "the image is empty")
        return await self._rt.run_cpu(read_chart, image)

    async def predict(self, req: PredictRequest) -> PredictionResult:
        if not req.image:
            raise InputError("file", "the image is empty")
        if req.level is not None and not (np.isfinite(req.level) and req.level > 0):
            raise InputError("level", "must be a positive price")
        if req.price is not None and not (np.isfinite(req.price) and req.price > 0):
            raise InputError("price", "must be a positive price")
        at = req.at or self._market.clock.now()
        reading = req.reading if req.reading is not None else await self.read(req.image)
        chosen = await self._choose_inputs(req, reading, at)
        forecast = await self.client.predict(req.image, chosen.symbol, at=at, price=chosen.price, level=req.level,
                                             bars=chosen.bars, price_source=chosen.price_source,
                                             sigma=chosen.sigma, sigma_source=chosen.sigma_source, path=chosen.path)
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
        return PredictionResult(forecast, prediction_id, reading.to_dict(), chosen.path, chosen.inputs)

    async def _choose_inputs(self, req: PredictRequest, reading: ChartReading, at: datetime) -> _Inputs:
        """symbol: typed > read; price: typed > feed (when its candles are the chart's) > the chart's
        last price; bars: the feed's when they match the chart ("both") or no chart was read
        ("feed"), else the volatility of the read candles ("screenshot")."""
        read_ok = not reading.refused
        read_symbol = str((reading.symbol or {}).get("value") or "").strip().upper() if read_ok else ""
        symbol = (req.symbol or "").strip().upper() or read_symbol or (req.chart_symbol or "").strip().upper()
        if not symbol:
            if not read_ok:
                raise InputError("image", f"no candlestick chart seen: {reading.reason}")
            raise InputError("symbol", "not read off the chart's legend: type it")
        at_ns = int(at.timestamp() * 1e9)
        if req.bars is not None:  # a bars file is the bars path, whatever the picture shows
            bars = req.bars.between(None, at_ns)
            price, src = req.price, "given"
            if price is None and len(bars):
                price, src = float(bars.close[-1]), req.bars_source or "bars file"
            return _Inputs(symbol, price, src, bars if len(bars) else None, None, None, "feed",
                           f"bars: {len(bars)} from {req.bars_source or 'the bars file'}")
        interval = reading.interval_minutes() if read_ok else None
        feed = await self._feed_bars(symbol, interval or 5)
        matched = read_ok and feed is not None and candles_match_feed(reading.bars, feed, _hhmm(feed))
        if read_ok and not matched:
            vol = read_volatility(reading.bars, interval)
            price, src = req.price, "given"
            if price is None:
                price, src = reading.last_price, "screenshot (last price)"
            why = ("the feed has no bars for " + symbol if feed is None
                   else "the feed's newest candles differ from the chart's, so they were not used")
            return _Inputs(symbol, price, src, None, vol.sigma if vol else None, vol.source if vol else None,
                           "screenshot", f"bars: {len(reading.bars)} read off the screenshot ({why})")
        if feed is not None:
            price, src = req.price, "given"
            if price is None:
                last = await self._market.last_price(symbol)
                price, src = last.price, f"feed ({self._market.status().source})"
            if matched:
                return _Inputs(symbol, price, src, feed, None, None, "both",
                               f"bars: {len(feed)} from the feed; its newest candles match the "
                               f"{len(reading.bars)} read off the screenshot")
            return _Inputs(symbol, price, src, feed, None, None, "feed",
                           f"bars: {len(feed)} from the feed; no chart read ({reading.reason})")
        if req.price is None:
            raise InputError("image", f"no candlestick chart seen: {reading.reason}")
        return _Inputs(symbol, req.price, "given", None, None, None, "price only",
                       f"no bars: no chart read ({reading.reason}) and the feed has no bars for {symbol}")

    async def _feed_bars(self, symbol: str, interval_minutes: int) -> Bars | None:
        """The feed's recent bars for the symbol, or None when it has none (unknown symbol, no data)."""
        name = f"{interval_minutes}m" if interval_minutes < 60 else ("1h" if interval_minutes < 240 else "4h")
        try:
            bars = await self._market.bars(symbol, name if interval_minutes in (1, 5, 15, 30, 60, 240) else "5m",
                                           limit=RECENT_BARS)
        except (InputError, DataError) as exc:
            log.info("predict: no feed bars for %s: %s", symbol, exc)
            return None
        return bars if len(bars) else None

    async def history(self, symbol: str | None = None, limit: int = 50,
                      owner: str | None = None) -> list[PredictionRecord]:
        from core.store.predictions import PredictionsRepo

        repo = PredictionsRepo(self._need_store())
        return await self._rt.run_io(lambda: repo.history(symbol, limit=limit, owner=owner))

    async def get(self, prediction_id: int) -> PredictionRecord:
        """One stored prediction (with its outcome once resolved): a note's link opens it."""
        from core.store.predictions import PredictionsRepo
        from core.store.validation import RecordNotFound

        repo = PredictionsRepo(self._need_store())
        rec = await self._rt.run_io(repo.get, int(prediction_id))
        if rec is None:
            raise RecordNotFound("prediction_id", f"no prediction {prediction_id}")
        return rec

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


def _hhmm(bars: Bars) -> list[str]:
    """The feed's bar start times as HH:MM in New York (the chart clock of US symbols)."""
    return [utc_from_ns(int(t)).astimezone(NY).strftime("%H:%M") for t in bars.ts[-MATCH_WINDOW:]]
