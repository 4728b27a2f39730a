"""Live candlestick chart (pyqtgraph): candles, volume, overlays, New York time axis."""

from widgets.chart.drawings import DRAWING_TOOLS, MARKER_KINDS, AlertView, DrawingView, MarkerView
from widgets.chart.items import CHUNK, CandleItem, VolumeItem
from widgets.chart.overlays import Zone
from widgets.chart.plan_lines import PlanView
from widgets.chart.throttle import Throttle
from widgets.chart.time_axis import TimeAxis
from widgets.chart.viewport import Y_MARGIN
from widgets.chart.widget import OVERLAY_GROUPS, ChartWidget, LineSpec

__all__ = ["CHUNK", "DRAWING_TOOLS", "MARKER_KINDS", "OVERLAY_GROUPS", "Y_MARGIN", "AlertView", "CandleItem",
           "ChartWidget", "DrawingView", "LineSpec", "MarkerView", "PlanView", "Throttle", "TimeAxis",
           "VolumeItem", "Zone"]
