"""The scanner panel's Refit calibration button: the widget emits the intent; the controller calls
the plans service's `refit_calibration` (the method POST /api/v1/scanner/calibration/refit calls)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QPushButton

from core.jobs import JobStatus
from core.services.plans import CALIBRATION_KIND
from widgets.panels.scanner import ScannerPanel
from widgets.theme import DARK


def test_refit_button_emits_the_intent(qtbot) -> None:  # type: ignore[no-untyped-def]
    p = ScannerPanel(DARK)
    qtbot.addWidget(p)
    button = next(b for b in p.findChildren(QPushButton) if b.text() == "Refit calibration")
    assert "job" in button.toolTip()
    with qtbot.waitSignal(p.refit_requested, timeout=1000):
        button.click()


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.slow
async def test_refit_in_the_window_starts_the_job_through_the_service(window) -> None:  # type: ignore[no-untyped-def]
    await window.kernel.market.replay_pause()   # no bar events into the chart while the window closes
    ctl = window.panels.scanner_ctl
    ctl.symbols = ["NOPE"]                  # no bars anywhere: refused before a job starts, saying why
    assert await ctl.refit_calibration() == 0
    assert "no imported 5m bars of NOPE" in window.panels.scanner.summary.text()
    ctl.symbols = ["IBM"]                   # the replay's few IBM days: the job runs, then says it has too few plans
    job_id = await ctl.refit_calibration()
    assert f"job {job_id}" in window.panels.scanner.summary.text()
    info = await window.kernel.jobs.wait(job_id, timeout=300)
    assert info.kind == CALIBRATION_KIND and info.params["symbol"] == "IBM"
    assert info.status is JobStatus.FAILED and "need ≥ 30 to fit" in (info.error or "")
    ctl.symbols = []
    assert await ctl.refit_calibration() == 0 and "watchlist" in window.panels.scanner.summary.text()
