"""Right price axis with the last-price tag drawn on it, as TradingView does.

The tag is a filled label on the axis at the last price, so it never covers candles. When the last
price is above or below the view, the tag sticks to the axis' top or bottom edge with an arrow
pointing to where the price is.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

TAG_PAD_X = 4.0
TAG_PAD_Y = 2.0


def price_text(value: float) -> str:
    """Price with 2 decimals, or 4 below 1 (like the readout)."""
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.4f}"


class PriceAxis(pg.AxisItem):
    def __init__(self, orientation: str = "right") -> None:
        super().__init__(orientation)
        self._tag_value: float | None = None
        self._tag_fill = QtGui.QColor("#f0b90b")
        self._tag_text = QtGui.QColor("#131722")
        self.tag_paints = 0            # tests and the bench read it
        self.tag_rect = QtCore.QRectF()  # where the tag was last painted (axis coordinates)
        self.tag_edge = 0              # -1 clamped at the bottom, +1 at the top, 0 in view

    def set_tag_colors(self, fill: str, text: str) -> None:
        self._tag_fill, self._tag_text = QtGui.QColor(fill), QtGui.QColor(text)
        self._update_strip()

    def set_tag(self, value: float | None) -> None:
        """The last price (None hides the tag). Repaints only the axis strip."""
        if value is not None and not math.isfinite(value):
            value = None
        if value == self._tag_value:
            return
        self._tag_value = value
        self._update_strip()

    def tag_value(self) -> float | None:
        return self._tag_value

    def linkedViewChanged(self, view: pg.ViewBox, newRange: list[float] | None = None) -> None:
        super().linkedViewChanged(view, newRange)
        self._update_strip()

    def _strip(self) -> QtCore.QRectF:
        return self.mapRectFromParent(self.geometry())

    def _update_strip(self) -> None:
        # The axis' bounding rect spans the plot (grid lines); repaint just the axis strip.
        self.update(self._strip())

    def paint(self, p: QtGui.QPainter, opt: QtWidgets.QStyleOptionGraphicsItem,
              widget: QtWidgets.QWidget | None = None) -> None:
        super().paint(p, opt, widget)
        view = self.linkedView()
        if self._tag_value is None or view is None:
            self.tag_rect = QtCore.QRectF()
            return
        strip = self._strip()
        y_scene = view.mapViewToScene(QtCore.QPointF(0.0, self._tag_value)).y()
        y = self.mapFromScene(QtCore.QPointF(0.0, y_scene)).y()
        font = self.style["tickFont"] or p.font()
        p.setFont(font)
        fm = QtGui.QFontMetricsF(font)
        h = fm.height() + 2 * TAG_PAD_Y
        top, bottom = strip.top() + h / 2, strip.bottom() - h / 2
        self.tag_edge = 1 if y < top else -1 if y > bottom else 0
        y = min(max(y, top), bottom)
        rect = QtCore.QRectF(strip.left(), y - h / 2, strip.width(), h)
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        p.setBrush(self._tag_fill)
        p.drawRect(rect)
        text_left = rect.left() + TAG_PAD_X
        if self.tag_edge:
            # A triangle pointing off the view: the last price is up there / down there.
            a = h / 2 - TAG_PAD_Y
            cx, cy = text_left + a / 2, y
            d = -1.0 if self.tag_edge > 0 else 1.0
            tri = QtGui.QPolygonF([QtCore.QPointF(cx - a / 2, cy - d * a / 2),
                                   QtCore.QPointF(cx + a / 2, cy - d * a / 2),
                                   QtCore.QPointF(cx, cy + d * a / 2)])
            p.setBrush(self._tag_text)
            p.drawPolygon(tri)
            text_left += a + 2
        p.setPen(self._tag_text)
        p.drawText(QtCore.QRectF(text_left, rect.top(), rect.right() - text_left, h),
                   int(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter),
                   price_text(self._tag_value))
        self.tag_rect = rect
        self.tag_paints += 1
