"""Indicator lines (VWAP, EMAs, anchored VWAPs) as chunk-cached paths, like the candles.

A pyqtgraph PlotDataItem with clipToView re-sliced its data, rebuilt its path and recomputed its
pixel-padded bounds on every x- AND y-range change (a pan fires both): with ten lines that was the
largest share of a pan frame (bench/bench_chart_paint.py). This item builds one QPainterPath per
`CHUNK` bars once, keeps data bounds that do not depend on the view, and paints only the chunks in
view. Zoomed out past `LOD_PX_PER_BAR`, one min–max pair per pixel column replaces the points
(what pyqtgraph's peak downsampling did), cached until the visible range or width changes.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from widgets.chart.items import CHUNK, column_bounds, visible_slice

LOD_PX_PER_BAR = 0.2   # below this (more than 5 bars per pixel) the line is drawn per pixel column


def _wide(pen: QtGui.QPen) -> bool:
    """A solid cosmetic pen wider than 1 px: Qt strokes it with its general (slow) stroker."""
    return pen.isCosmetic() and pen.widthF() > 1.0 and pen.style() == QtCore.Qt.PenStyle.SolidLine


class LineItem(pg.GraphicsObject):
    """One overlay line. `getData()` and `opts["pen"]` read like a PlotDataItem's."""

    def __init__(self, pen: QtGui.QPen) -> None:
        super().__init__()
        self.opts: dict[str, object] = {"pen": pen}
        self._values = np.empty(0)           # one value per bar (NaN = none), for the LOD
        self._x = np.empty(0)
        self._y = np.empty(0)
        self._chunks: dict[int, QtGui.QPainterPath] = {}
        self._lod: tuple[tuple[int, int, int], QtGui.QPainterPath] | None = None
        self._bounds = QtCore.QRectF()
        self._outlines: dict[int, QtGui.QPainterPath] = {}   # wide pens: device-pixel strokes per chunk
        self._outline_tr: QtGui.QTransform | None = None      # the transform they were made for
        self.chunk_builds = 0                # tests read it: a pan builds nothing new
        self.setAcceptedMouseButtons(QtCore.Qt.MouseButton.NoButton)

    def set_data(self, values: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
        """Bar-aligned `values` and the points drawn: x, y with a NaN point at each break."""
        self.prepareGeometryChange()
        self._values, self._x, self._y = values, x, y
        self._chunks.clear()
        self._lod = None
        self._outlines, self._outline_tr = {}, None
        fin = np.isfinite(y)
        if fin.any():
            lo, hi = float(y[fin].min()), float(y[fin].max())
            # Padded so a flat line has a height (Qt culls empty rects) and the pen stays inside.
            pad = max((hi - lo) * 0.02, abs(hi) * 1e-6, 1e-9)
            x0, x1 = float(x[fin].min()), float(x[fin].max())
            self._bounds = QtCore.QRectF(x0 - 1.0, lo - pad, x1 - x0 + 2.0, hi - lo + 2 * pad)
        else:
            self._bounds = QtCore.QRectF()
        self.update()

    def getData(self) -> tuple[np.ndarray, np.ndarray]:
        return self._x, self._y

    def setPen(self, pen: QtGui.QPen) -> None:
        self.opts["pen"] = pen
        self._outlines, self._outline_tr = {}, None
        self.update()

    def boundingRect(self) -> QtCore.QRectF:
        return QtCore.QRectF(self._bounds)

    def _chunk(self, k: int) -> QtGui.QPainterPath:
        path = self._chunks.get(k)
        if path is None:
            # Bars [k*CHUNK, (k+1)*CHUNK] inclusive: the shared last point joins the next chunk.
            p0 = int(np.searchsorted(self._x, k * CHUNK - 0.5, "left"))
            p1 = int(np.searchsorted(self._x, (k + 1) * CHUNK, "right"))
            path = pg.arrayToQPath(self._x[p0:p1], self._y[p0:p1], connect="finite")
            self._chunks[k] = path
            self.chunk_builds += 1
        return path

    def paint(self, p: QtGui.QPainter, opt: QtWidgets.QStyleOptionGraphicsItem,
              widget: QtWidgets.QWidget | None = None) -> None:
        n = len(self._values)
        vb = self.getViewBox()
        if n == 0 or vb is None:
            return
        (x0, x1), _ = vb.viewRange()
        i0, i1 = visible_slice(x0, x1, n)
        i0, i1 = max(0, i0 - 1), min(n, i1 + 1)   # the segments entering and leaving the view
        if i1 <= i0:
            return
        pen = self.opts["pen"]
        px_per_bar = vb.width() / max(x1 - x0, 1e-9)
        tr = p.transform()
        outlines: list[QtGui.QPainterPath] | None = None
        if px_per_bar < LOD_PX_PER_BAR:
            paths = [self._lod_path(i0, i1, math.ceil((i1 - i0) * px_per_bar))]
        else:
            ks = range(i0 // CHUNK, (i1 - 1) // CHUNK + 1)
            paths = [self._chunk(k) for k in ks]
            if _wide(pen):
                outlines = self._outlines_at(ks, tr, pen)
        # A live tick repaints a region of several rects (the candle strip, the last-price strip,
        # the axis): Qt strokes a path ~20x slower against such a clip than against one rect, so
        # the path is then drawn once per rect it crosses, each time clipped to that rect alone.
        rects = self._clip_rects(p)
        p.save()
        p.setPen(pen)
        p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        for rect in rects if rects is not None else [None]:
            p.resetTransform()
            if rect is not None:
                p.setClipRect(rect)
            if outlines is not None:
                for outline in outlines:
                    p.fillPath(outline, pen.brush())
                continue
            p.setTransform(tr)
            for path in paths:
                p.drawPath(path)
        p.restore()

    def _outlines_at(self, ks: range, tr: QtGui.QTransform, pen: QtGui.QPen) -> list[QtGui.QPainterPath]:
        """A wide pen's stroke of each chunk as a filled outline in device pixels, kept while the
        view's transform stays (a tick, a repaint): Qt's stroker for widths above 1 px costs ~0.3 ms
        per 256-point chunk, filling the kept outline ~0.18 ms, with the same pixels."""
        if self._outline_tr is None or self._outline_tr != tr:
            self._outlines, self._outline_tr = {}, QtGui.QTransform(tr)
        stroker = None
        out = {}
        for k in ks:
            outline = self._outlines.get(k)
            if outline is None:
                stroker = stroker or QtGui.QPainterPathStroker(pen)
                outline = stroker.createStroke(tr.map(self._chunk(k)))
            out[k] = outline
        self._outlines = out   # only the chunks in view are kept
        return list(out.values())

    def _clip_rects(self, p: QtGui.QPainter) -> list[QtCore.QRect] | None:
        """The device rects of a multi-rect clip that the line's bounds cross; None for a plain clip."""
        if not p.hasClipping():
            return None
        tr = p.transform()
        p.save()
        p.resetTransform()
        region = p.clipRegion()
        p.restore()
        if region.rectCount() <= 1:
            return None
        mine = tr.mapRect(self._bounds).toAlignedRect().adjusted(-2, -2, 2, 2)
        return [r for r in region if r.intersects(mine)]

    def _lod_path(self, i0: int, i1: int, columns: int) -> QtGui.QPainterPath:
        key = (i0, i1, columns)
        if self._lod is not None and self._lod[0] == key:
            return self._lod[1]
        starts = column_bounds(i0, i1, columns)
        seg = self._values[i0:i1]
        ends = np.append(starts[1:], i1)
        with np.errstate(invalid="ignore"):
            lo = np.fmin.reduceat(seg, starts - i0)
            hi = np.fmax.reduceat(seg, starts - i0)
        xc = (starts + ends - 1) * 0.5
        xs = np.repeat(xc.astype(np.float64), 2)
        ys = np.column_stack([lo, hi]).ravel()
        path = pg.arrayToQPath(xs, ys, connect="finite")
        self._lod = (key, path)
        return path
