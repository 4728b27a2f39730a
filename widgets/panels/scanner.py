"""Scanner: the live candidates (triggered, armed, forming), sortable on every column; a
double-click asks to open the plan on the chart."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from widgets.panels.table import DataTable
from widgets.theme import DARK, Theme

HEADERS = ("Symbol", "Playbook", "State", "Dir", "Entry", "Stop", "TP1", "R:R", "Conf", "Dist %")
STATE_ORDER = {"triggered": 0, "armed": 1, "forming": 2}


@dataclass(frozen=True, slots=True)
class ScanRow:
    key: int                    # index into the controller's candidates
    symbol: str
    playbook: str
    state: str
    direction: str | None
    entry: float | None
    stop: float | None
    tp1: float | None
    rr: float | None
    confidence: float
    distance_pct: float | None


class ScannerPanel(QWidget):
    candidate_activated = Signal(int)   # ScanRow.key
    candidate_selected = Signal(int)
    scan_requested = Signal()
    refit_requested = Signal()          # refit the confidence calibration (a job)

    def __init__(self, theme: Theme = DARK) -> None:
        super().__init__()
        self._theme = theme
        self.summary = QLabel("No scan yet")
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        scan = QPushButton("Scan now")
        scan.setToolTip("Scan the watchlist now (F5)")
        scan.clicked.connect(self.scan_requested)
        top = QHBoxLayout()
        refit = QPushButton("Refit calibration")
        refit.setToolTip("Refit the confidence calibration on the first watchlist symbol's bars (a job)")
        refit.clicked.connect(self.refit_requested)
        top.addWidget(self.summary, 1)
        top.addWidget(refit)
        top.addWidget(scan)
        self.table = DataTable(HEADERS)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        self.table.cellDoubleClicked.connect(lambda r, _c: self._emit(self.candidate_activated, r))
        self.table.currentCellChanged.connect(lambda r, _c, _pr, _pc: self._emit(self.candidate_selected, r))

    def _emit(self, signal: Signal, row: int) -> None:  # type: ignore[valid-type]
        key = self.table.key_at(row) if row >= 0 else None
        if key is not None:
            signal.emit(int(key))  # type: ignore[attr-defined]

    def set_candidates(self, rows: list[ScanRow], summary: str) -> None:
        self.summary.setText(summary)
        dir_color = {"long": self._theme.up, "short": self._theme.down}
        self.table.set_rows(
            [(r.symbol, r.playbook, r.state, r.direction or "", r.entry, r.stop, r.tp1, r.rr,
              round(r.confidence * 100.0, 1), r.distance_pct) for r in rows],
            keys=[r.key for r in rows],
            colors=[(None, None, None, dir_color.get(r.direction or ""), None, None, None, None, None, None)
                    for r in rows])
