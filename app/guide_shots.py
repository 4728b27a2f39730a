"""The user guide's screenshots, taken of the real window on the replay feed
(`TRADECOACH_SMOKE_PANELS=1 tradecoach --smoke docs/images/main-window.png`).

Each shot drives the window the way a trader would — open the best setup on the chart, let the
contracts and context panels fill, drop a chart screenshot on the Predictor, start a note from the
plan, open Connect your GPT and the settings — and saves one PNG next to the main screenshot.
Every wait is bounded: a panel that never fills is reported, never waited on forever."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QDockWidget, QWidget

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


async def _save_dock(dock: QDockWidget, path: Path, shots: list[Path], size: tuple[int, int] = (900, 560),
                     ready: Callable[[], bool] | None = None) -> None:
    """A dock floated at a readable size for its picture, then put back where it was."""
    dock.setFloating(True)
    dock.resize(*size)
    dock.show()
    dock.raise_()
    await asyncio.sleep(0.4)  # layout and paint at the new size
    if ready is not None:
        await _until(f"{dock.windowTitle()} to fill", ready)
        await asyncio.sleep(0.3)
    _save(dock, path, shots)
    dock.setFloating(False)


async def take_guide_shots(window: MainWindow, main_shot: Path) -> list[Path]:
    """Screenshots named `<stem>-<panel>.png` next to `main_shot`; returns the files written."""
    panels = window.panels
    shots: list[Path] = []

    def name(panel: str) -> Path:
        return main_shot.with_name(f"{main_shot.stem}-{panel}.png")

    # Scanner: the live candidates of the watchlist.
    await _save_dock(panels.docks["scanner"], name("scanner"), shots, (1100, 420))

    # The best setup on the chart: plan lines, shaded risk/reward, overlays.
    if await _until("a plan in the Plan panel", lambda: panels.plan_ctl.plan is not None):
        window.chart.flush()
        await _save_dock(window.chart_dock, name("chart-plan"), shots, (1200, 700))
        await _save_dock(panels.docks["plan"], name("plan"), shots, (520, 640))
        await _save_dock(panels.docks["contracts"], name("contracts"), shots, (900, 700),
                         ready=lambda: bool(panels.contracts.body.toPlainText().strip()))

    await _save_dock(panels.docks["context"], name("context"), shots, (760, 640),
                     ready=lambda: bool(panels.context.body.toPlainText().strip()))

    # Predictor: drop a chart screenshot (TRADECOACH_GUIDE_DROP, else the chart's own picture) and let
    # the reader read it.
    chart_png = Path(os.environ.get("TRADECOACH_GUIDE_DROP") or name("chart-plan"))
    if chart_png.exists():
        pp = window.predictor_panel
        pp.drop.dropped.emit(str(chart_png))
        await _save_dock(window.predictor_dock, name("predictor"), shots, (620, 900),
                         ready=lambda: pp.result.text() not in ("", "Predicting…"))

    # Notes: a note started from the plan.
    if panels.plan_ctl.plan is not None:
        panels.plan.note_requested.emit()
    await _until("a note from the plan", lambda: panels.notes.current_id() is not None, 5.0)
    panels.notes.editor.appendPlainText("Held the **retest** of the opening range; *scale* at TP1.")
    panels.notes.tags.setText("orb, retest")
    panels.notes.tags.textEdited.emit(panels.notes.tags.text())
    await asyncio.sleep(1.5)  # autosave, the list refreshed by its NoteChanged
    await _save_dock(panels.docks["notes"], name("notes"), shots, (1000, 560))

    await panels.gpt_ctl.refresh_tokens()
    await _save_dock(panels.docks["gpt"], name("gpt"), shots, (800, 520))

    dialog = window.open_settings()
    await asyncio.sleep(0.3)
    _save(dialog, name("settings"), shots)
    dialog.close()
    panels.docks["scanner"].raise_()
    return shots
