"""The predictor panel: drop a chart screenshot (or pick a file), optionally type a level, read
the forecast; start or cancel training and watch its progress. It renders what it is given and
emits the user's intent — the app decides what to do with it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


class DropArea(QLabel):
    """A framed area that accepts one image file dropped from the desktop or a browser."""

    dropped = Signal(str)

    def __init__(self) -> None:
        super().__init__("Drop a chart screenshot here")
        self.setObjectName("drop_area")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setAcceptDrops(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setMinimumHeight(90)
        self.setStyleSheet("QLabel#drop_area { border: 2px dashed #607d8b; border-radius: 6px; padding: 8px; }")

    @staticmethod
    def _image_path(event: QDragEnterEvent | QDropEvent) -> str | None:
        urls = event.mimeData().urls()
        if len(urls) != 1 or not urls[0].isLocalFile():
            return None
        path = urls[0].toLocalFile()
        return path if path.lower().endswith(IMAGE_SUFFIXES) else None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._image_path(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        path = self._image_path(event)
        if path:
            event.acceptProposedAction()
            self.dropped.emit(path)


class PredictorPanel(QWidget):
    predict_requested = Signal(str, object)   # image path, level (float | None)
    train_requested = Signal()
    cancel_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.drop = DropArea()
        self.level = QLineEdit()
        self.level.setPlaceholderText("level to test, e.g. 432.50 (optional)")
        self.open_button = QPushButton("Open screenshot…")
        self.result = QLabel("No prediction yet.")
        self.result.setObjectName("prediction_result")
        self.result.setWordWrap(True)
        self.result.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.result.setTextFormat(Qt.TextFormat.RichText)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.train_button = QPushButton("Train")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.train_status = QLabel("")
        self.train_status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(QLabel("Level"))
        row.addWidget(self.level, 1)
        row.addWidget(self.open_button)
        train_row = QHBoxLayout()
        train_row.addWidget(self.train_button)
        train_row.addWidget(self.cancel_button)
        train_row.addWidget(self.progress, 1)
        lay = QVBoxLayout(self)
        lay.addWidget(self.drop)
        lay.addLayout(row)
        lay.addWidget(self.result, 1)
        lay.addLayout(train_row)
        lay.addWidget(self.train_status)
        self.drop.dropped.connect(self._emit_predict)
        self.open_button.clicked.connect(self._choose_file)
        self.train_button.clicked.connect(self.train_requested.emit)
        self.cancel_button.clicked.connect(self.cancel_requested.emit)

    # -- intent ----------------------------------------------------------------------------------
    def level_value(self) -> float | None:
        """The typed level, None when empty; ValueError names the field when it is not a number."""
        text = self.level.text().strip().replace(",", "")
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"level: {text!r} is not a price") from None
        if value <= 0:
            raise ValueError("level: must be a positive price")
        return value

    def _emit_predict(self, path: str) -> None:
        try:
            level = self.level_value()
        except ValueError as exc:
            self.show_error(str(exc))
            return
        self.drop.setText(Path(path).name)
        self.result.setText("Predicting…")
        self.predict_requested.emit(path, level)

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Chart screenshot", "", "Images (*.png *.jpg *.jpeg *.bmp *.webp)")
        if path:
            self._emit_predict(path)

    # -- state -----------------------------------------------------------------------------------
    def show_forecast(self, html: str) -> None:
        self.result.setText(html)

    def show_error(self, text: str) -> None:
        self.result.setText(f"<span style='color:#e57373'>{text}</span>")

    def show_training(self, running: bool, fraction: float, text: str) -> None:
        self.train_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.progress.setValue(round(fraction * 1000))
        self.train_status.setText(text)
