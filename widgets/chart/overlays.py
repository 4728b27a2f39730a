"""Price overlays: labelled horizontal lines and shaded zones that run to the right edge."""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from core.errors import InputError

LINE_STYLES: dict[str, QtCore.Qt.PenStyle] = {
    "solid": QtCore.Qt.PenStyle.SolidLine,
    "dash": QtCore.Qt.PenStyle.DashLine,
    "dot": QtCore.Qt.PenStyle.DotLine,
    "dashdot": QtCore.Qt.PenStyle.DashDotLine,
}


def check_color(color: str, field: str = "color") -> QtGui.QColor:
    qc = QtGui.QColor(color) if isinstance(color, str) else QtGui.QColor()
    if not qc.isValid():
        raise InputError(field, f"not a colour: {color!r} (use a name or '#rrggbb')")
    return qc


def make_pen(color: str, width: float = 1.0, style: str = "solid") -> QtGui.QPen:
    if style not in LINE_STYLES:
        raise InputError("style", f"unknown line style {style!r}; use one of {', '.join(LINE_STYLES)}")
    if not width > 0:
        raise InputError("width", f"must be > 0, got {width!r}")
    pen = pg.mkPen(check_color(color), width=width)
    pen.setStyle(LINE_STYLES[style])
    return pen


def price_line(price: float, text: str, color: str, style: str = "dash", z: float = 8.0,
               fill: str | None = None, text_color: str | None = None,
               position: float = 0.02) -> pg.InfiniteLine:
    """A horizontal line across the plot with a label that stays inside the view."""
    safe = text.replace("{", "{{").replace("}", "}}")  # InfLineLabel formats with str.format
    anchor = (1.0, 1.0) if position > 0.5 else (0.0, 1.0)
    opts: dict[str, object] = {"position": position, "color": text_color or color,
                               "anchors": [anchor, anchor], "movable": False}
    if fill is not None:
        opts["fill"] = fill
    line = pg.InfiniteLine(pos=price, angle=0, movable=False, pen=make_pen(color, 1.0, style),
                           label=safe, labelOpts=opts)
    line.setZValue(z)
    return line


@dataclass(frozen=True, slots=True)
class Zone:
    low: float
    high: float
    label: str
    color: str
    start: int = 0  # bar index where the zone begins; it runs to the right edge of the view


class ZonesItem(pg.GraphicsObject):
    """Shaded price rectangles from a start bar to the right edge of the view, with labels."""

    def __init__(self, alpha: int = 40) -> None:
        super().__init__()
        self._zones: list[Zone] = []
        self._alpha = alpha
        self._labels: list[pg.TextItem] = []
        self.setZValue(-10)

    @property
    def zones(self) -> list[Zone]:
        return list(self._zones)

    def set_alpha(self, alpha: int) -> None:
        self._alpha = alpha
        self.update()

    def set_zones(self, zones: list[Zone]) -> None:
        for t in self._labels:
            t.setParentItem(None)
            if t.scene() is not None:
                t.scene().removeItem(t)
        self.prepareGeometryChange()
        self._zones = list(zones)
        self._labels = []
        for z in self._zones:
            t = pg.TextItem(z.label, color=z.color, anchor=(0, 1))
            t.setParentItem(self)
            t.setPos(z.start - 0.5, max(z.low, z.high))
            self._labels.append(t)
        self.update()

    def _right_edge(self) -> float:
        vb = self.getViewBox()
        if vb is None:
            return max((z.start for z in self._zones), default=0) + 1.0
        return float(vb.viewRange()[0][1])

    def viewRangeChanged(self) -> None:
        # The rectangles end at the view's right edge, so the bounds follow the view.
        self.prepareGeometryChange()

    def boundingRect(self) -> QtCore.QRectF:
        if not self._zones:
            return QtCore.QRectF()
        left = min(z.start for z in self._zones) - 0.5
        lo = min(min(z.low, z.high) for z in self._zones)
        hi = max(max(z.low, z.high) for z in self._zones)
        return QtCore.QRectF(left, lo, max(0.0, self._right_edge() - left), hi - lo)

    def paint(self, p: QtGui.QPainter, opt: QtWidgets.QStyleOptionGraphicsItem,
              widget: QtWidgets.QWidget | None = None) -> None:
        right = self._right_edge()
        for z in self._zones:
            left = z.start - 0.5
            if right <= left:
                continue
            fill = QtGui.QColor(z.color)
            fill.setAlpha(self._alpha)
            p.setPen(pg.mkPen(z.color))
            p.setBrush(fill)
            lo, hi = min(z.low, z.high), max(z.low, z.high)
            p.drawRect(QtCore.QRectF(left, lo, right - left, hi - lo))
