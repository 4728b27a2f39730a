"""Read a candlestick chart screenshot (no Qt, no torch): bars in price units, the price-axis fit,
symbol and interval guesses, the last price, warnings — or a refusal with the reason."""

from core.chartread.reader import CANDLESTICK, REFUSED, ChartReading, ReadBar, read_chart

__all__ = ["CANDLESTICK", "REFUSED", "ChartReading", "ReadBar", "read_chart"]
