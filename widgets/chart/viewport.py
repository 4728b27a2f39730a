"""The chart's view: which bars are in view, the x-range limits, following the live edge, the
"back to real time" button, the folded volume pane, and the y-fit to the visible bars and lines.
A mixin of ChartWidget (widget.py), which owns the plots and the bar store it reads."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui

from widgets.chart.view import MIN_X_RANGE, clamp_x_range

Y_MARGIN = 0.05          # fraction of the visible high-low range added above and below
VOLUME_HEADROOM = 1.1    # volume plot top = visible max volume * this
RIGHT_PAD = 3.0          # empty bars kept right of the last bar when following
TIME_AXIS_HEIGHT = 26
NO_VOLUME_STRIP = 4      # px of volume pane left above the time axis for a symbol without volume


class ChartViewport:
    """View-range, live-edge and y-fit methods of ChartWidget."""

    def _view_width(self) -> float:
        (x0, x1), _ = self._price.getViewBox().viewRange()
        return x1 - x0

    def _last_bar_in_view(self) -> bool:
        n = len(self._store)
        (x0, x1), _ = self._price.getViewBox().viewRange()
        return n > 0 and x0 - 0.5 <= n - 1 <= x1 + 0.5

    def _show_right_edge(self, width: float) -> None:
        n = len(self._store)
        width = max(MIN_X_RANGE, width)
        right = n - 1 + RIGHT_PAD
        self._price.getViewBox().setXRange(right - width, right, padding=0)

    def _ts_at(self, x: float) -> int:
        n = len(self._store)
        i = min(max(round(x), 0), n - 1)
        return int(self._store.ts[i])

    def _show_time_window(self, t0: int, t1: int) -> None:
        ts = self._store.ts
        i0 = int(np.searchsorted(ts, t0, "left"))
        i1 = int(np.searchsorted(ts, t1, "left"))
        i1 = min(max(i1, i0 + int(MIN_X_RANGE)), len(ts) - 1)
        self._price.getViewBox().setXRange(min(i0, i1 - MIN_X_RANGE), i1, padding=0)

    def _on_x_range_changed(self, *_: object) -> None:
        if self._clamp_x():
            return  # the clamped range fired its own signal, which did the rest
        self._autoscale_y()
        self._after_view_change()
        self.visible_range_changed.emit(*self.visible_range())

    def _clamp_x(self) -> bool:
        """Pull a zoom or pan that went past the limits (view.clamp_x_range) back; True if moved."""
        if self._in_clamp:
            return False
        vb = self._price.getViewBox()
        (x0, x1), _ = vb.viewRange()
        c0, c1 = clamp_x_range(x0, x1, len(self._store))
        if abs(c0 - x0) < 1e-9 and abs(c1 - x1) < 1e-9:
            return False
        self._in_clamp = True
        try:
            vb.setXRange(c0, c1, padding=0)
        finally:
            self._in_clamp = False
        return True

    def _zoom_anchor(self, x: float) -> float:
        """Wheel zoom centre: the live bar while it is in view (so it stays put), else the cursor."""
        n = len(self._store)
        return float(n - 1) if n and self._follow_live and self._last_bar_in_view() else x

    def _after_view_change(self) -> None:
        n = len(self._store)
        lost = n > 0 and not self._last_bar_in_view()
        if lost != self._realtime_button.isVisible():
            self._realtime_button.setVisible(lost)
        if lost:
            self._place_realtime_button()
        self._refresh_hover()

    def _place_realtime_button(self) -> None:
        rect = self._price.getViewBox().sceneBoundingRect()
        corner = self._glw.mapFromScene(rect.bottomRight())
        corner = self._glw.viewport().mapTo(self, corner)
        b = self._realtime_button
        b.move(corner.x() - b.width() - 6, corner.y() - b.height() - 6)
        b.raise_()

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._realtime_button.isVisible():
            QtCore.QTimer.singleShot(0, self._place_realtime_button)  # after the layout settles

    def _show_volume(self, shown: bool) -> None:
        """Fold the volume pane down to the time axis for a series without volume: an empty pane
        with '0 0 1 1' ticks only looks like a broken feed."""
        if shown == self._volume_shown:
            return
        self._volume_shown = shown
        axis = self._volume.getAxis("right")
        axis.setStyle(showValues=shown)
        self._volume_bars.setVisible(shown)
        self._glw.ci.layout.setRowStretchFactor(1, 1 if shown else 0)
        self._volume.setMaximumHeight(16_777_215 if shown else TIME_AXIS_HEIGHT + NO_VOLUME_STRIP)
        self._glw.ci.layout.activate()   # now, so pixel mappings read right before the next event

    def _autoscale_y(self, grow_only: bool = False) -> None:
        """Fit y to the visible bars' low..high and the visible part of overlay lines.

        grow_only (live ticks): leave a range that still holds everything alone, so a tick
        inside the range repaints one bar instead of rescaling (and repainting) both plots.
        """
        n = len(self._store)
        if self._in_autoscale or n == 0:
            return
        i0, i1 = self.visible_range()
        if i1 <= i0:
            return
        s = self._store
        lo = float(s.low[i0:i1].min())
        hi = float(s.high[i0:i1].max())
        for values, item in self._lines.values():
            if not item.isVisible():
                continue   # a hidden overlay group (anchored VWAPs off) does not move the fit
            seg = values[i0:i1]
            seg = seg[np.isfinite(seg)]
            if len(seg):
                lo, hi = min(lo, float(seg.min())), max(hi, float(seg.max()))
        view = self._plan.view
        if view is not None:   # the plan's levels stay in view: they are what the trader acts on
            prices = [view.entry, view.stop, *view.targets]
            lo, hi = min(lo, *prices), max(hi, *prices)
        span = hi - lo
        pad = span * Y_MARGIN if span > 0 else max(abs(hi) * 1e-3, 1e-6)
        vmax = float(s.volume[i0:i1].max())
        pvb, vvb = self._price.getViewBox(), self._volume.getViewBox()
        (y0, y1), (_, v1) = pvb.viewRange()[1], vvb.viewRange()[1]
        self._in_autoscale = True
        try:
            if not (grow_only and y0 <= lo - pad and hi + pad <= y1):
                pvb.setYRange(lo - pad, hi + pad, padding=0)
            if not (grow_only and max(vmax, 1.0) <= v1):
                vvb.setYRange(0.0, max(vmax, 1.0) * VOLUME_HEADROOM, padding=0)
        finally:
            self._in_autoscale = False

