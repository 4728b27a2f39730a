"""The chart's x-range rules: how far the trader may zoom and pan, and where the wheel zooms.

TradingView's behaviour, which traders expect: the view can't be dragged into emptiness (at most
about half the screen stays empty beyond either end of the data), zooming out stops a little past
the whole history, and while the live bar is on screen the wheel zooms around it instead of the
cursor, so zooming never pushes the live bar away.
"""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from pyqtgraph import functions as fn
from pyqtgraph.Point import Point
from PySide6 import QtWidgets

MIN_X_RANGE = 5.0          # bars; zooming in further is refused
MAX_EMPTY_FRACTION = 0.5   # at most this share of the view may lie beyond the first/last bar
MIN_EMPTY_BARS = 3.0       # ... but a few empty bars are always allowed (the live bar's margin)
ZOOM_OUT_MARGIN = 0.1      # zooming out stops at the whole history plus this share


def clamp_x_range(x0: float, x1: float, n: int) -> tuple[float, float]:
    """The allowed view nearest to [x0, x1] over bars 0..n-1 (bar i is centred on x = i)."""
    if n <= 0:
        return x0, x1
    widest = max_width(n)
    if x1 - x0 >= widest:   # zoomed all the way out: the whole history, live bar at the right
        x1 = n - 1 + MIN_EMPTY_BARS
        return x1 - widest, x1
    width = max(x1 - x0, MIN_X_RANGE)
    if width != x1 - x0:   # zoom-in limit hit: keep the right edge where the user had it
        x0 = x1 - width
    gap = max(MIN_EMPTY_BARS, MAX_EMPTY_FRACTION * width)
    right_max = n - 0.5 + gap           # the last bar's right edge plus the allowed gap
    left_min = -0.5 - gap
    if x1 > right_max:
        x0, x1 = right_max - width, right_max
    if x0 < left_min:
        x0, x1 = left_min, left_min + width
        x1 = min(x1, right_max)
    return x0, x1


def max_width(n: int) -> float:
    """Widest view allowed for n bars: all of them plus a small margin."""
    return max(MIN_X_RANGE, n * (1.0 + ZOOM_OUT_MARGIN) + MIN_EMPTY_BARS)


class ChartViewBox(pg.ViewBox):
    """A ViewBox whose wheel zoom centre can be moved (onto the live bar) by the chart."""

    def __init__(self) -> None:
        super().__init__()
        # Given the x under the cursor, returns the x to zoom around; None: zoom around the cursor.
        self.zoom_anchor: Callable[[float], float] | None = None

    def wheelEvent(self, ev: QtWidgets.QGraphicsSceneWheelEvent, axis: int | None = None) -> None:
        mask = list(self.state["mouseEnabled"])
        if axis in (0, 1):
            mask = [i == axis and m for i, m in enumerate(mask)]
        if not any(mask):
            ev.ignore()
            return
        s = 1.02 ** (ev.delta() * self.state["wheelScaleFactor"])
        scale = [s if m else None for m in mask]
        center = Point(fn.invertQTransform(self.childGroup.transform()).map(ev.pos()))
        if self.zoom_anchor is not None:
            center = Point(self.zoom_anchor(center.x()), center.y())
        self._resetTarget()
        self.scaleBy(scale, center)
        ev.accept()
        self.sigRangeChangedManually.emit(mask)
