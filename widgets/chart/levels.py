"""Read-only horizontal levels (key levels, liquidity pools, POC/VAH/VAL) drawn by ONE item.

One pyqtgraph InfiniteLine + InfLineLabel per level recomputed its bounds and its label's view
transform on every paint and every view change (GraphicsView.paintEvent → boundingRect →
viewRect → invertQTransform), and every refresh rebuilt them: with ~15 levels that was most of
the GUI thread's paint time. This item paints all lines and labels of a group in one call, in
device pixels (labels stay upright and inside the view), and ignores a refresh with the same
levels. The draggable plan lines stay InfiniteLines (plan_lines.py): there are few of them."""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from widgets.chart.overlays import LINE_STYLES, check_color

LABEL_PAD = 2.0   # px between a line and its label
FILL_PAD = 3.0    # px of a filled label's box left and right of its text


@dataclass(frozen=True, slots=True)
class Level:
    price: float
    text: str
    color: str
    style: str = "dash"              # a LINE_STYLES key
    position: float = 0.02           # label's place across the view, 0 = left edge, 1 = right edge
    text_color: str | None = None
    fill: str | None = None          # a filled label box (the plan's labels)
    line: bool = True                # False: the label only (the plan's lines are InfiniteLines)


class LevelLine:
    """One level of a LevelsItem, with the InfiniteLine methods tests and the window read."""

    def __init__(self, layer: LevelsItem, level: Level) -> None:
        self._layer, self.level = layer, level

    def value(self) -> float:
        return self.level.price

    def label_text(self) -> str:
        return self.level.text

    def isVisible(self) -> bool:
        return self._layer.isVisible()


class ViewWideItem(pg.GraphicsObject):
    """An item across the whole view: bounds = the view rect, re-read once per range change (not
    recomputed on every paint as InfiniteLine and LinearRegionItem do). Clicks go to the plot."""

    def __init__(self, z: float) -> None:
        super().__init__()
        self._view = QtCore.QRectF()
        self.setZValue(z)
        self.setAcceptedMouseButtons(QtCore.Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)

    def _empty(self) -> bool:
        raise NotImplementedError

    def viewRangeChanged(self) -> None:
        vb = self.getViewBox()
        rect = vb.viewRect() if vb is not None else QtCore.QRectF()
        if rect != self._view:
            self.prepareGeometryChange()
            self._view = QtCore.QRectF(rect)

    def boundingRect(self) -> QtCore.QRectF:
        if self._empty():
            return QtCore.QRectF()
        if self._view.isNull():
            self.viewRangeChanged()
        return self._view


class BandsItem(ViewWideItem):
    """Shaded horizontal bands (low, high, fill) across the view: the plan's risk and reward."""

    def __init__(self, z: float = -5.0) -> None:
        super().__init__(z)
        self._bands: list[tuple[float, float, QtGui.QBrush]] = []

    def _empty(self) -> bool:
        return not self._bands

    def set_bands(self, bands: list[tuple[float, float, QtGui.QBrush]]) -> None:
        self._bands = [(min(a, b), max(a, b), brush) for a, b, brush in bands]
        self.update()

    def regions(self) -> list[tuple[float, float]]:
        return [(lo, hi) for lo, hi, _b in self._bands]

    def paint(self, p: QtGui.QPainter, opt: QtWidgets.QStyleOptionGraphicsItem,
              widget: QtWidgets.QWidget | None = None) -> None:
        if self._view.isNull():
            return
        left, width = self._view.left(), self._view.width()
        for lo, hi, brush in self._bands:
            p.fillRect(QtCore.QRectF(left, lo, width, hi - lo), brush)


class LevelsItem(ViewWideItem):
    """Labelled horizontal lines across the whole view; bounds = the view rect (cached per range)."""

    def __init__(self, z: float = 8.0) -> None:
        super().__init__(z)
        self._levels: tuple[Level, ...] = ()
        self._pens: list[QtGui.QPen] = []
        self._text_colors: list[QtGui.QColor] = []
        self._fills: list[QtGui.QColor | None] = []
        self._texts: list[QtGui.QStaticText] = []   # laid out once per set, not on every paint
        self._widths: list[float] = []   # label widths in px, measured once per set
        self._font = QtGui.QFont()
        self._metrics = QtGui.QFontMetricsF(self._font)

    def _empty(self) -> bool:
        return not self._levels

    @property
    def levels(self) -> tuple[Level, ...]:
        return self._levels

    def set_levels(self, levels: list[Level] | tuple[Level, ...]) -> bool:
        """Replace the levels; False (and nothing repainted) when they are the ones shown."""
        new = tuple(levels)
        if new == self._levels:
            return False
        pens, colors, fills = [], [], []
        for k, lv in enumerate(new):
            pen = QtGui.QPen(check_color(lv.color, f"levels[{k}].color"))
            pen.setCosmetic(True)
            pen.setStyle(LINE_STYLES[lv.style])
            pens.append(pen)
            colors.append(check_color(lv.text_color or lv.color, f"levels[{k}].text_color"))
            fills.append(None if lv.fill is None else check_color(lv.fill, f"levels[{k}].fill"))
        self._levels, self._pens, self._text_colors, self._fills = new, pens, colors, fills
        self._widths = [self._metrics.horizontalAdvance(lv.text) for lv in new]
        self._texts = []
        for lv in new:
            st = QtGui.QStaticText(lv.text)
            st.setTextFormat(QtCore.Qt.TextFormat.PlainText)
            st.prepare(QtGui.QTransform(), self._font)
            self._texts.append(st)
        self.update()
        return True

    def lines(self) -> list[LevelLine]:
        return [LevelLine(self, lv) for lv in self._levels]

    def paint(self, p: QtGui.QPainter, opt: QtWidgets.QStyleOptionGraphicsItem,
              widget: QtWidgets.QWidget | None = None) -> None:
        if not self._levels or self._view.isNull():
            return
        # Map once to device pixels, then draw there: text upright at its font size, 1-px lines.
        tr = p.transform()
        box = tr.mapRect(self._view).normalized()
        p.save()
        p.resetTransform()
        p.setFont(self._font)
        h = self._metrics.height()
        left = self._view.left()
        for lv, pen, color, fill, text, w in zip(self._levels, self._pens, self._text_colors, self._fills,
                                                self._texts, self._widths, strict=True):
            y = tr.map(QtCore.QPointF(left, lv.price)).y()
            if not box.top() - 0.5 <= y <= box.bottom() + 0.5:
                continue
            if lv.line:
                p.setPen(pen)
                p.drawLine(QtCore.QLineF(box.left(), y, box.right(), y))
            pad = FILL_PAD if fill is not None else 0.0
            x = box.left() + lv.position * box.width()
            x = x - w - pad if lv.position > 0.5 else x + pad   # right half: the label ends at its mark
            x = min(max(x, box.left() + LABEL_PAD + pad), box.right() - w - LABEL_PAD - pad)
            top = y - LABEL_PAD - h                       # above the line, below it at the top edge
            if top < box.top():
                top = y + LABEL_PAD
            if fill is not None:
                p.fillRect(QtCore.QRectF(x - pad, top, w + 2 * pad, h), fill)
            p.setPen(color)
            p.drawStaticText(QtCore.QPointF(x, top), text)
        p.restore()
