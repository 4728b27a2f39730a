"""Shaded rectangles (zones, fair value gaps, drawn rectangles) and the volume profile histogram."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets


@dataclass(frozen=True, slots=True)
class Box:
    x0: float
    x1: float | None     # None: runs to the right edge of the view
    low: float
    high: float
    color: str
    alpha: int           # 0..255 fill
    label: str = ""


class BoxesItem(pg.GraphicsObject):
    """Rectangles in data coordinates, one paint call each; bounds follow the view for open boxes."""

    def __init__(self, z: float = -8) -> None:
        super().__init__()
        self._boxes: list[Box] = []
        self._styles: list[tuple[QtGui.QPen, QtGui.QBrush, float]] = []   # per box: edge, fill, label width
        self._label_room = 0.0   # a label's height in data units at the current view (bounds)
        self._extent = (0.0, 0.0, 0.0, 0.0)   # left, low, high, right of the closed boxes (once per set)
        self._texts: list[QtGui.QStaticText | None] = []   # labels laid out once per set
        self._right_seen: float | None = None
        self._font = QtGui.QFont()
        self._metrics = QtGui.QFontMetricsF(self._font)
        self.setZValue(z)

    @property
    def boxes(self) -> list[Box]:
        return list(self._boxes)

    def set_boxes(self, boxes: list[Box]) -> None:
        if list(boxes) == self._boxes:
            return   # a refresh with the same zones: nothing repainted
        self.prepareGeometryChange()
        self._boxes = list(boxes)
        # Pens, brushes and label widths once per set, not on every paint.
        self._styles = []
        for b in self._boxes:
            edge, fill = QtGui.QColor(b.color), QtGui.QColor(b.color)
            edge.setAlpha(min(255, b.alpha * 3))
            fill.setAlpha(b.alpha)
            self._styles.append((pg.mkPen(edge), QtGui.QBrush(fill), self._metrics.horizontalAdvance(b.label)))
        self._texts = []
        for b in self._boxes:
            st = None
            if b.label:
                st = QtGui.QStaticText(b.label)
                st.setTextFormat(QtCore.Qt.TextFormat.PlainText)
                st.prepare(QtGui.QTransform(), self._font)
            self._texts.append(st)
        if self._boxes:
            self._extent = (min(b.x0 for b in self._boxes),
                            min(min(b.low, b.high) for b in self._boxes),
                            max(max(b.low, b.high) for b in self._boxes),
                            max((b.x1 for b in self._boxes if b.x1 is not None), default=-np.inf))
        self._right_seen = None
        self.update()

    def _right(self) -> float:
        vb = self.getViewBox()
        # getViewBox() is the GraphicsView while the item is being added to the scene.
        return float(vb.viewRange()[0][1]) if isinstance(vb, pg.ViewBox) else 0.0

    def viewRangeChanged(self) -> None:
        # Open boxes run to the view's right edge: the bounds change only when that edge moves.
        right = self._right()
        if right != self._right_seen:
            self.prepareGeometryChange()
            self._right_seen = right

    def boundingRect(self) -> QtCore.QRectF:
        if not self._boxes:
            return QtCore.QRectF()
        x0, lo, hi, closed_right = self._extent
        x1 = max(self._right(), closed_right) if any(b.x1 is None for b in self._boxes) else closed_right
        hi += self._label_room
        return QtCore.QRectF(x0, lo, max(0.0, x1 - x0), hi - lo)

    def paint(self, p: QtGui.QPainter, opt: QtWidgets.QStyleOptionGraphicsItem,
              widget: QtWidgets.QWidget | None = None) -> None:
        right = self._right()
        labels = []
        for b, (pen, brush, _width), text in zip(self._boxes, self._styles, self._texts, strict=True):
            x1 = right if b.x1 is None else b.x1
            if x1 <= b.x0:
                continue
            p.setPen(pen)
            p.setBrush(brush)
            lo, hi = min(b.low, b.high), max(b.low, b.high)
            p.drawRect(QtCore.QRectF(b.x0, lo, x1 - b.x0, hi - lo))
            if text is not None:
                labels.append((b, pen, text))
        if labels:
            # Labels in device pixels, bottom-left on the box's top-left corner: one pass, instead
            # of a TextItem per box re-placing itself on every view change.
            tr = p.transform()
            p.save()
            p.resetTransform()
            p.setFont(self._font)
            h = self._metrics.height()
            for b, pen, text in labels:
                at = tr.map(QtCore.QPointF(b.x0, max(b.low, b.high)))
                color = QtGui.QColor(pen.color())
                color.setAlpha(255)
                p.setPen(color)
                p.drawStaticText(QtCore.QPointF(at.x() + 2, at.y() - h - 1), text)
            p.restore()


class VolumeProfileItem(pg.GraphicsObject):
    """Volume at price as horizontal bars along the right quarter of the view; the value area
    brighter than the rest."""

    WIDTH = 0.22   # fraction of the view width the longest bar takes

    def __init__(self) -> None:
        super().__init__()
        self._edges = np.empty(0)
        self._volume = np.empty(0)
        self._val = self._vah = 0.0
        self._color = "#888888"
        self._rects: tuple[list[QtCore.QRectF], list[QtCore.QRectF]] = ([], [])   # value area, the rest
        self._brushes = (QtGui.QBrush(), QtGui.QBrush())
        self.setZValue(-9)

    def set_profile(self, edges: np.ndarray, volume: np.ndarray, val: float, vah: float, color: str) -> None:
        if (float(val), float(vah), color) == (self._val, self._vah, self._color) \
                and np.array_equal(edges, self._edges) and np.array_equal(volume, self._volume):
            return   # the same profile again (a refresh after a bar that did not change it)
        self.prepareGeometryChange()
        self._edges, self._volume = np.asarray(edges, float), np.asarray(volume, float)
        self._val, self._vah, self._color = float(val), float(vah), color
        self._build_paths()
        self.update()

    def _build_paths(self) -> None:
        """The bars as two rect lists (value area, the rest) with x as a fraction of the longest bar,
        from -1 to 0 at the right edge: a paint only scales them to the view (no per-bar Python).
        drawRects of plain rects is ~3x faster than filling the same rects as one path."""
        self._rects: tuple[list[QtCore.QRectF], list[QtCore.QRectF]] = ([], [])
        vmax = float(self._volume.max()) if len(self._volume) else 0.0
        if vmax <= 0:
            return
        for k, vol in enumerate(self._volume):
            lo, hi = float(self._edges[k]), float(self._edges[k + 1])
            w = float(vol) / vmax
            inside = lo >= self._val - 1e-9 and hi <= self._vah + 1e-9
            self._rects[0 if inside else 1].append(QtCore.QRectF(-w, lo, w, (hi - lo) * 0.9))
        inside, outside = QtGui.QColor(self._color), QtGui.QColor(self._color)
        inside.setAlpha(110)
        outside.setAlpha(45)
        self._brushes = (QtGui.QBrush(inside), QtGui.QBrush(outside))

    def clear(self) -> None:
        self.set_profile(np.empty(0), np.empty(0), 0.0, 0.0, self._color)

    def has_profile(self) -> bool:
        return len(self._volume) > 0

    def viewRangeChanged(self) -> None:
        self.prepareGeometryChange()

    def boundingRect(self) -> QtCore.QRectF:
        vb = self.getViewBox()
        if vb is None or not len(self._volume):
            return QtCore.QRectF()
        (x0, x1), _ = vb.viewRange()
        return QtCore.QRectF(x1 - (x1 - x0) * self.WIDTH, self._edges[0], (x1 - x0) * self.WIDTH,
                             self._edges[-1] - self._edges[0])

    def paint(self, p: QtGui.QPainter, opt: QtWidgets.QStyleOptionGraphicsItem,
              widget: QtWidgets.QWidget | None = None) -> None:
        vb = self.getViewBox()
        if vb is None or not (self._rects[0] or self._rects[1]):
            return
        (x0, x1), _ = vb.viewRange()
        p.save()
        p.translate(x1, 0.0)
        p.scale((x1 - x0) * self.WIDTH, 1.0)
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        for rects, brush in zip(self._rects, self._brushes, strict=True):
            if rects:
                p.setBrush(brush)
                p.drawRects(rects)
        p.restore()
