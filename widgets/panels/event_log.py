"""Event log: one line per setup change, plan, follower step, job end and feed change, newest last."""

from __future__ import annotations

from PySide6.QtWidgets import QListWidget, QVBoxLayout, QWidget

MAX_LINES = 2000


class EventLogPanel(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.list = QListWidget()
        self.list.setUniformItemSizes(True)  # cheap layout with thousands of lines
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.list)

    def append(self, line: str) -> None:
        at_end = self.list.verticalScrollBar().value() >= self.list.verticalScrollBar().maximum() - 2
        self.list.addItem(line)
        while self.list.count() > MAX_LINES:
            self.list.takeItem(0)
        if at_end:
            self.list.scrollToBottom()

    def lines(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]
