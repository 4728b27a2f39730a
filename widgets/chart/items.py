"""Candle and volume graphics items: chunk-cached paths and a min/max level of detail.

x is the bar index (so nights and weekends leave no gaps). Drawing is cached per chunk of
`CHUNK` bars as QPainterPaths built with numpy. The last (live) bar is in no chunk: it is drawn on
its own, so a tick of it rebuilds nothing cached (only its own few-element paths), and a new bar
rebuilds only the chunk the previous live bar joins. Only the chunks in the visible x-range are
painted. When there are fewer than `lod_px_per_bar` pixels per bar, one high-low line per pixel
column replaces the candles (the finplot / vn.py idea: never ask Qt to draw more primitives than there are pixels).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from widgets.chart.store import BarStore

CHUNK = 256            # bars per cached chunk: the last-bar rebuild stays well under a millisecond
BODY_WIDTH = 0.7       # candle/volume body width in bar units


def pairs_path(x: np.ndarray, y0: np.ndarray, y1: np.ndarray) -> QtGui.QPainterPath:
    """Vertical segments (x, y0)-(x, y1) as one path."""
    if not len(x):
        return QtGui.QPainterPath()
    xs = np.repeat(np.asarray(x, dtype=np.float64), 2)
    ys = np.column_stack([y0, y1]).astype(np.float64).ravel()
    return pg.arrayToQPath(xs, ys, connect="pairs", finiteCheck=False)


def rects_path(x: np.ndarray, half: float, y0: np.ndarray, y1: np.ndarray) -> QtGui.QPainterPath:
    """Axis-aligned rectangles centred on x as closed subpaths (filled in one drawPath call)."""
    m = len(x)
    if not m:
        return QtGui.QPainterPath()
    xl, xr = x - half, x + half
    xs = np.column_stack([xl, xr, xr, xl, xl]).ravel()
    ys = np.column_stack([y0, y0, y1, y1, y0]).astype(np.float64).ravel()
    connect = np.ones((m, 5), dtype=np.int32)
    connect[:, 4] = 0  # break after each rectangle
    return pg.arrayToQPath(xs, ys, connect=connect.ravel(), finiteCheck=False)


def visible_slice(x0: float, x1: float, n: int) -> tuple[int, int]:
    """Half-open range of bar indices whose bodies intersect [x0, x1]."""
    i0 = max(0, math.floor(x0 + 0.5))
    i1 = min(n, math.ceil(x1 - 0.5) + 1)
    return i0, max(i0, i1)


def column_bounds(i0: int, i1: int, columns: int) -> np.ndarray:
    """Start indices of pixel columns over bars [i0, i1) (unique, ascending, starting at i0)."""
    cols = max(1, min(columns, i1 - i0))
    starts = i0 + (np.arange(cols, dtype=np.int64) * (i1 - i0)) // cols
    return np.unique(starts)


class _ChunkedBarItem(pg.GraphicsObject):
    """Shared machinery: chunk cache, visible-range painting, LOD switch, bounding rect."""

    def __init__(self, store: BarStore) -> None:
        super().__init__()
        self._store = store
        self._chunks: dict[int, tuple[int, tuple[QtGui.QPainterPath, ...]]] = {}   # k -> (end, paths)
        self._tail: tuple[int, tuple[QtGui.QPainterPath, ...]] | None = None    # the live bar's paths
        self._bounds = QtCore.QRectF()
        self.lod_enabled = True        # the bench turns it off to measure the difference
        self.lod_px_per_bar = 1.0      # LOD below this many pixels per bar
        self.lod_active = False        # what the last paint did (read by tests and the bench)
        self.paint_count = 0
        self.chunk_builds = 0
        self.tail_builds = 0
        self._up_pen = pg.mkPen("#00ff00")
        self._down_pen = pg.mkPen("#ff0000")
        self._up_brush = pg.mkBrush("#00ff00")
        self._down_brush = pg.mkBrush("#ff0000")

    # -- configuration ------------------------------------------------------------------------
    def set_colors(self, up: str, down: str) -> None:
        # Colours are applied at paint time, so the cached paths survive a theme change.
        self._up_pen, self._down_pen = pg.mkPen(up), pg.mkPen(down)
        self._up_brush, self._down_brush = pg.mkBrush(up), pg.mkBrush(down)
        self.update()

    # -- data change notifications ------------------------------------------------------------
    def reset(self) -> None:
        """All bars replaced."""
        self._chunks.clear()
        self._tail = None
        self._refresh_bounds()
        self.update()

    def bars_changed(self, first: int) -> None:
        """Bars from index `first` on changed or were appended: drop only the chunks holding them
        (a tick of the live bar drops none: that bar is drawn on its own)."""
        for k in [k for k, (end, _p) in self._chunks.items() if end > first]:
            del self._chunks[k]
        self._tail = None
        if self._refresh_bounds():
            self.update()
            return
        # Same bounds: only the strip of the changed bars needs repainting (a live tick
        # repaints a few pixel columns, not the whole plot).
        b = self._bounds
        n = len(self._store)
        self.update(QtCore.QRectF(first - 0.5, b.top(), n - first, b.height()))

    def _refresh_bounds(self) -> bool:
        """Recompute the bounding rect; True when it changed."""
        rect = self._data_bounds()
        if rect == self._bounds:
            return False
        self.prepareGeometryChange()
        self._bounds = rect
        return True

    # -- QGraphicsItem ------------------------------------------------------------------------
    def boundingRect(self) -> QtCore.QRectF:
        return QtCore.QRectF(self._bounds)

    def paint(self, p: QtGui.QPainter, opt: QtWidgets.QStyleOptionGraphicsItem,
              widget: QtWidgets.QWidget | None = None) -> None:
        n = len(self._store)
        vb = self.getViewBox()
        if n == 0 or vb is None:
            return
        (x0, x1), _ = vb.viewRange()
        i0, i1 = visible_slice(x0, x1, n)
        if i1 <= i0:
            return
        px_per_bar = vb.width() / max(x1 - x0, 1e-9)
        self.lod_active = self.lod_enabled and px_per_bar < self.lod_px_per_bar
        self.paint_count += 1
        if self.lod_active:
            columns = math.ceil((i1 - i0) * px_per_bar)
            self._paint_lod(p, i0, i1, columns)
            return
        last = n - 1
        for k in range(i0 // CHUNK, (min(i1, last) - 1) // CHUNK + 1):
            lo = k * CHUNK
            end = min(last, lo + CHUNK)   # the live bar is in no chunk
            if end <= lo:
                continue
            cached = self._chunks.get(k)
            if cached is None or cached[0] != end:   # a chunk the previous live bar has joined
                cached = (end, self._build_chunk(lo, end))
                self._chunks[k] = cached
                self.chunk_builds += 1
            self._paint_paths(p, cached[1])
        if i1 > last:
            if self._tail is None or self._tail[0] != last:
                self._tail = (last, self._build_chunk(last, n))
                self.tail_builds += 1
            self._paint_paths(p, self._tail[1])

    # -- subclass hooks -----------------------------------------------------------------------
    def _data_bounds(self) -> QtCore.QRectF:
        raise NotImplementedError

    def _build_chunk(self, lo: int, hi: int) -> tuple[QtGui.QPainterPath, ...]:
        raise NotImplementedError

    def _paint_paths(self, p: QtGui.QPainter, paths: tuple[QtGui.QPainterPath, ...]) -> None:
        raise NotImplementedError

    def _paint_lod(self, p: QtGui.QPainter, i0: int, i1: int, columns: int) -> None:
        raise NotImplementedError

    def _lod_columns(self, i0: int, i1: int, columns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x centre, start, up?) per pixel column; a column is up when its last close >= first open."""
        s = self._store
        starts = column_bounds(i0, i1, columns)
        ends = np.append(starts[1:], i1)
        x = (starts + ends - 1) * 0.5
        up = s.close[ends - 1] >= s.open[starts]
        return x, starts, up


class CandleItem(_ChunkedBarItem):
    """OHLC candles: wick = high-low line, body = open-close rectangle, coloured up/down."""

    def _data_bounds(self) -> QtCore.QRectF:
        s = self._store
        if not len(s):
            return QtCore.QRectF()
        return QtCore.QRectF(-0.5, s.low_min, len(s), s.high_max - s.low_min)

    def _build_chunk(self, lo: int, hi: int) -> tuple[QtGui.QPainterPath, ...]:
        s = self._store
        o, h, lw, c = s.open[lo:hi], s.high[lo:hi], s.low[lo:hi], s.close[lo:hi]
        x = np.arange(lo, hi, dtype=np.float64)
        up = c >= o
        out: list[QtGui.QPainterPath] = []
        for m in (up, ~up):
            out.append(pairs_path(x[m], lw[m], h[m]))
            out.append(rects_path(x[m], BODY_WIDTH / 2, o[m], c[m]))
        return tuple(out)

    def _paint_paths(self, p: QtGui.QPainter, paths: tuple[QtGui.QPainterPath, ...]) -> None:
        wick_up, body_up, wick_down, body_down = paths
        for wick, body, pen, brush in ((wick_up, body_up, self._up_pen, self._up_brush),
                                       (wick_down, body_down, self._down_pen, self._down_brush)):
            p.setPen(pen)
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            p.drawPath(wick)
            p.setBrush(brush)  # the cosmetic outline keeps doji (open == close) visible
            p.drawPath(body)

    def _paint_lod(self, p: QtGui.QPainter, i0: int, i1: int, columns: int) -> None:
        s = self._store
        x, starts, up = self._lod_columns(i0, i1, columns)
        hi = np.maximum.reduceat(s.high[i0:i1], starts - i0)
        lo = np.minimum.reduceat(s.low[i0:i1], starts - i0)
        p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        for m, pen in ((up, self._up_pen), (~up, self._down_pen)):
            p.setPen(pen)
            p.drawPath(pairs_path(x[m], lo[m], hi[m]))


class VolumeItem(_ChunkedBarItem):
    """Volume bars from 0, coloured by the candle's direction."""

    def _data_bounds(self) -> QtCore.QRectF:
        s = self._store
        if not len(s):
            return QtCore.QRectF()
        return QtCore.QRectF(-0.5, 0.0, len(s), max(s.volume_max, 1.0))

    def _build_chunk(self, lo: int, hi: int) -> tuple[QtGui.QPainterPath, ...]:
        s = self._store
        v = s.volume[lo:hi]
        x = np.arange(lo, hi, dtype=np.float64)
        up = s.close[lo:hi] >= s.open[lo:hi]
        zero = np.zeros(hi - lo)
        return (rects_path(x[up], BODY_WIDTH / 2, zero[up], v[up]),
                rects_path(x[~up], BODY_WIDTH / 2, zero[~up], v[~up]))

    def _paint_paths(self, p: QtGui.QPainter, paths: tuple[QtGui.QPainterPath, ...]) -> None:
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        p.setBrush(self._up_brush)
        p.drawPath(paths[0])
        p.setBrush(self._down_brush)
        p.drawPath(paths[1])

    def _paint_lod(self, p: QtGui.QPainter, i0: int, i1: int, columns: int) -> None:
        s = self._store
        x, starts, up = self._lod_columns(i0, i1, columns)
        vmax = np.maximum.reduceat(s.volume[i0:i1], starts - i0)
        zero = np.zeros(len(x))
        p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        for m, pen in ((up, self._up_pen), (~up, self._down_pen)):
            p.setPen(pen)
            p.drawPath(pairs_path(x[m], zero[m], vmax[m]))
