"""Plan: levels, trigger, reasons, confidence and its source, follower state and event history,
versions; arm/disarm and "new note from this plan"."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSizePolicy,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)


class PlanPanel(QWidget):
    arm_requested = Signal(bool)      # True: follow, False: stop following
    note_requested = Signal()
    version_selected = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.title = QLabel("No plan selected")
        # Labels never widen their dock (a long title would raise the window's minimum width).
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title.setStyleSheet("font-weight:bold;")
        self.versions = QComboBox()
        self.versions.setToolTip("Plan version")
        self.versions.activated.connect(lambda i: self.version_selected.emit(int(self.versions.itemData(i))))
        self.arm = QPushButton("Arm")
        self.arm.setCheckable(True)
        self.arm.setToolTip("Follow this plan on the live or replayed stream")
        self.arm.clicked.connect(lambda checked: self.arm_requested.emit(bool(checked)))
        note = QPushButton("New note")
        note.setToolTip("New note from this plan")
        note.clicked.connect(self.note_requested)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.versions)
        top.addWidget(self.arm)
        top.addWidget(note)
        self.details = QTextBrowser()
        self.follow_state = QLabel("Not followed")
        self.follow_state.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.events = QListWidget()
        self.events.setMaximumHeight(90)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(top)
        lay.addWidget(self.details, 1)
        lay.addWidget(self.follow_state)
        lay.addWidget(self.events)
        self.set_enabled(False)

    def set_enabled(self, on: bool) -> None:
        self.arm.setEnabled(on)
        self.arm.setToolTip("Follow this plan on the live or replayed stream")
        self.versions.setEnabled(on)

    def show_plan(self, title: str, markdown: str, versions: list[int], version: int) -> None:
        self.title.setText(title)
        self.details.setMarkdown(markdown)
        self.versions.clear()
        for v in versions:
            self.versions.addItem(f"v{v}", v)
        self.versions.setCurrentIndex(max(0, versions.index(version)) if version in versions else 0)
        self.set_enabled(True)

    def show_candidate(self, title: str, markdown: str, *, armable: bool = False) -> None:
        """A setup that is not a stored plan yet: no versions; an armed one can be followed until it
        triggers (`armable`), a forming one cannot."""
        self.title.setText(title)
        self.details.setMarkdown(markdown)
        self.versions.clear()
        self.set_enabled(False)
        self.arm.setEnabled(armable)
        self.arm.setToolTip("Follow this armed setup: notified when it triggers (then its plan is followed) "
                            "or disarms" if armable else "Only armed setups and plans can be followed")

    def set_following(self, state: str | None) -> None:
        self.arm.setChecked(state is not None)
        self.arm.setText("Disarm" if state is not None else "Arm")
        self.follow_state.setText(f"Follower: {state}" if state is not None else "Not followed")

    def set_events(self, lines: list[str]) -> None:
        self.events.clear()
        self.events.addItems(lines)
