"""Render real bars as chart screenshots with known truth, for measuring core.chartread.

Two renderers:
- `LwcRenderer`: TradingView's lightweight-charts (vendored in resources/tv/vendor) in headless
  Chromium through Selenium (Debian's chromium + chromedriver, never Selenium Manager).
- `render_app_chart`: the app's own `widgets.chart.ChartWidget`, offscreen Qt, grabbed.

Each returns PNG bytes; the truth is the bars handed in. Used by bench/bench_chartread.py, by the
fixture generator and by the slow Chromium test.
"""

from __future__ import annotations

import base64
import functools
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
LWC_JS = ROOT / "resources" / "tv" / "vendor" / "lightweight-charts.standalone.production.js"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@dataclass(frozen=True)
class TruthBars:
    """Bars shown in a render: UTC seconds and OHLC, oldest first."""

    symbol: str
    interval: str
    time: np.ndarray   # int64 UTC seconds of the bar start
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return len(self.time)

    def to_json(self) -> dict[str, object]:
        return {"symbol": self.symbol, "interval": self.interval,
                "bars": [{"time": int(t), "open": float(o), "high": float(h), "low": float(lo), "close": float(c)}
                         for t, o, h, lo, c in zip(self.time, self.open, self.high, self.low, self.close,
                                                   strict=True)]}


@functools.lru_cache(maxsize=8)
def _read(path: Path, symbol: str):  # type: ignore[no-untyped-def]
    from core.market.importer import read_bars_file

    return read_bars_file(path, symbol, allow_missing_volume=True).bars


def load_truth(path: Path, symbol: str, interval: str, start: int, count: int) -> TruthBars:
    """`count` consecutive bars from a shared-data file read by the app's own importer."""
    bars = _read(Path(path), symbol)
    sl = slice(start, start + count)
    return TruthBars(symbol, interval, (bars.ts[sl] // 1_000_000_000).astype(np.int64),
                     bars.open[sl].copy(), bars.high[sl].copy(), bars.low[sl].copy(), bars.close[sl].copy(),
                     bars.volume[sl].copy())


# -- lightweight-charts in headless Chromium ------------------------------------------------------
THEMES = {
    "dark": {"bg": "#131722", "text": "#d1d4dc", "grid": "#2a2e39", "up": "#26a69a", "down": "#ef5350"},
    "light": {"bg": "#ffffff", "text": "#191919", "grid": "#e1e3eb", "up": "#089981", "down": "#f23645"},
    # never rendered while the reader was written: a held-out style (blue up, orange down, navy)
    "navy": {"bg": "#0c1a33", "text": "#c8d0e0", "grid": "#1c2a45", "up": "#2196f3", "down": "#ff9800"},
}

_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<style>html,body{margin:0;padding:0;overflow:hidden;background:%(bg)s}#c{position:absolute;inset:0}</style>
<script src="%(js)s"></script></head><body><div id="c"></div><script>
window.renderChart = function(spec) {
  const el = document.getElementById('c');
  el.innerHTML = '';
  const opts = {
    width: spec.width, height: spec.height,
    layout: {background: {type: 'solid', color: spec.bg}, textColor: spec.text, fontSize: 12},
    grid: {vertLines: {color: spec.grid}, horzLines: {color: spec.grid}},
    timeScale: {timeVisible: true, secondsVisible: false, rightOffset: 2},
    rightPriceScale: {mode: spec.log ? 1 : 0},
  };
  if (spec.decimalComma) {
    opts.localization = {priceFormatter: p => p.toFixed(2).replace('.', ',')};
  }
  const chart = LightweightCharts.createChart(el, opts);
  if (spec.volume) {  // added first so it is drawn under the candles, as TradingView does
    const v = chart.addSeries(LightweightCharts.HistogramSeries, {priceFormat: {type: 'volume'}, priceScaleId: ''});
    v.priceScale().applyOptions({scaleMargins: {top: 0.8, bottom: 0}});
    v.setData(spec.vol);
  }
  const s = chart.addSeries(LightweightCharts.CandlestickSeries, {
    upColor: spec.hollow ? 'rgba(0,0,0,0)' : spec.up, downColor: spec.down,
    borderUpColor: spec.up, borderDownColor: spec.down, wickUpColor: spec.up, wickDownColor: spec.down,
    borderVisible: true,
  });
  s.setData(spec.bars);
  chart.timeScale().fitContent();
  const old = document.getElementById('legend');
  if (old) old.remove();
  if (spec.legend) {  // TradingView-style legend line over the top-left of the pane
    const lg = document.createElement('div');
    lg.id = 'legend';
    lg.textContent = spec.legend;
    lg.style.cssText = 'position:absolute;left:12px;top:8px;z-index:3;font:13px sans-serif;color:' + spec.text;
    document.body.appendChild(lg);
  }
  window._chart = chart;
  return true;
};
</script></body></html>"""


def _legend(truth: TruthBars, decimal_comma: bool) -> str:
    """The legend TradingView prints: symbol · interval · exchange, then the last bar's OHLC."""
    exchange = {"ES": "CME", "SPY": "ARCA"}.get(truth.symbol, "NYSE")
    name = {"ES": "ES1!"}.get(truth.symbol, truth.symbol)
    iv = {"1m": "1", "5m": "5", "15m": "15", "30m": "30", "1h": "1h", "1D": "D"}.get(truth.interval, truth.interval)

    def f(v: float) -> str:
        s = f"{v:,.2f}"
        return s.replace(",", " ").replace(".", ",") if decimal_comma else s

    return (f"{name} · {iv} · {exchange}   O {f(truth.open[-1])}  H {f(truth.high[-1])}  "
            f"L {f(truth.low[-1])}  C {f(truth.close[-1])}")


class LwcRenderer:
    """One headless Chromium that renders lightweight-charts pages; use as a context manager."""

    def __init__(self) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self._tmp = tempfile.TemporaryDirectory(prefix="lwc-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--hide-scrollbars", "--allow-file-access-from-files",
                     f"--user-data-dir={self._tmp.name}/profile"):
            opts.add_argument(flag)
        self._driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
        self._page_theme: str | None = None

    def __enter__(self) -> LwcRenderer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._driver.quit()
        self._tmp.cleanup()

    def render(self, truth: TruthBars, *, theme: str = "dark", width: int = 1000, height: int = 600,
               volume: bool = True, hollow: bool = False, decimal_comma: bool = False,
               log: bool = False, legend: bool = False) -> tuple[bytes, np.ndarray]:
        """PNG bytes and the x pixel of every bar's centre (from the library's own time scale)."""
        t = THEMES[theme]
        if self._page_theme != theme:
            page = Path(self._tmp.name) / f"lwc-{theme}.html"
            page.write_text(_PAGE % {"bg": t["bg"], "js": LWC_JS.as_uri()}, encoding="utf-8")
            self._driver.get(page.as_uri())
            self._page_theme = theme
        self._driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                     {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        up, down = t["up"], t["down"]
        spec = {"width": width, "height": height, "bg": t["bg"], "text": t["text"], "grid": t["grid"],
                "up": up, "down": down, "hollow": hollow, "decimalComma": decimal_comma, "log": log,
                "volume": volume, "legend": _legend(truth, decimal_comma) if legend else None,
                "bars": [{"time": int(ti), "open": float(o), "high": float(h), "low": float(lo), "close": float(c)}
                         for ti, o, h, lo, c in zip(truth.time, truth.open, truth.high, truth.low, truth.close,
                                                    strict=True)],
                "vol": [{"time": int(ti), "value": float(v), "color": (up if c >= o else down) + "80"}
                        for ti, v, o, c in zip(truth.time, truth.volume, truth.open, truth.close, strict=True)]}
        self._driver.execute_script(f"return window.renderChart({json.dumps(spec)});")
        # two animation frames so the canvas is painted before the capture
        self._driver.execute_async_script(
            "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done(1)));")
        shot = self._driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})
        xs = self._driver.execute_script(
            "return arguments[0].map(t => window._chart.timeScale().timeToCoordinate(t));",
            [int(t) for t in truth.time])
        return base64.b64decode(shot["data"]), np.array([np.nan if x is None else x for x in xs], dtype=float)


# -- the app's own chart ------------------------------------------------------------------------
def render_app_chart(truth: TruthBars, *, theme: str = "dark", width: int = 1000,
                     height: int = 600) -> tuple[bytes, np.ndarray]:
    """Render with widgets.chart.ChartWidget offscreen: PNG bytes and each bar's x pixel (NaN when
    the bar is outside the view)."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtCore, QtWidgets

    from core.market.bars import Bars
    from core.market.intervals import parse_interval
    from widgets.chart import ChartWidget
    from widgets.theme import DARK, LIGHT

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    w = ChartWidget(theme=DARK if theme == "dark" else LIGHT)
    w.resize(width, height)
    w.show()
    app.processEvents()
    ts = pd.to_datetime(truth.time, unit="s").to_numpy()
    bars = Bars.from_arrays(ts, truth.open, truth.high, truth.low, truth.close, truth.volume)
    w.set_title(truth.symbol)
    w.set_bars(bars, parse_interval(truth.interval))
    w.flush()
    app.processEvents()
    img = w.grab().toImage()
    start, stop = w.visible_range()
    xs = np.full(len(truth), np.nan)
    for i in range(start, stop):
        xs[i] = w.map_to_widget(float(i), float(truth.close[i])).x() + 0.5
    buf = QtCore.QBuffer()
    buf.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    img.save(buf, "PNG")
    w.close()
    w.deleteLater()
    app.processEvents()
    return bytes(buf.data()), xs


# -- mplfinance ---------------------------------------------------------------------------------
def render_mplfinance(truth: TruthBars, *, style: str = "yahoo", width: int = 1000, height: int = 600,
                      volume: bool = True) -> tuple[bytes, np.ndarray]:
    """Render with mplfinance (Agg backend): PNG bytes and each bar's x pixel, from the axes'
    own data→pixel transform (mplfinance puts bar i at x = i)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplfinance as mpf

    idx = pd.DatetimeIndex(pd.to_datetime(truth.time, unit="s", utc=True).tz_convert("America/New_York")
                           .tz_localize(None))
    df = pd.DataFrame({"Open": truth.open, "High": truth.high, "Low": truth.low, "Close": truth.close,
                       "Volume": truth.volume}, index=idx)
    dpi = 100
    fig, axes = mpf.plot(df, type="candle", style=style, volume=volume, returnfig=True,
                         figsize=(width / dpi, height / dpi), title=f"{truth.symbol}",
                         scale_padding={"left": 0.3, "right": 1.2, "top": 0.6, "bottom": 1.0})
    fig.set_dpi(dpi)
    fig.canvas.draw()
    ax = axes[0]
    xs = ax.transData.transform(np.column_stack([np.arange(len(truth)), truth.close]))[:, 0]
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue(), xs
