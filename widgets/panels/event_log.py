"""Event log: one line per setup change, plan, follower step, job end and feed change, newest last.
Lines arriving together (a rescan's setup changes) are added in one batch a moment later: one
insert, one trim and one scroll instead of one of each per line."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QListWidget, QVBoxLayout, QWidget

MAX_LINES = 2000
BATCH_MS = 100


class EventLogPanel(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.list = QListWidget()
        self.list.setUniformItemSizes(True)  # cheap layout with thousands of lines
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.list)
        self._pending: list[str] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(BATCH_MS)
        self._timer.timeout.connect(self.flush)

    def append(self, line: str) -> None:
        self._pending.append(line)
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Add the waiting lines now."""
        self._timer.stop()
        lines, self._pending = self._pending[-MAX_LINES:], []
        if not lines:
            return
        bar = self.list.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        self.list.addItems(lines)
        extra = self.list.count() - MAX_LINES
        if extra > 0:
            self.list.setUpdatesEnabled(False)
            for _ in range(extra):
                self.list.takeItem(0)
            self.list.setUpdatesEnabled(True)
        if at_end:
            self.list.scrollToBottom()

    def lines(self) -> list[str]:
        self.flush()
        return [self.list.item(i).text() for i in range(self.list.count())]
