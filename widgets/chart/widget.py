"""ChartWidget: live candlestick + volume chart. Renders state, emits user intent, no trading logic.

Layout: a price plot (about 80 %) over an x-linked volume plot, both indexed by bar number, right
price axis, New York time axis at the bottom. The x-range belongs to the user (wheel zoom and drag
on X only); the y-range follows the visible bars (+ overlay lines) like finplot. Live updates are
stored at once but painted through a 30 Hz throttle.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from core.errors import InputError
from core.market.bars import Bar, Bars
from core.market.intervals import Interval
from widgets.chart.annotations import AVWAP_PREFIX, OVERLAY_GROUPS, ChartAnnotations, blend
from widgets.chart.boxes import BoxesItem, VolumeProfileItem
from widgets.chart.crosshair import ChartCrosshair
from widgets.chart.drawings import DrawingLayer, TimeMap
from widgets.chart.items import CandleItem, VolumeItem, visible_slice
from widgets.chart.levels import Level, LevelLine, LevelsItem
from widgets.chart.lines import LineItem
from widgets.chart.overlays import Zone, ZonesItem, check_color, make_pen, price_line
from widgets.chart.plan_lines import PlanLines
from widgets.chart.price_axis import PriceAxis
from widgets.chart.store import BarStore
from widgets.chart.throttle import Throttle
from widgets.chart.time_axis import TimeAxis
from widgets.chart.view import MIN_X_RANGE, ChartViewBox
from widgets.chart.viewport import RIGHT_PAD, TIME_AXIS_HEIGHT, ChartViewport
from widgets.chart.volume_axis import VolumeAxis
from widgets.theme import DARK, Theme

log = logging.getLogger(__name__)

DEFAULT_VISIBLE = 120    # bars shown after the first set_bars / an interval change / reset_view
AXIS_WIDTH = 72          # both right axes share this width so the plots line up
# Overlay groups the View menu toggles: supply/demand zones, fair value gaps, liquidity pools,
# volume profile (POC, value area), key levels (PDH/PDL/PDC, ORH/ORL), anchored VWAP lines.


@dataclass(frozen=True, slots=True)
class LineSpec:
    """One overlay line for `ChartWidget.set_lines`: values aligned to the bars (NaN = no value)."""

    values: np.ndarray
    color: str
    width: float = 1.0
    style: str = "solid"
    breaks: np.ndarray | None = None   # bar indices where the series resets (session VWAP)


class ChartWidget(ChartViewport, ChartAnnotations, ChartCrosshair, QtWidgets.QWidget):
    """Candles + volume + overlays for one symbol/interval."""

    hovered_bar = QtCore.Signal(int)                # bar index under the mouse, -1 when none
    visible_range_changed = QtCore.Signal(int, int)  # (start, stop) like visible_range()
    hovered_time = QtCore.Signal("qlonglong")       # bar start (UTC ns) under the mouse, -1 when none
    plan_level_moved = QtCore.Signal(str, str, float)  # plan_id, field (entry/stop/tp1..), price
    drawing_requested = QtCore.Signal(str, list, str)  # kind, [(ts_ns, price), ...], text
    drawing_moved = QtCore.Signal(int, list)           # drawing id, [(ts_ns, price)]
    # Right-click menu intents: an alert at a price / on a level (price, label), on a drawing (id),
    # and removals.
    alert_requested = QtCore.Signal(float, str)
    drawing_alert_requested = QtCore.Signal(int)
    drawing_delete_requested = QtCore.Signal(int)
    alert_delete_requested = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None, theme: Theme = DARK,
                 throttle_ms: int = 33) -> None:
        super().__init__(parent)
        self._store = BarStore()
        self._interval: Interval | None = None
        self._symbol: str | None = None
        self._theme = theme
        self._follow_live = True
        self._dirty_from: int | None = None
        self._flushed_n = 0
        self._lines: dict[str, tuple[np.ndarray, LineItem]] = {}
        self._line_keys: dict[str, tuple[object, ...]] = {}   # style + breaks each line was drawn with
        self._plan_items: list[pg.GraphicsObject] = []
        self._level_layer = LevelsItem(z=8)
        # Last arguments, so a theme change can redraw plan and levels in the new colours.
        self._plan_args: tuple[float | None, float | None, list[float], str] | None = None
        self._levels_args: list[tuple[str, float]] = []
        self._title = ""
        self._readout = ""
        self._in_autoscale = False
        self._in_clamp = False
        self._mouse_pos: QtCore.QPointF | None = None   # scene position while hovering a plot
        self._hovered = -1
        self._volume_shown = True

        self._glw = pg.GraphicsLayoutWidget(self)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self._glw)

        self._price_axis_x = TimeAxis(self._store)
        self._price_axis_x.setStyle(showValues=False)
        self._time_axis = TimeAxis(self._store)
        self._price_axis = PriceAxis("right")
        self._price = self._glw.addPlot(row=0, col=0, viewBox=ChartViewBox(),
                                        axisItems={"bottom": self._price_axis_x, "right": self._price_axis})
        self._volume = self._glw.addPlot(row=1, col=0, viewBox=ChartViewBox(),
                                         axisItems={"bottom": self._time_axis, "right": VolumeAxis("right")})
        self._glw.ci.layout.setRowStretchFactor(0, 4)
        self._glw.ci.layout.setRowStretchFactor(1, 1)
        self._glw.ci.layout.setSpacing(0)
        for plot in (self._price, self._volume):
            plot.hideAxis("left")
            plot.showAxis("right")
            plot.getAxis("right").setWidth(AXIS_WIDTH)
            plot.hideButtons()
            plot.setMenuEnabled(False)
            vb = plot.getViewBox()
            vb.setMouseEnabled(x=True, y=False)   # wheel and drag act on X only
            vb.disableAutoRange()
            vb.setLimits(minXRange=MIN_X_RANGE)
            vb.zoom_anchor = self._zoom_anchor
            # pyqtgraph stacks the axes (and so their grid lines) above the ViewBox: every grid
            # line then cut a 1-px gap into the VWAP and EMA lines and the candles. Grid below.
            for name in ("right", "bottom"):
                plot.getAxis(name).setZValue(-200)
            for name in ("left", "right", "top", "bottom"):
                # No axis has a label, yet the SI-prefix check re-set each one's HTML (a text
                # layout) on every range change, the hidden left and top axes' too.
                plot.getAxis(name).enableAutoSIPrefix(False)
        self._price.getAxis("bottom").setHeight(0)  # shares x with the volume plot's time axis
        # Fixed sizes: an auto-sized axis grows after its first labels paint, shifting the plots.
        self._time_axis.setHeight(TIME_AXIS_HEIGHT)
        self._volume.setXLink(self._price)

        self._candles = CandleItem(self._store)
        self._volume_bars = VolumeItem(self._store)
        self._price.addItem(self._candles)
        self._volume.addItem(self._volume_bars)
        self._zones = ZonesItem()
        self._price.addItem(self._zones, ignoreBounds=True)

        # The last price: a dotted line across the plot and a tag on the price axis (never over
        # the candles).
        self._last_line = pg.InfiniteLine(angle=0, movable=False)
        self._last_line.setZValue(15)
        self._last_line.setVisible(False)
        self._price.addItem(self._last_line, ignoreBounds=True)

        self._vline = pg.InfiniteLine(angle=90, movable=False)
        self._hline = pg.InfiniteLine(angle=0, movable=False)
        self._vline_vol = pg.InfiniteLine(angle=90, movable=False)
        for line, plot in ((self._vline, self._price), (self._hline, self._price),
                           (self._vline_vol, self._volume)):
            line.setZValue(20)
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)

        self._label = QtWidgets.QLabel(self._glw)
        self._label.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._label.move(8, 4)

        # Shown while the live bar is out of view; the window binds a hotkey to the same method.
        self._realtime_button = QtWidgets.QToolButton(self)
        self._realtime_button.setObjectName("scroll_to_realtime")
        self._realtime_button.setText("\u21e5")   # ⇥
        self._realtime_button.setToolTip("Scroll to real time")
        self._realtime_button.setAutoRaise(True)
        self._realtime_button.setFixedSize(26, 22)
        self._realtime_button.clicked.connect(self.scroll_to_realtime)
        self._realtime_button.setVisible(False)

        # Plan, overlays from core, drawings, alerts and follower markers.
        self._plan = PlanLines(self._price, theme)
        self._plan.level_moved.connect(self.plan_level_moved)
        self._tmap = TimeMap(self._store)
        self._draw = DrawingLayer(self._price, self._tmap, theme)
        self._draw.requested.connect(self.drawing_requested)
        self._draw.moved.connect(self.drawing_moved)
        self._sd_boxes = BoxesItem(z=-9)
        self._fvg_boxes = BoxesItem(z=-8)
        self._profile = VolumeProfileItem()
        for item in (self._sd_boxes, self._fvg_boxes, self._profile):
            self._price.addItem(item, ignoreBounds=True)
        self._pool_layer = LevelsItem(z=7)
        self._vp_layer = LevelsItem(z=7)
        for item in (self._level_layer, self._pool_layer, self._vp_layer):
            self._price.addItem(item, ignoreBounds=True)
        self._overlay_on = dict.fromkeys(OVERLAY_GROUPS, True)
        self._overlay_data: dict[str, list[dict[str, object]]] = {g: [] for g in OVERLAY_GROUPS}
        self._linked_x: float | None = None
        self._legend = QtWidgets.QLabel(self._glw)
        self._legend.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._legend.setTextFormat(QtCore.Qt.TextFormat.RichText)

        self._throttle = Throttle(self._flush_updates, throttle_ms, self)
        self._glw.scene().sigMouseClicked.connect(self._on_click)
        self._price.getViewBox().sigXRangeChanged.connect(self._on_x_range_changed)
        self._glw.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.set_theme(theme)

    # -- public API ---------------------------------------------------------------------------
    @property
    def theme(self) -> Theme:
        return self._theme

    @property
    def interval(self) -> Interval | None:
        return self._interval

    @property
    def follow_live(self) -> bool:
        """When True, new bars scroll the view while the last bar is in view."""
        return self._follow_live

    @follow_live.setter
    def follow_live(self, value: bool) -> None:
        self._follow_live = bool(value)
        if self._follow_live and len(self._store):
            self._show_right_edge(self._view_width())

    @property
    def price_plot(self) -> pg.PlotItem:
        return self._price

    @property
    def volume_plot(self) -> pg.PlotItem:
        return self._volume

    @property
    def candles(self) -> CandleItem:
        return self._candles

    @property
    def volume_bars(self) -> VolumeItem:
        return self._volume_bars

    @property
    def time_axis(self) -> TimeAxis:
        return self._time_axis

    @property
    def graphics(self) -> pg.GraphicsLayoutWidget:
        return self._glw

    def map_to_widget(self, x: float, y: float, plot: str = "price") -> QtCore.QPoint:
        """Widget pixel of data point (bar index x, value y) in the 'price' or 'volume' plot."""
        if plot not in ("price", "volume"):
            raise InputError("plot", f"expected 'price' or 'volume', got {plot!r}")
        vb = (self._price if plot == "price" else self._volume).getViewBox()
        scene_pt = vb.mapViewToScene(QtCore.QPointF(x, y))
        return self._glw.viewport().mapTo(self, self._glw.mapFromScene(scene_pt))

    @property
    def flush_count(self) -> int:
        """How many throttled repaint batches ran (one per <= 1/30 s)."""
        return self._throttle.calls

    def bar_count(self) -> int:
        return len(self._store)

    def bar(self, index: int) -> Bar:
        if not 0 <= index < len(self._store):
            raise InputError("index", f"no bar {index}; the chart has {len(self._store)}")
        return self._store.bar(index)

    def visible_range(self) -> tuple[int, int]:
        """(start, stop) bar indices in view, half-open like a slice; (0, 0) when empty."""
        (x0, x1), _ = self._price.getViewBox().viewRange()
        return visible_slice(x0, x1, len(self._store))

    def set_title(self, text: str) -> None:
        self._title = str(text)
        self._refresh_label()

    def title(self) -> str:
        return self._title

    def readout_text(self) -> str:
        """The OHLCV readout of the bar under the crosshair ('' when the mouse is away)."""
        return self._readout

    def header_text(self) -> str:
        """What the top-left label shows: the title and, while hovering, the readout."""
        return self._label.text()

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self._glw.setBackground(theme.background)
        # Grid = the axis pen extended across the plot. It is drawn opaque in a colour blended
        # with the background, and at labelled ticks only: translucent, dense grid lines cost
        # the Qt raster engine ~30 ms per repaint, more than everything else together.
        grid = blend(theme.axis, theme.background, theme.grid_alpha)
        for plot in (self._price, self._volume):
            for name in ("right", "bottom"):
                ax = plot.getAxis(name)
                ax.setStyle(maxTickLevel=0, tickAlpha=255)
                ax.setPen(grid)
                ax.setTextPen(theme.text)
                ax.setGrid(255)
        self._price.getAxis("right").setTickDensity(2.0)  # majors only: keep enough price labels
        self._candles.set_colors(theme.up, theme.down)
        self._volume_bars.set_colors(theme.volume_up, theme.volume_down)
        self._zones.set_alpha(theme.band_alpha)
        cross = make_pen(theme.crosshair, 1.0, "dash")
        for line in (self._vline, self._hline, self._vline_vol):
            line.setPen(cross)
        self._last_line.setPen(make_pen(theme.last_price, 1.0, "dot"))
        self._price_axis.set_tag_colors(theme.last_price, theme.last_price_text)
        self._label.setStyleSheet(f"color: {theme.text}; background: transparent;")
        self._realtime_button.setStyleSheet(
            f"QToolButton {{ color: {theme.text}; background: {theme.background};"
            f" border: 1px solid {theme.axis}; border-radius: 3px; }}")
        if self._plan_args is not None:
            self.set_plan_bands(*self._plan_args)
        if self._levels_args:
            self.set_levels(self._levels_args)
        if hasattr(self, "_plan"):   # set_theme also runs from __init__ before these exist
            self._plan.set_theme(theme)
            self._draw.set_theme(theme)
            self._refresh_legend()

    @property
    def symbol(self) -> str | None:
        return self._symbol

    def set_bars(self, bars: Bars, interval: Interval, symbol: str | None = None) -> None:
        """Replace all bars. Keeps the user's time window when scrolled back, else shows the end.

        A new series (another symbol or interval) also drops every line, level, plan and zone:
        they belong to the series they were computed for, and the caller sets the new ones.
        The same series (a reload, a backfill) keeps them until the caller replaces them.
        """
        if not isinstance(bars, Bars):
            raise InputError("bars", f"expected Bars, got {type(bars).__name__}")
        if not isinstance(interval, Interval):
            raise InputError("interval", f"expected Interval, got {type(interval).__name__}")
        if symbol is not None and (not isinstance(symbol, str) or not symbol.strip()):
            raise InputError("symbol", f"expected a symbol like 'SPY', got {symbol!r}")
        symbol = symbol.strip().upper() if symbol is not None else self._symbol
        old_n = len(self._store)
        same_interval = interval == self._interval
        symbol_changed = symbol != self._symbol
        if symbol_changed or not same_interval:
            self.clear_overlays()
        if symbol_changed and old_n:
            self._plan.set_plan(None)   # plans, drawings, alerts and markers are per symbol, any interval
            self._draw.set_drawings([])
            self._draw.set_alerts([])
            self._draw.set_markers([])
        self._symbol = symbol
        following = old_n == 0 or self._last_bar_in_view()
        (x0, x1), _ = self._price.getViewBox().viewRange()
        width = x1 - x0
        old_ts = (self._ts_at(x0), self._ts_at(x1)) if old_n and not following else None

        self._throttle.cancel()
        self._dirty_from = None
        self._store.replace(bars)
        self._flushed_n = len(self._store)
        self._interval = interval
        self._tmap.interval = interval
        for ax in (self._time_axis, self._price_axis_x):
            ax.set_interval(interval)
        self._candles.reset()
        self._volume_bars.reset()
        self._update_last_price()
        self._show_volume(self._store.volume_max > 0)

        n = len(self._store)
        if n == 0:
            self._price.getViewBox().setXRange(-0.5, DEFAULT_VISIBLE, padding=0)
        elif old_n == 0 or not same_interval or symbol_changed:
            self.reset_view()
        elif following or old_ts is None:
            self._show_right_edge(width)
        else:
            self._show_time_window(*old_ts)
        self._draw.redraw()  # drawings are anchored in time: re-place them on these bars
        self._autoscale_y()  # the x-range may be unchanged, in which case no signal fires
        self._after_view_change()

    def scroll_to_realtime(self) -> None:
        """Bring the live bar back to the right edge at the current zoom; new bars then follow."""
        if len(self._store):
            self._show_right_edge(self._view_width())

    def reset_view(self) -> None:
        """The default view: the last DEFAULT_VISIBLE bars (fewer when there are fewer) at the
        right edge, price and volume fitted to them."""
        n = len(self._store)
        if n:
            self._show_right_edge(min(DEFAULT_VISIBLE, n) + RIGHT_PAD)
            self._autoscale_y()

    def volume_shown(self) -> bool:
        """False while the series has no volume at all (an index like SPX): the pane is folded."""
        return self._volume_shown

    def realtime_button(self) -> QtWidgets.QToolButton:
        return self._realtime_button

    def update_bar(self, bar: Bar) -> None:
        """The in-progress bar (same ts as the last bar) or a new bar (newer ts). Painting is throttled."""
        if not isinstance(bar, Bar):
            raise InputError("bar", f"expected Bar, got {type(bar).__name__}")
        i, _ = self._store.upsert(bar)
        self._dirty_from = i if self._dirty_from is None else min(self._dirty_from, i)
        self._throttle.trigger()

    def flush(self) -> None:
        """Apply throttled updates now (before grabbing or measuring)."""
        self._throttle.flush()

    def set_line(self, name: str, values: np.ndarray, color: str, width: float = 1.0,
                 style: str = "solid", breaks: np.ndarray | None = None) -> None:
        """Overlay a precomputed series aligned to the bars (index i = bar i); NaN breaks the line,
        and so does each bar index in `breaks` (a series that resets there, like session VWAP)."""
        if not isinstance(name, str) or not name:
            raise InputError("name", "a line needs a non-empty name")
        arr = np.array(values, dtype=np.float64, copy=True)
        if arr.ndim != 1:
            raise InputError("values", f"expected a 1-D array, got shape {arr.shape}")
        pen = make_pen(color, width, style)
        key = (color, float(width), style, None if breaks is None else tuple(np.asarray(breaks).tolist()))
        prev = self._lines.get(name)
        if prev is not None and self._line_keys.get(name) == key and np.array_equal(prev[0], arr, equal_nan=True):
            return   # the same line again (a refresh that did not change it): no setData, no repaint
        self._line_keys[name] = key
        x = np.arange(len(arr), dtype=np.float64)
        y = arr
        if breaks is not None and len(breaks):
            # A NaN point half a bar before each break: connect="finite" then lifts the pen there.
            at = np.asarray(breaks, dtype=np.int64)
            at = at[(at > 0) & (at < len(arr))]
            x = np.insert(x, at, at - 0.5)
            y = np.insert(arr, at, np.nan)
        if name in self._lines:
            item = self._lines[name][1]
            item.setPen(pen)
        else:
            item = LineItem(pen)
            item.setZValue(5)
            self._price.addItem(item, ignoreBounds=True)
        item.set_data(arr, x, y)
        self._lines[name] = (arr, item)
        if name.startswith(AVWAP_PREFIX):
            item.setVisible(self._overlay_on["avwap"])
        self._refresh_legend()
        self._autoscale_y()

    def set_lines(self, lines: Mapping[str, LineSpec]) -> None:
        """Replace the whole set of overlay lines at once: lines not named here are removed."""
        for k, (name, spec) in enumerate(lines.items()):
            if not isinstance(spec, LineSpec):
                raise InputError(f"lines[{k}]", f"expected LineSpec for {name!r}, got {type(spec).__name__}")
            make_pen(spec.color, spec.width, spec.style)   # refuse a bad set before changing anything
        for name in [n for n in self._lines if n not in lines]:
            self._price.removeItem(self._lines.pop(name)[1])
        self._in_autoscale = True   # one autoscale for the whole set, not one per line
        try:
            for name, spec in lines.items():
                self.set_line(name, spec.values, spec.color, spec.width, spec.style, spec.breaks)
        finally:
            self._in_autoscale = False
        self._autoscale_y()

    def clear_lines(self) -> None:
        for _values, item in self._lines.values():
            self._price.removeItem(item)
        self._lines.clear()
        self._refresh_legend()
        self._autoscale_y()

    def clear_overlays(self) -> None:
        """Drop every line, level, plan and zone (they belong to the series they came with)."""
        self.clear_lines()
        self.clear_plan_bands()
        self.set_levels([])
        self.set_zones([])
        self.set_sd_zones([])
        self.set_fvgs([])
        self.set_liquidity([])
        self.set_volume_profile(None)

    def remove_line(self, name: str) -> None:
        entry = self._lines.pop(name, None)
        if entry is None:
            log.warning("remove_line: no line named %r", name)
            return
        self._price.removeItem(entry[1])
        self._refresh_legend()
        self._autoscale_y()

    def line_names(self) -> list[str]:
        return list(self._lines)

    def line_item(self, name: str) -> LineItem:
        if name not in self._lines:
            raise InputError("name", f"no line named {name!r}")
        return self._lines[name][1]

    def set_plan_bands(self, entry: float | None, stop: float | None, targets: list[float],
                       direction: str) -> None:
        """Draw a trade plan: entry/stop/target lines, red risk band, green reward band."""
        self.clear_plan_bands()
        self._plan_args = (entry, stop, list(targets), direction)
        t = self._theme
        items: list[pg.GraphicsObject] = []
        side = str(direction).strip().capitalize()
        if entry is not None and stop is not None:
            items.append(self._band(entry, stop, t.risk))
        if entry is not None and targets:
            far = max(targets, key=lambda v: abs(v - entry))
            items.append(self._band(entry, far, t.reward))
        if entry is not None:
            items.append(price_line(entry, f"{side} entry {entry:.2f}".strip(), t.entry, "solid", z=9))
        if stop is not None:
            items.append(price_line(stop, f"Stop {stop:.2f}", t.risk, "solid", z=9))
        for k, target in enumerate(targets, start=1):
            items.append(price_line(target, f"T{k} {target:.2f}", t.reward, "solid", z=9))
        for item in items:
            self._price.addItem(item, ignoreBounds=True)
        self._plan_items = items

    def clear_plan_bands(self) -> None:
        for item in self._plan_items:
            self._price.removeItem(item)
        self._plan_items = []
        self._plan_args = None

    def plan_items(self) -> list[pg.GraphicsObject]:
        return list(self._plan_items)

    def set_levels(self, levels: list[tuple[str, float]]) -> None:
        """Key levels (PDH, PDL, ORH ...) as labelled dashed lines; replaces the previous set (the
        same set again repaints nothing)."""
        specs = []
        for k, entry in enumerate(levels):
            if len(entry) != 2:
                raise InputError(f"levels[{k}]", "expected (label, price)")
            label, price = entry
            specs.append(Level(float(price), f"{label} {float(price):.2f}", self._theme.level, "dash"))
        self._levels_args = list(levels)
        self._level_layer.set_levels(specs)
        self._level_layer.setVisible(self._overlay_on["levels"])

    def level_items(self) -> list[LevelLine]:
        """One handle per key level (value(), isVisible()), all drawn by one LevelsItem."""
        return self._level_layer.lines()

    def set_zones(self, zones: list[tuple[float, float, str, str] | tuple[float, float, str, str, int]]
                  ) -> None:
        """Shaded (low, high, label, color[, start_index]) rectangles from start to the right edge."""
        parsed: list[Zone] = []
        for k, z in enumerate(zones):
            if len(z) not in (4, 5):
                raise InputError(f"zones[{k}]", "expected (low, high, label, color[, start_index])")
            check_color(z[3], f"zones[{k}].color")
            start = int(z[4]) if len(z) == 5 else 0
            parsed.append(Zone(float(z[0]), float(z[1]), str(z[2]), z[3], start))
        self._zones.set_zones(parsed)

    def zones(self) -> list[Zone]:
        return self._zones.zones

    # -- live updates -------------------------------------------------------------------------
    def _flush_updates(self) -> None:
        first = self._dirty_from
        if first is None:
            return
        self._dirty_from = None
        n = len(self._store)
        appended = n - self._flushed_n
        was_in_view = self._flushed_n > 0 and self._x_in_view(self._flushed_n - 1)
        self._flushed_n = n
        appended_all = appended == n
        self._candles.bars_changed(first)
        self._volume_bars.bars_changed(first)
        self._update_last_price()
        if not self._volume_shown and self._store.volume_max > 0:
            self._show_volume(True)
        if appended_all:   # the first bars of an empty chart
            self.reset_view()
        elif appended > 0 and self._follow_live and was_in_view:
            vb = self._price.getViewBox()
            (x0, x1), _ = vb.viewRange()
            vb.setXRange(x0 + appended, x1 + appended, padding=0)  # signal -> autoscale, hover
            return
        elif self._x_in_view(first) or self._x_in_view(n - 1):
            self._autoscale_y(grow_only=True)
        if appended > 0:
            self._after_view_change()   # the live bar may have left the view: offer the button
        elif self._mouse_pos is not None and self._hovered >= first:
            self._refresh_hover()       # the bar under a still cursor ticked

    def _x_in_view(self, i: int) -> bool:
        (x0, x1), _ = self._price.getViewBox().viewRange()
        return x0 - 0.5 <= i <= x1 + 0.5

    def _update_last_price(self) -> None:
        n = len(self._store)
        self._last_line.setVisible(n > 0)
        last = float(self._store.close[n - 1]) if n else None
        if last is not None:
            self._last_line.setValue(last)
        self._price_axis.set_tag(last)

    @property
    def price_axis(self) -> PriceAxis:
        return self._price_axis

    def _band(self, a: float, b: float, color: str) -> pg.LinearRegionItem:
        fill = check_color(color)
        fill.setAlpha(self._theme.band_alpha)
        region = pg.LinearRegionItem(values=(min(a, b), max(a, b)), orientation="horizontal",
                                     brush=pg.mkBrush(fill), pen=pg.mkPen(None), movable=False)
        region.setZValue(-5)
        return region
