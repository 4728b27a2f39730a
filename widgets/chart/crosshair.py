"""The crosshair and its OHLC + indicator readout in exchange time (a mixin of ChartWidget): follows
the mouse, the hovered bar as it ticks, and interval or symbol changes."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore

from widgets.chart.time_axis import ny_time, session_time
from widgets.chart.volume_axis import short_volume


class ChartCrosshair:
    """Crosshair, hover and readout methods of ChartWidget."""

    # -- crosshair ----------------------------------------------------------------------------
    def _on_mouse_moved(self, pos: QtCore.QPointF) -> None:
        n = len(self._store)
        pvb, vvb = self._price.getViewBox(), self._volume.getViewBox()
        in_price = pvb.sceneBoundingRect().contains(pos)
        in_volume = vvb.sceneBoundingRect().contains(pos)
        if n == 0 or not (in_price or in_volume):
            self._hide_crosshair()
            return
        self._mouse_pos = QtCore.QPointF(pos)
        x = (pvb if in_price else vvb).mapSceneToView(pos).x()
        i = min(max(round(x), 0), n - 1)
        for line in (self._vline, self._vline_vol):
            line.setPos(i)
            line.setVisible(True)
        self._hline.setVisible(in_price)
        if in_price:
            self._hline.setPos(pvb.mapSceneToView(pos).y())
        self._readout = self.format_readout(i)
        self._refresh_label()
        self._draw.hover(x, pvb.mapSceneToView(pos).y())
        if i != self._hovered:
            self.hovered_time.emit(int(self._store.ts[i]))
        self._hovered = i
        self.hovered_bar.emit(i)

    def _refresh_hover(self) -> None:
        """Re-read the bar under a still cursor: the bars, the view or the hovered bar changed."""
        if self._mouse_pos is not None:
            self._on_mouse_moved(self._mouse_pos)

    def hovered_index(self) -> int:
        """Bar index under the crosshair, -1 when the mouse is away."""
        return self._hovered

    def _hide_crosshair(self) -> None:
        self._mouse_pos = None
        self._hovered = -1
        for line in (self._vline, self._hline, self._vline_vol):
            line.setVisible(False)
        if self._readout:
            self._readout = ""
            self._refresh_label()
            self.hovered_bar.emit(-1)
            self.hovered_time.emit(-1)

    def leaveEvent(self, event: QtCore.QEvent) -> None:
        self._hide_crosshair()
        super().leaveEvent(event)

    def format_readout(self, i: int) -> str:
        """'YYYY-MM-DD HH:MM ET  O … H … L … C … V …' for bar i (date only on daily charts)."""
        b = self._store.bar(i)
        t = ny_time(b.ts)
        daily = self._interval is not None and self._interval.is_daily
        when = session_time(t).strftime("%Y-%m-%d") if daily else t.strftime("%Y-%m-%d %H:%M ET")
        digits = 2 if abs(b.close) >= 1 else 4
        f = f"{{:.{digits}f}}"
        vol = f"  V {short_volume(b.volume)}" if self._volume_shown else ""  # an index has none
        values = "".join(f"  {name} {f.format(v[i])}" for name, (v, item) in self._lines.items()
                         if item.isVisible() and i < len(v) and np.isfinite(v[i]))
        return (f"{when}  O {f.format(b.open)}  H {f.format(b.high)}  L {f.format(b.low)}"
                f"  C {f.format(b.close)}{vol}{values}")

    def _refresh_label(self) -> None:
        text = "\n".join(s for s in (self._title, self._readout) if s)
        self._label.setText(text)
        self._label.adjustSize()
        self._label.raise_()
        self._legend.move(8, 6 + self._label.height())
