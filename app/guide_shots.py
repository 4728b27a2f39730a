"""The user guide's screenshots, taken of the real window on the replay feed
(`TRADECOACH_SMOKE_PANELS=1 tradecoach --smoke docs/images/main-window.png`).

Each shot drives the window the way a trader would — open the best setup on the chart, let the
contracts and context panels fill, drop a chart screenshot on the Predictor, start a note from the
plan, open Connect your GPT and the settings — and saves one PNG next to the main screenshot.
Every wait is bounded: a panel that never fills is reported, never waited on forever."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from app.main_window import MainWindow

log = logging.getLogger(__name__)

WAIT_S = 20.0


async def _until(what: str, ready: Callable[[], bool], timeout_s: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return True
        await asyncio.sleep(0.05)
    log.warning("guide shots: %s not ready after %.0f s", what, timeout_s)
    return False


def _save(widget: QWidget, path: Path, shots: list[Path]) -> None:
    if widget.grab().save(str(path)):
        shots.append(path)
    else:
        log.error("guide shots: could not write %s", path)


async def take_guide_shots(window: MainWindow, main_shot: Path) -> list[Path]:
    """Screenshots named `<stem>-<panel>.png` next to `main_shot`; returns the files written."""
    panels = window.panels
    shots: list[Path] = []

    def name(panel: str) -> Path:
        return main_shot.with_name(f"{main_shot.stem}-{panel}.png")

    # Scanner: the live candidates of the watchlist.
    panels.docks["scanner"].raise_()
    await asyncio.sleep(0.3)
    _save(panels.docks["scanner"], name("scanner"), shots)

    # The best setup on the chart: plan lines, shaded risk/reward, overlays.
    if await _until("a plan in the Plan panel", lambda: panels.plan_ctl.plan is not None):
        window.chart.flush()
        await asyncio.sleep(0.5)
        _save(window.chart_dock, name("chart-plan"), shots)
        panels.docks["plan"].raise_()
        await asyncio.sleep(0.3)
        _save(panels.docks["plan"], name("plan"), shots)
        panels.docks["contracts"].raise_()
        await _until("contracts", lambda: bool(panels.contracts.body.toPlainText().strip()))
        await asyncio.sleep(0.3)
        _save(panels.docks["contracts"], name("contracts"), shots)

    panels.docks["context"].raise_()
    await asyncio.sleep(1.0)
    _save(panels.docks["context"], name("context"), shots)

    # Predictor: drop a screenshot of the chart itself and let the reader read it.
    chart_png = name("chart-plan")
    if chart_png.exists():
        window.predictor_dock.raise_()
        pp = window.predictor_panel
        pp.drop.dropped.emit(str(chart_png))
        await _until("the predictor's forecast", lambda: pp.result.text() not in ("", "Predicting…"), 60.0)
        await asyncio.sleep(0.3)
        _save(window.predictor_dock, name("predictor"), shots)

    # Notes: a note started from the plan.
    if panels.plan_ctl.plan is not None:
        panels.plan.note_requested.emit()
    await _until("a note from the plan", lambda: panels.notes.current_id() is not None, 5.0)
    panels.notes.editor.appendPlainText("Held the **retest** of the opening range; *scale* at TP1.")
    panels.docks["notes"].raise_()
    await asyncio.sleep(0.8)  # autosave and paint
    _save(panels.docks["notes"], name("notes"), shots)

    # Connect your GPT with a token made for the picture.
    panels.docks["gpt"].raise_()
    await panels.gpt_ctl.refresh_tokens()
    await asyncio.sleep(0.5)
    _save(panels.docks["gpt"], name("gpt"), shots)

    dialog = window.open_settings()
    await asyncio.sleep(0.3)
    _save(dialog, name("settings"), shots)
    dialog.close()
    panels.docks["scanner"].raise_()
    return shots
