"""Jobs: every long piece of work with its progress, status and error; Cancel asks to stop one."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from widgets.panels.table import DataTable

HEADERS = ("Job", "Kind", "Status", "Progress %", "Message")


@dataclass(frozen=True, slots=True)
class JobRow:
    job_id: int
    kind: str
    status: str
    fraction: float
    message: str


class JobsPanel(QWidget):
    cancel_requested = Signal(int)
    refresh_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.table = DataTable(HEADERS)
        cancel = QPushButton("Cancel job")
        cancel.clicked.connect(self._cancel)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh_requested)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(refresh)
        row.addWidget(cancel)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.table, 1)
        lay.addLayout(row)

    def set_jobs(self, rows: list[JobRow]) -> None:
        self.table.set_rows([(r.job_id, r.kind, r.status, round(r.fraction * 100.0, 1), r.message) for r in rows],
                            keys=[r.job_id for r in rows])

    def _cancel(self) -> None:
        row = self.table.currentRow()
        key = self.table.key_at(row) if row >= 0 else None
        if key is not None:
            self.cancel_requested.emit(int(key))
