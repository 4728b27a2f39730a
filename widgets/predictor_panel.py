"""The predictor panel: drop a chart screenshot (or pick a file), check the symbol and price it is
for, optionally type a level, read the forecast; start or cancel training and watch its progress.
It renders what it is given and emits the user's intent — the app decides what to do with it."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.errors import InputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
ERROR_COLOR = "#e57373"
TrainingState = Literal["idle", "running", "succeeded", "failed", "cancelled"]
TRAINING_STATES: tuple[str, ...] = get_args(TrainingState)
_LONG_NUMBER = re.compile(r"-?\d+\.\d{4,}")


@dataclass(frozen=True, slots=True)
class PredictRequest:
    """What the trader asked to predict: the screenshot, for which symbol at which price, and the
    level to test. price None: use the feed's latest price; level None: no touch probability."""

    path: str
    symbol: str
    price: float | None
    level: float | None
    chart_symbol: str = ""   # the chart's symbol, filled in: used only when none is typed or read


def round_numbers(text: str) -> str:
    """'best val loss 0.7039584356713234' -> 'best val loss 0.704' (4 significant digits)."""
    def short(m: re.Match[str]) -> str:
        v = float(m.group())
        return f"{v:.0f}" if abs(v) >= 1000 else f"{v:.4g}"
    return _LONG_NUMBER.sub(short, text)


def _positive_price(field: str, text: str) -> float | None:
    text = text.strip().replace(",", "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputError(field, f"{text!r} is not a price") from None
    if not math.isfinite(value) or value <= 0:
        raise InputError(field, "must be a positive price")
    return value


THUMB_WIDTH = 320


def reading_thumbnail(reading: dict[str, object], png: bytes, width: int = THUMB_WIDTH) -> QPixmap:
    """The screenshot scaled to `width`, the recovered candles drawn over it (wick and body
    outlines in yellow) at the rows the price-axis fit gives their prices."""
    src = QPixmap()
    src.loadFromData(png)
    if src.isNull():
        return src
    scale = width / src.width()
    pix = src.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
    axis = reading.get("price_axis") or {}
    labels = [(float(lb["y"]), float(lb["value"])) for lb in axis.get("labels", [])]  # type: ignore[union-attr]
    if len(labels) < 2:
        return pix
    log_scale = axis.get("scale") == "log"  # type: ignore[union-attr]
    ys = [y for y, _ in labels]
    vs = [math.log(v) if log_scale else v for _, v in labels]
    n = len(ys)
    mv, my = sum(vs) / n, sum(ys) / n
    var = sum((v - mv) ** 2 for v in vs)
    if var <= 0:
        return pix
    slope = sum((v - mv) * (y - my) for v, y in zip(vs, ys, strict=True)) / var

    def row(price: float) -> float:
        v = math.log(price) if log_scale else price
        return (my + slope * (v - mv)) * scale

    painter = QPainter(pix)
    painter.setPen(QPen(QColor("#ffd600"), 1))
    for b in reading.get("bars") or []:  # type: ignore[attr-defined]
        x = float(b["x"]) * scale
        painter.drawLine(QPointF(x, row(b["high"])), QPointF(x, row(b["low"])))
        top, bottom = row(max(b["open"], b["close"])), row(min(b["open"], b["close"]))
        painter.drawRect(int(x - 1.5), int(top), 3, max(1, int(bottom - top)))
    painter.end()
    return pix


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
    predict_requested = Signal(object)   # PredictRequest
    note_requested = Signal()            # "New note" from the forecast on display
    train_requested = Signal()
    cancel_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.drop = DropArea()
        self.symbol = QLineEdit()
        self.symbol.setObjectName("predict_symbol")
        self.symbol.setPlaceholderText("e.g. SPY")
        self.price = QLineEdit()
        self.price.setObjectName("predict_price")
        self.price.setPlaceholderText("latest feed price")
        self.level = QLineEdit()
        self.level.setObjectName("predict_level")
        self.level.setPlaceholderText("level to test, e.g. 432.50 (optional)")
        self.field_error = QLabel("")
        self.field_error.setObjectName("predict_field_error")
        self.field_error.setStyleSheet(f"color: {ERROR_COLOR};")
        self.field_error.setWordWrap(True)
        self.field_error.setVisible(False)
        self.reading = QLabel("")
        self.reading.setObjectName("predict_reading")
        self.reading.setWordWrap(True)
        self.thumbnail = QLabel("")
        self.thumbnail.setObjectName("predict_thumbnail")
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.open_button = QPushButton("Open screenshot…")
        self.note_button = QPushButton("New note")
        self.note_button.setToolTip("A note with this forecast and the screenshot, linked to the prediction")
        self.note_button.setEnabled(False)
        self.note_button.clicked.connect(self.note_requested.emit)
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
        self.train_status.setObjectName("train_status")
        self.train_status.setWordWrap(True)
        self._training_state: TrainingState = "idle"
        self._path: str | None = None            # the screenshot on display, re-run on Enter
        self._context_symbol = ""
        self._price_edited = False               # the trader typed a price: ticks don't overwrite it
        self._auto_price = ""                    # the price text the chart filled in (not typed)
        self._auto_symbol = ""                   # the symbol the chart filled in (not typed)
        form = QFormLayout()
        form.addRow("Symbol", self.symbol)
        form.addRow("Price", self.price)
        level_row = QHBoxLayout()
        level_row.addWidget(self.level, 1)
        level_row.addWidget(self.open_button)
        level_row.addWidget(self.note_button)
        form.addRow("Level", level_row)
        train_row = QHBoxLayout()
        train_row.addWidget(self.train_button)
        train_row.addWidget(self.cancel_button)
        train_row.addWidget(self.progress, 1)
        lay = QVBoxLayout(self)
        lay.addWidget(self.drop)
        lay.addWidget(self.thumbnail)
        lay.addWidget(self.reading)
        lay.addLayout(form)
        lay.addWidget(self.field_error)
        lay.addWidget(self.result, 1)
        lay.addLayout(train_row)
        lay.addWidget(self.train_status)
        self.drop.dropped.connect(self._emit_predict)
        self.open_button.clicked.connect(self._choose_file)
        self.train_button.clicked.connect(self.train_requested.emit)
        self.cancel_button.clicked.connect(self.cancel_requested.emit)
        for edit in (self.symbol, self.price, self.level):
            edit.returnPressed.connect(self._rerun)
            edit.textEdited.connect(self._clear_field_error)
        self.price.textEdited.connect(self._on_price_edited)

    # -- context ---------------------------------------------------------------------------------
    def set_context(self, symbol: str, price: float | None) -> None:
        """Prefill the symbol and price from the chart. A new symbol resets both fields; for the
        same symbol the price follows the feed until the trader types one."""
        symbol = (symbol or "").strip().upper()
        if symbol != self._context_symbol:
            self._context_symbol = symbol
            self._price_edited = False
            if self.symbol.text().strip().upper() in ("", self._auto_symbol):
                self.symbol.setText(symbol)
            self._auto_symbol = symbol
        if not self._price_edited:
            ok = price is not None and math.isfinite(price) and price > 0
            self._auto_price = (f"{price:.2f}" if price >= 1 else f"{price:.4f}") if ok else ""  # type: ignore[operator]
            self.price.setText(self._auto_price)
        self._clear_field_error()

    def _on_price_edited(self, _text: str) -> None:
        self._price_edited = True

    # -- intent ----------------------------------------------------------------------------------
    def level_value(self) -> float | None:
        """The typed level, None when empty; InputError names the field when it is not a price."""
        return _positive_price("level", self.level.text())

    def price_value(self) -> float | None:
        """The typed price, None when empty (the app then uses the feed's latest price)."""
        return _positive_price("price", self.price.text())

    def symbol_value(self) -> str:
        """The typed symbol; empty means "the one read off the chart's legend"."""
        text = self.symbol.text().strip().upper()
        if not text:
            return ""
        if not re.fullmatch(r"[A-Z0-9.^/=_-]{1,15}", text):
            raise InputError("symbol", f"{text!r} is not a ticker")
        return text

    def request(self, path: str) -> PredictRequest:
        """The request for `path` from the fields; InputError names the first bad field. The price the
        chart filled in is not a typed price: the request leaves it out, so the forecast anchors at
        the feed's price when the screenshot's candles are the feed's and at the price the
        screenshot shows when they are not (a screenshot of another day or symbol)."""
        price = self.price_value()
        if not self._price_edited and self.price.text().strip() == self._auto_price:
            price = None
        symbol = self.symbol_value()
        if symbol and symbol == self._auto_symbol:  # filled in by the chart: the legend's symbol wins
            return PredictRequest(str(path), "", price, self.level_value(), chart_symbol=symbol)
        return PredictRequest(str(path), symbol, price, self.level_value())

    def current_screenshot(self) -> str | None:
        return self._path

    def _emit_predict(self, path: str) -> None:
        self._path = str(path)
        self.drop.setText(Path(path).name)
        try:
            req = self.request(path)
        except InputError as exc:
            self._show_field_error(exc)
            return
        self._clear_field_error()
        self.result.setText("Predicting…")
        self.predict_requested.emit(req)

    def _rerun(self) -> None:
        """Enter in a field: predict the screenshot on display again with the new values."""
        if self._path is None:
            self._show_field_error(InputError("screenshot", "drop a chart screenshot first"))
            return
        self._emit_predict(self._path)

    def _show_field_error(self, exc: InputError) -> None:
        edits = {"symbol": self.symbol, "price": self.price, "level": self.level}
        for name, edit in edits.items():
            edit.setStyleSheet(f"border: 1px solid {ERROR_COLOR};" if name == exc.field else "")
        self.field_error.setText(f"{exc.field.capitalize()}: {exc.reason}")
        self.field_error.setVisible(True)

    def _clear_field_error(self, *_: object) -> None:
        for edit in (self.symbol, self.price, self.level):
            edit.setStyleSheet("")
        self.field_error.setText("")
        self.field_error.setVisible(False)

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Chart screenshot", "", "Images (*.png *.jpg *.jpeg *.bmp *.webp)")
        if path:
            self._emit_predict(path)

    # -- what was read off the screenshot ---------------------------------------------------------
    def show_reading(self, reading: dict[str, object] | None, png: bytes) -> None:
        """What the chart reader saw: symbol, interval, last price, bar count, and a thumbnail of the
        screenshot with the recovered candles drawn over it. An empty symbol field takes the read
        symbol and the price field's hint shows the read price; the trader can correct either and
        press Enter to predict again."""
        if not reading or reading.get("kind") != "candlestick":
            why = (reading or {}).get("reason") or "not read"
            self.reading.setText(f"No candlestick chart read: {why}")
            self.thumbnail.clear()
            return
        sym = str((reading.get("symbol") or {}).get("value") or "")  # type: ignore[union-attr]
        interval = str((reading.get("interval") or {}).get("value") or "?")  # type: ignore[union-attr]
        last = reading.get("last_price")
        bars = list(reading.get("bars") or [])  # type: ignore[call-overload]
        last_text = f"{float(last):.2f}" if isinstance(last, int | float) else "?"
        self.reading.setText(f"Read: {sym or 'symbol not read'} · {interval} · last {last_text} · {len(bars)} bars"
                             f" · confidence {float(reading.get('confidence') or 0):.2f}")  # type: ignore[arg-type]
        if sym and self.symbol.text().strip().upper() in ("", self._auto_symbol):
            self.symbol.setText(sym)   # not typed: the chart's own legend is the better guess
            self._auto_symbol = sym.strip().upper()
        if isinstance(last, int | float):
            # a hint, not a typed price: an empty field lets the feed's price win when it matches
            self.price.setPlaceholderText(f"read off the chart: {last:.2f}")
        self.thumbnail.setPixmap(reading_thumbnail(reading, png))

    def show_screenshot(self, path: str | None, *, missing: str | None = None) -> None:
        """A stored prediction's screenshot as the thumbnail (or why there is none)."""
        if path is None:
            self.thumbnail.clear()
            self.reading.setText(f"Screenshot no longer at {missing}" if missing else "No screenshot stored")
            return
        pix = QPixmap(path)
        if pix.isNull():
            self.thumbnail.clear()
            self.reading.setText(f"Screenshot {Path(path).name} is not a readable image")
            return
        self.reading.setText(f"Screenshot: {Path(path).name}")
        self.thumbnail.setPixmap(pix.scaledToWidth(THUMB_WIDTH, Qt.TransformationMode.SmoothTransformation))

    # -- state -----------------------------------------------------------------------------------
    def show_forecast(self, html: str) -> None:
        self.result.setText(html)
        self.note_button.setEnabled(True)

    def show_error(self, text: str) -> None:
        self.note_button.setEnabled(False)
        self.result.setText(f"<span style='color:{ERROR_COLOR}'>{text}</span>")

    @property
    def training_state(self) -> TrainingState:
        return self._training_state

    def show_training(self, state: TrainingState, fraction: float, message: str = "") -> None:
        """Training as the job reports it. The bar shows how far it got: a cancelled or failed run
        stays where it stopped (not 100 %), and the text says so with rounded figures."""
        if state not in TRAINING_STATES:
            raise InputError("state", f"expected one of {', '.join(TRAINING_STATES)}, got {state!r}")
        if not isinstance(fraction, int | float) or not math.isfinite(fraction):
            raise InputError("fraction", f"expected a number 0..1, got {fraction!r}")
        fraction = min(max(float(fraction), 0.0), 1.0)
        self._training_state = state
        running = state == "running"
        self.train_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        if state == "succeeded":
            fraction = 1.0
        self.progress.setValue(round(fraction * 1000))
        self.progress.setFormat({"cancelled": "Cancelled at %p%", "failed": "Failed at %p%"}.get(state, "%p%"))
        text = round_numbers(re.sub(rf"^\s*{state}\s*[:\-–]\s*", "", message, flags=re.IGNORECASE))
        title = {"running": "", "succeeded": "Done", "failed": "Failed", "cancelled": "Cancelled",
                 "idle": ""}[state]
        line = f"{title}: {text}" if title and text else title or text
        color = ERROR_COLOR if state == "failed" else ""
        self.train_status.setStyleSheet(f"color: {color};" if color else "")
        self.train_status.setText(line)
