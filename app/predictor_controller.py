"""Connects the predictor panel to the kernel's predictor service: screenshot → forecast,
Train/Cancel → the training job, JobProgress events → the progress bar. Every failure reaches the
panel (no prediction stays on "Predicting…")."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from core.errors import TradeCoachError
from core.events import JobProgress
from core.services.predictor import PredictRequest as KernelPredictRequest
from core.tasks import spawn
from core.training_job import KIND as TRAIN_KIND
from core.workstation import Workstation
from models.forecast_text import forecast_html, forecast_lines
from widgets.predictor_panel import PredictorPanel, PredictRequest

log = logging.getLogger(__name__)


class PredictorController:
    def __init__(self, kernel: Workstation, panel: PredictorPanel, symbol_of_view: Callable[[], str]) -> None:
        self._k = kernel
        self._panel = panel
        self._symbol = symbol_of_view  # the chart's current symbol
        panel.predict_requested.connect(self._on_predict)
        panel.train_requested.connect(self._on_train)
        panel.cancel_requested.connect(self._on_cancel)
        panel.note_requested.connect(self._on_note)
        self.last: tuple[int | None, str, list[str], str | None] | None = None  # id, symbol, lines, screenshot
        self.note_target: Callable[[int | None, str, list[str], str | None], None] | None = None  # the notes panel

    def _report(self, exc: BaseException) -> None:
        text = str(exc) if isinstance(exc, TradeCoachError | OSError) else f"{type(exc).__name__}: {exc}"
        self._panel.show_error(text)

    def _on_predict(self, req: PredictRequest) -> None:
        spawn(self._predict(req), name="ui:predict", on_error=self._report)

    async def _predict(self, req: PredictRequest) -> None:
        data = await asyncio.get_running_loop().run_in_executor(None, Path(req.path).read_bytes)
        # What was read is shown first (symbol, price, candles over a thumbnail); the trader can
        # correct the fields and press Enter to predict again.
        reading = await self._k.runtime.wrap(self._k.predictor.read(data))
        self._panel.show_reading(reading.to_dict(), data)
        kreq = KernelPredictRequest(image=data, symbol=req.symbol, chart_symbol=req.chart_symbol,
                                    level=req.level, price=req.price,
                                    image_path=req.path, reading=reading)
        result = await self._k.runtime.wrap(self._k.predictor.predict(kreq))
        self._panel.show_forecast(forecast_html(result.forecast, result.prediction_id, self._symbol()))
        self.last = (result.prediction_id, result.forecast.symbol or self._symbol(),
                     forecast_lines(result.forecast, result.prediction_id), req.path)

    def _on_note(self) -> None:
        if self.last is not None and self.note_target is not None:
            self.note_target(*self.last)

    def _on_train(self) -> None:
        spawn(self._k.runtime.wrap(self._k.predictor.train()), name="ui:train", on_error=self._training_error)

    def _on_cancel(self) -> None:
        spawn(self._k.runtime.wrap(self._k.predictor.cancel_training()), name="ui:cancel-train",
              on_error=self._training_error)

    def _training_error(self, exc: BaseException) -> None:
        self._panel.show_training("failed", 0.0, str(exc))

    def on_job_progress(self, event: JobProgress) -> None:
        if event.kind != TRAIN_KIND:
            return
        if event.status == "failed":
            self._panel.show_training("failed", event.fraction, f"training failed: {(event.error or '')[-300:]}")
        elif event.status in ("succeeded", "cancelled"):
            self._panel.show_training(event.status, event.fraction, event.message)
        else:
            self._panel.show_training("running", event.fraction, event.message)
