"""The trader's drawings (horizontal line, trend line, rectangle, text), price alerts and the
follower's markers. Everything is anchored in time (UTC ns) and price, so the same drawing lands on
the same moment on every interval; `TimeMap` converts to the chart's bar-index x."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from core.errors import InputError
from core.market.intervals import Interval
from widgets.chart.boxes import Box, BoxesItem
from widgets.chart.overlays import make_pen
from widgets.chart.store import BarStore
from widgets.theme import Theme

DRAWING_TOOLS = ("hline", "trend", "rect", "text")
MARKER_KINDS = ("entered", "tp_hit", "stop", "trail_adjusted", "exited", "stop_warning", "invalidated")
# kind → (scatter symbol, theme colour attribute)
MARKER_STYLE = {"entered": ("t1", "entry"), "tp_hit": ("star", "reward"), "stop": ("x", "risk"),
                "stop_warning": ("d", "last_price"), "trail_adjusted": ("d", "level"),
                "invalidated": ("x", "axis"), "exited": ("s", "text")}


@dataclass(frozen=True, slots=True)
class DrawingView:
    id: int
    kind: str                                  # hline | trend | rect | text
    points: tuple[tuple[int, float], ...]      # (UTC ns, price)
    text: str = ""
    color: str | None = None


@dataclass(frozen=True, slots=True)
class AlertView:
    id: int
    price: float
    label: str
    status: str = "active"                     # active | triggered
    drawing_id: int | None = None


@dataclass(frozen=True, slots=True)
class MarkerView:
    kind: str        # one of MARKER_KINDS
    ts: int          # UTC ns
    price: float
    text: str = ""   # exits: "+1.8R  +$180"


class TimeMap:
    """Bar-index x ↔ UTC ns for the chart's bars; times between bars fall inside the bar that holds
    them, times past the ends are extrapolated by the interval."""

    def __init__(self, store: BarStore) -> None:
        self._store = store
        self.interval: Interval | None = None

    def _step(self) -> int:
        return int(self.interval.seconds * 1e9) if self.interval is not None else 60_000_000_000

    def ts_to_x(self, ts: int) -> float:
        t = self._store.ts
        n = len(t)
        if n == 0:
            return 0.0
        step = self._step()
        i = int(np.searchsorted(t, ts, "right")) - 1
        if i < 0:
            return (ts - int(t[0])) / step
        frac = (ts - int(t[i])) / step
        return i + (frac if i == n - 1 else min(frac, 0.999))

    def x_to_ts(self, x: float) -> int:
        t = self._store.ts
        n = len(t)
        if n == 0:
            raise InputError("x", "the chart has no bars")
        i = min(max(int(np.floor(x)), 0), n - 1)
        return int(t[i]) + round((x - i) * self._step())


class DrawingLayer(QtCore.QObject):
    """Draws DrawingView/AlertView/MarkerView lists on a PlotItem; the pending drawing tool turns
    clicks into `requested(kind, points, text)` (the controller stores it and sets the drawings)."""

    requested = QtCore.Signal(str, list, str)       # kind, [(ts, price), ...], text
    moved = QtCore.Signal(int, list)                # drawing id, new [(ts, price)]

    def __init__(self, plot: pg.PlotItem, tmap: TimeMap, theme: Theme) -> None:
        super().__init__()
        self._plot, self._map, self._theme = plot, tmap, theme
        self._drawings: list[DrawingView] = []
        self._alerts: list[AlertView] = []
        self._markers: list[MarkerView] = []
        self._items: list[pg.GraphicsObject] = []
        self._alert_items: list[pg.InfiniteLine] = []
        self._marker_items: list[pg.GraphicsObject] = []
        self._rects = BoxesItem(z=-4)
        plot.addItem(self._rects, ignoreBounds=True)
        self._tool: str | None = None
        self._tool_text = ""
        self._anchor: tuple[int, float] | None = None
        self._preview: pg.PlotCurveItem | None = None

    # -- state ------------------------------------------------------------------------------------
    @property
    def drawings(self) -> list[DrawingView]:
        return list(self._drawings)

    @property
    def alerts(self) -> list[AlertView]:
        return list(self._alerts)

    @property
    def markers(self) -> list[MarkerView]:
        return list(self._markers)

    @property
    def tool(self) -> str | None:
        return self._tool

    def drawing_items(self) -> list[pg.GraphicsObject]:
        return [*self._items, self._rects] if self._rects.boxes else list(self._items)

    def marker_items(self) -> list[pg.GraphicsObject]:
        return list(self._marker_items)

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.redraw()

    # -- tool ---------------------------------------------------------------------------------------
    def set_tool(self, kind: str | None, text: str = "") -> None:
        if kind is not None and kind not in DRAWING_TOOLS:
            raise InputError("tool", f"must be one of {', '.join(DRAWING_TOOLS)} or None, got {kind!r}")
        if kind == "text" and not text.strip():
            raise InputError("text", "the text tool needs the text to place")
        self._tool, self._tool_text, self._anchor = kind, text.strip(), None
        self._drop_preview()

    def click(self, x: float, y: float) -> bool:
        """A left click at data (x, y) while a tool is set; True when it was used."""
        if self._tool is None:
            return False
        pt = (self._map.x_to_ts(x), round(float(y), 4))
        kind = self._tool
        if kind in ("trend", "rect") and self._anchor is None:
            self._anchor = pt
            self._preview = pg.PlotCurveItem(pen=make_pen(self._theme.text, 1.0, "dash"))
            self._plot.addItem(self._preview, ignoreBounds=True)
            self.hover(x, y)
            return True
        points = [pt] if self._anchor is None else [self._anchor, pt]
        text = self._tool_text if kind == "text" else ""
        self._tool, self._anchor = None, None   # one drawing per pick of the tool, like TradingView
        self._drop_preview()
        self.requested.emit(kind, points, text)
        return True

    def hover(self, x: float, y: float) -> None:
        if self._preview is None or self._anchor is None:
            return
        ax = self._map.ts_to_x(self._anchor[0])
        ay = self._anchor[1]
        if self._tool == "rect":
            self._preview.setData([ax, x, x, ax, ax], [ay, ay, y, y, ay])
        else:
            self._preview.setData([ax, x], [ay, y])

    def _drop_preview(self) -> None:
        if self._preview is not None:
            self._plot.removeItem(self._preview)
            self._preview = None

    # -- content ----------------------------------------------------------------------------------
    def set_drawings(self, drawings: list[DrawingView]) -> None:
        for k, d in enumerate(drawings):
            if d.kind not in DRAWING_TOOLS:
                raise InputError(f"drawings[{k}].kind", f"unknown drawing {d.kind!r}")
        self._drawings = list(drawings)
        self.redraw()

    def set_alerts(self, alerts: list[AlertView]) -> None:
        self._alerts = list(alerts)
        self.redraw()

    def set_markers(self, markers: list[MarkerView]) -> None:
        for k, m in enumerate(markers):
            if m.kind not in MARKER_STYLE:
                raise InputError(f"markers[{k}].kind", f"unknown marker {m.kind!r}")
        self._markers = list(markers)
        self.redraw()

    def redraw(self) -> None:
        """Re-place everything from times and prices (after new bars or another interval)."""
        for item in [*self._items, *self._alert_items, *self._marker_items]:
            self._plot.removeItem(item)
        self._items, self._alert_items, self._marker_items = [], [], []
        t = self._theme
        boxes: list[Box] = []
        for d in self._drawings:
            color = d.color or t.text
            xs = [self._map.ts_to_x(ts) for ts, _ in d.points]
            ys = [p for _, p in d.points]
            if d.kind == "hline":
                line = pg.InfiniteLine(pos=ys[0], angle=0, movable=True, pen=make_pen(color, 1.2),
                                       hoverPen=make_pen(color, 2.4), label=f"{ys[0]:.2f}",
                                       labelOpts={"position": 0.05, "color": color, "anchors": [(0, 1), (0, 1)]})
                line.sigPositionChangeFinished.connect(
                    lambda ln, d=d: self.moved.emit(d.id, [(d.points[0][0], round(float(ln.value()), 4))]))
                item: pg.GraphicsObject = line
            elif d.kind == "trend":
                item = pg.PlotCurveItem(xs, ys, pen=make_pen(color, 1.4))
            elif d.kind == "rect":
                boxes.append(Box(min(xs), max(xs), min(ys), max(ys), color, 40))
                continue
            else:
                item = pg.TextItem(d.text, color=color, anchor=(0, 1))
                item.setPos(xs[0], ys[0])
            item.setZValue(14)
            self._plot.addItem(item, ignoreBounds=True)
            self._items.append(item)
        self._rects.set_boxes(boxes)
        for a in self._alerts:
            on = a.status == "active"
            text = ("Alert " if on else "Alert fired ") + a.label
            line = pg.InfiniteLine(pos=a.price, angle=0, movable=False,
                                   pen=make_pen(t.last_price if on else t.axis, 1.0, "dot"),
                                   label=text.replace("{", "{{").replace("}", "}}"),
                                   labelOpts={"position": 0.6, "color": t.last_price if on else t.axis,
                                              "anchors": [(0.5, 1), (0.5, 1)]})
            line.setZValue(13)
            self._plot.addItem(line, ignoreBounds=True)
            self._alert_items.append(line)
        if self._markers:
            xs = np.array([self._map.ts_to_x(m.ts) for m in self._markers])
            ys = np.array([m.price for m in self._markers])
            scatter = pg.ScatterPlotItem(xs, ys, size=13, symbol=[MARKER_STYLE[m.kind][0] for m in self._markers],
                                         brush=[pg.mkBrush(getattr(t, MARKER_STYLE[m.kind][1]))
                                                for m in self._markers],
                                         pen=pg.mkPen(t.background))
            scatter.setZValue(16)
            self._plot.addItem(scatter, ignoreBounds=True)
            self._marker_items.append(scatter)
            for m, x in zip(self._markers, xs, strict=True):
                if m.text:
                    label = pg.TextItem(m.text, color=t.text, anchor=(0, 0), fill=pg.mkBrush(t.background))
                    label.setPos(float(x) + 0.6, m.price)
                    label.setZValue(16)
                    self._plot.addItem(label, ignoreBounds=True)
                    self._marker_items.append(label)
