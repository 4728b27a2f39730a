"""Scanner controller: the plans service's live rescans over the watchlist (refreshed on each bar
close of the scan interval and on every setup change), Scan now, Refit calibration (a job), and
opening a plan on the chart."""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import QObject, QTimer, Signal

from app.panels.host import PanelHost, et_datetime, value
from core.errors import InputError
from core.events import BarClosed
from core.scanner.events import SetupChanged
from core.scanner.setups import Candidate, ScanReport
from widgets.panels.scanner import ScannerPanel, ScanRow

log = logging.getLogger(__name__)

SCAN_INTERVAL = "5m"
REFRESH_MS = 400  # after a bar close, the rescan has usually landed by then (SetupChanged also refreshes)


class ScannerController(QObject):
    report_updated = Signal(object)      # ScanReport
    candidate_selected = Signal(object)  # Candidate
    candidate_opened = Signal(object)    # Candidate (double-click: open on the chart)

    def __init__(self, host: PanelHost, panel: ScannerPanel, interval: str = SCAN_INTERVAL) -> None:
        super().__init__()
        self._host, self._panel, self.interval = host, panel, interval
        self.symbols: list[str] = []
        self.candidates: list[Candidate] = []
        self.report: ScanReport | None = None
        self.refreshes = 0
        self._watch_lock = asyncio.Lock()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(lambda: host._spawn(self.refresh(), "scanner"))
        panel.scan_requested.connect(self.scan_now)
        panel.refit_requested.connect(lambda: host._spawn(self.refit_calibration(), "refit calibration"))
        panel.candidate_selected.connect(lambda i: self._pick(i, self.candidate_selected))
        panel.candidate_activated.connect(lambda i: self._pick(i, self.candidate_opened))

    def _pick(self, index: int, signal: Signal) -> None:  # type: ignore[valid-type]
        if 0 <= index < len(self.candidates):
            signal.emit(self.candidates[index])  # type: ignore[attr-defined]

    async def watch(self, symbols: list[str]) -> None:
        """(Re)start live rescans on these symbols. Quick edits queue up; only the newest list is
        started (start_live is not safe to run twice at once)."""
        self.symbols = list(symbols)
        async with self._watch_lock:
            if symbols != self.symbols:
                return  # a newer edit follows and will start its own
            plans = self._host.kernel.plans
            if not symbols:
                await self._host.call(plans.stop_live())
                self.show(None)
                return
            await self._host.call(plans.start_live(symbols, self.interval))
        await self.refresh()

    async def refresh(self) -> None:
        plans = self._host.kernel.plans
        report = await self._host.call(value(lambda: plans.live_report))
        if report is not None and report is not self.report:   # the same report: nothing new to show
            self.show(report)

    def scan_now(self) -> None:
        self._host._spawn(self._scan(), "scan")

    async def _scan(self) -> None:
        report = await self._host.call(self._host.kernel.plans.scan(self.symbols or None, self.interval))
        self.show(report)

    async def refit_calibration(self) -> int:
        """Start the calibration refit job on the first watchlist symbol's bars of the scan interval
        (the same service method as POST /api/v1/scanner/calibration/refit); the Jobs panel shows
        its progress and ECE. Returns the job id."""
        if not self.symbols:
            self._panel.summary.setText("Refit calibration: add a symbol to the watchlist first")
            return 0
        try:
            info = await self._host.call(self._host.kernel.plans.refit_calibration(self.symbols[0], self.interval))
        except InputError as exc:   # e.g. no bars of that symbol anywhere: said before any job starts
            self._panel.summary.setText(f"Refit calibration: {exc}")
            return 0
        self._panel.summary.setText(f"Calibration refit on {self.symbols[0]} {self.interval}: job {info.id}")
        return info.id

    def on_setup_changed(self, event: SetupChanged) -> None:
        self._soon()

    def on_bar_closed(self, event: BarClosed) -> None:
        if event.interval.name == self.interval and event.symbol in self.symbols:
            self._soon()

    def _soon(self) -> None:
        # At most one refresh per REFRESH_MS however fast the replay runs (a restarting debounce
        # would never fire at 1000×).
        if not self._timer.isActive():
            self._timer.start()

    def show(self, report: ScanReport | None) -> None:
        self.refreshes += 1
        self.report = report
        self.candidates = list(report.candidates) if report is not None else []
        rows = [ScanRow(i, c.symbol, c.playbook, c.state.value, c.direction, c.entry, c.stop,
                        c.tps[0] if c.tps else None, c.rr_t1, c.confidence,
                        c.entry_distance_pct) for i, c in enumerate(self.candidates)]
        if report is None:
            self._panel.set_candidates([], "No symbols to scan")
            return
        counts = {s: sum(1 for c in self.candidates if c.state.value == s) for s in ("triggered", "armed", "forming")}
        summary = (f"{report.interval} · as of {et_datetime(report.as_of, '%H:%M')} ET · "
                   + " · ".join(f"{n} {s}" for s, n in counts.items()))
        if report.warnings:
            summary += f" · ⚠ {len(report.warnings)}"
            self._panel.summary.setToolTip("\n".join(report.warnings))
        self._panel.set_candidates(rows, summary)
        self.report_updated.emit(report)
