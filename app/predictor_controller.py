"""Connects the predictor panel to the kernel's predictor service: screenshot → forecast,
Train/Cancel → the training job, JobProgress events → the progress bar. Every failure reaches the
panel (no prediction stays on "Predicting…")."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable
from pathlib import Path

from core.errors import TradeCoachError
from core.events import JobProgress
from core.services.predictor import PredictRequest as KernelPredictRequest
from core.store.predictions import PredictionRecord
from core.tasks import spawn
from core.training_job import KIND as TRAIN_KIND
from core.workstation import NY, Workstation
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

    async def show_stored(self, prediction_id: int) -> None:
        """A stored prediction (a note's link): its forecast, its screenshot when the file is still
        there, and its outcome once resolved; "New note" then writes from it."""
        rec = await self._k.runtime.wrap(self._k.predictor.get(prediction_id))
        lines = stored_prediction_lines(rec)
        self._panel.show_forecast("<br>".join([f"<b>{html.escape(lines[0])}</b>", *map(html.escape, lines[1:])]))
        shot = rec.image_path if rec.image_path and Path(rec.image_path).is_file() else None
        self._panel.show_screenshot(shot, missing=rec.image_path)
        self.last = (rec.prediction_id, rec.symbol, lines, shot)

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


def stored_prediction_lines(rec: PredictionRecord) -> list[str]:
    """A stored prediction in words: when and at what price it was made, what it said, and what
    happened (or when it will be known)."""
    made = rec.timestamp.astimezone(NY)
    lines = [f"Prediction #{rec.prediction_id} · {rec.symbol} · made {made:%Y-%m-%d %H:%M} ET at "
             f"{rec.anchor_price:.2f} · close {rec.horizon_end.astimezone(NY):%H:%M} ET",
             f"Close estimate {rec.model_predicted_price:.2f}"]
    if rec.predicted_high is not None and rec.predicted_low is not None:
        lines.append(f"High {rec.predicted_high:.2f} · low {rec.predicted_low:.2f}")
    if rec.user_expected_price is not None:
        p = "" if rec.probability_hit is None else f": P(touch) {rec.probability_hit:.0%}"
        lines.append(f"Level {rec.user_expected_price:.2f}{p}")
    lines.append(f"Model {rec.model_version}")
    if rec.resolved and rec.actual_price is not None:
        miss = rec.actual_price - rec.model_predicted_price
        out = f"Outcome: close {rec.actual_price:.2f} ({miss:+.2f} vs the estimate)"
        if rec.actual_high is not None and rec.actual_low is not None:
            out += f" · high {rec.actual_high:.2f} · low {rec.actual_low:.2f}"
        if rec.was_hit is not None:
            out += " · level " + ("touched" if rec.was_hit else "not touched")
        lines.append(out)
    else:
        lines.append(f"Outcome: pending until {rec.horizon_end.astimezone(NY):%Y-%m-%d %H:%M} ET")
    return lines
