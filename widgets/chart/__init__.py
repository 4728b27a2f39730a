"""Live candlestick chart (pyqtgraph): candles, volume, overlays, New York time axis."""

from widgets.chart.items import CHUNK, CandleItem, VolumeItem
from widgets.chart.overlays import Zone
from widgets.chart.throttle import Throttle
from widgets.chart.time_axis import TimeAxis
from widgets.chart.widget import Y_MARGIN, ChartWidget, LineSpec

__all__ = ["CHUNK", "Y_MARGIN", "CandleItem", "ChartWidget", "LineSpec", "Throttle", "TimeAxis", "VolumeItem", "Zone"]
