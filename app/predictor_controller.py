"""Connects the predictor panel to the kernel: screenshot → forecast, Train/Cancel → the
training job, JobProgress events → the progress bar."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from core.errors import TradeCoachError
from core.events import JobProgress
from core.training_job import KIND as TRAIN_KIND
from core.workstation import Workstation
from widgets.predictor_panel import PredictorPanel

log = logging.getLogger(__name__)
NY = ZoneInfo("America/New_York")


def forecast_html(f: Any, prediction_id: int | None, symbol_in_view: str) -> str:
    """The forecast as the trader reads it: estimates, ranges, touch probability, honest skill."""
    rows = [
        f"<b>{f.symbol}</b> at {f.anchor_time.astimezone(NY):%H:%M} ET · price {f.anchor_price:.2f} "
        f"<i>({f.price_source})</i> · close {f.horizon_end.astimezone(NY):%H:%M} ET "
        f"({f.minutes_to_close:.0f} min)",
        f"Close estimate <b>{f.close:.2f}</b> (80%: {f.close_range[0]:.2f} – {f.close_range[1]:.2f})",
        f"Session high {f.high:.2f} (80%: {f.high_range[0]:.2f} – {f.high_range[1]:.2f})",
        f"Session low {f.low:.2f} (80%: {f.low_range[0]:.2f} – {f.low_range[1]:.2f})",
    ]
    if f.level is not None and f.p_touch is not None:
        base = f" · volatility alone {f.p_touch_volatility_only:.0%}" if f.p_touch_volatility_only is not None else ""
        rows.append(f"P(touch {f.level:.2f} before the close) <b>{f.p_touch:.0%}</b>{base}")
    rows.append(f"<small>Model {f.model_version}: {f.skill_text}</small>")
    if f.note:
        rows.append(f"<small>{f.note}</small>")
    if prediction_id is not None:
        rows.append(f"<small>Saved as prediction #{prediction_id}.</small>")
    if f.symbol != symbol_in_view:
        warn = f"Predicted for {f.symbol}, not the chart's {symbol_in_view}."
        rows.insert(0, f"<span style='color:#ffb74d'>{warn}</span>")
    return "<br>".join(rows)


class PredictorController:
    def __init__(self, kernel: Workstation, panel: PredictorPanel, symbol_of_view: Any) -> None:
        self._k = kernel
        self._panel = panel
        self._symbol = symbol_of_view  # callable → the chart's current symbol
        self._tasks: set[asyncio.Task[None]] = set()
        panel.predict_requested.connect(self._on_predict)
        panel.train_requested.connect(self._on_train)
        panel.cancel_requested.connect(self._on_cancel)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_predict(self, path: str, level: float | None) -> None:
        self._spawn(self._predict(Path(path), level))

    async def _predict(self, path: Path, level: float | None) -> None:
        symbol = self._symbol()
        try:
            data = await asyncio.get_running_loop().run_in_executor(None, path.read_bytes)
            forecast, pid = await self._k.predict(data, symbol, level=level, image_path=str(path))
        except (TradeCoachError, OSError) as exc:
            log.warning("prediction failed: %s", exc)
            self._panel.show_error(str(exc))
            return
        self._panel.show_forecast(forecast_html(forecast, pid, symbol))

    def _on_train(self) -> None:
        try:
            self._k.training.start()
        except TradeCoachError as exc:
            self._panel.show_training(False, 0.0, str(exc))

    def _on_cancel(self) -> None:
        try:
            self._k.training.cancel()
        except TradeCoachError as exc:
            self._panel.show_training(False, 0.0, str(exc))

    def on_job_progress(self, event: JobProgress) -> None:
        if event.kind != TRAIN_KIND:
            return
        text = event.message if event.error is None else f"training failed: {event.error[-300:]}"
        self._panel.show_training(not event.done, event.fraction, text)
