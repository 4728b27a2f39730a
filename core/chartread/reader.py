"""read_chart: a candlestick screenshot → bars in price units, axis fit, symbol/interval guesses."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from core.chartread.axis import AxisFit, fit_axis, parse_number, snap_to_grid
from core.chartread.candles import PixelCandle, bridge_grid, extend_grey_wicks, scan_candles
from core.chartread.direction import assign_direction
from core.chartread.image import load_rgb
from core.chartread.legend import Legend, parse_legend
from core.chartread.ocr import DIGITS, OcrUnavailable, Word, read_stack, read_words
from core.chartread.pane import FAR_FROM_BG, Layout, colour_clusters, distance, find_layout, label_pixels, low_text_band
from core.chartread.tags import Box, Tag, find_plot_boxes, find_tags
from core.chartread.timeaxis import TimeAxis, has_clock, read_time_axis, slanted_labels

log = logging.getLogger(__name__)

CANDLESTICK = "candlestick"
REFUSED = "not_a_candlestick_chart"
MIN_CANDLES = 5


@dataclass(frozen=True, slots=True)
class ReadBar:
    x: float
    open: float
    high: float
    low: float
    close: float
    time: str | None


@dataclass(frozen=True)
class ChartReading:
    """What a trader sees on the chart. kind is "candlestick", or REFUSED with `reason` set."""

    kind: str
    reason: str | None = None
    software: str | None = None
    symbol: dict[str, object] | None = None        # {"value", "confidence", "exchange"}
    interval: dict[str, object] | None = None      # {"value", "confidence", "source"}
    scale: str | None = None
    labels: tuple[tuple[float, float], ...] = ()   # (y, value) used by the fit
    fit_residual_pct: float | None = None
    last_price: float | None = None
    bars: tuple[ReadBar, ...] = ()
    confidence: float = 0.0
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def refused(self) -> bool:
        return self.kind != CANDLESTICK

    def interval_minutes(self) -> int | None:
        """Minutes per bar from the read interval ("5m", "1h", …), None when not read."""
        from core.errors import InputError
        from core.market.intervals import parse_interval

        value = (self.interval or {}).get("value")
        if not value:
            return None
        try:
            return parse_interval(str(value)).minutes or None
        except InputError:
            return None

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "reason": self.reason,
            "software": self.software,
            "symbol": self.symbol,
            "interval": self.interval,
            "price_axis": None if self.scale is None else {
                "scale": self.scale,
                "labels": [{"y": y, "value": v} for y, v in self.labels],
                "fit_residual_pct": self.fit_residual_pct,
            },
            "last_price": self.last_price,
            "bars": [{"x": b.x, "open": b.open, "high": b.high, "low": b.low, "close": b.close, "time": b.time}
                     for b in self.bars],
            "confidence": self.confidence,
            "warnings": list(self.warnings),
        }


def _refuse(reason: str, warnings: list[str] | None = None) -> ChartReading:
    return ChartReading(kind=REFUSED, reason=reason, warnings=tuple(warnings or ()))


def read_chart(image: bytes | Path | str | Image.Image) -> ChartReading:
    """Read a candlestick chart screenshot. Unreadable input raises InputError("image", ...);
    an image that is not a candlestick chart returns kind=REFUSED with the reason."""
    rgb = load_rgb(image)
    layout = find_layout(rgb)
    fg = distance(rgb[::2, ::2], layout.bg) > FAR_FROM_BG
    if fg.mean() < 0.002:
        return _refuse("blank image: almost every pixel is the background colour")
    warnings: list[str] = []
    plot = rgb[layout.pane_y0:layout.pane_y1, layout.pane_x0:layout.pane_x1]
    colours = colour_clusters(plot, layout.bg)
    if len(colours) > 6 and fg.mean() > 0.6:
        return _refuse("looks like a photo: many colours and no flat background")
    labels = label_pixels(plot, layout.bg, colours)
    labels = bridge_grid(labels, layout.grid_cols - layout.pane_x0, layout.grid_rows - layout.pane_y0)
    scan = scan_candles(labels, len(colours), layout.pane_y0, layout.pane_x0, [c.rgb for c in colours])
    warnings += scan.warnings
    boxes = find_plot_boxes(scan.labels if scan.labels is not None else labels, [c.rgb for c in colours],
                            set(scan.candle_colours) | set(scan.volume_colours), layout.pane_x0, layout.pane_y0)
    candles, grey = extend_grey_wicks(scan.candles, rgb, layout.bg, layout.pane_y0, layout.pane_y1)
    if grey:
        warnings.append(f"{grey} wick(s) drawn in a neutral pen followed")
    if boxes:
        kept = [c for c in candles if not any(_hidden_by(c, b) for b in boxes)]
        if len(kept) < len(candles):
            warnings.append(f"{len(candles) - len(kept)} candle(s) partly hidden behind a price tag in the plot: "
                            "left out")
        candles = kept
    if len(candles) < MIN_CANDLES:
        why = ("no colour forms separate candles (a line or area chart?)" if not scan.candle_colours
               else f"only {len(candles)} candle shapes found (need {MIN_CANDLES})")
        return _refuse(why, warnings)
    if layout.axis_side == "none":
        return _refuse("no price axis: no column of stacked labels at either side", warnings)
    try:
        axis_words, tag_words, tags, legend_words, time_words = _ocr(rgb, layout, boxes)
    except OcrUnavailable as exc:
        log.error("chart reader OCR unavailable: %s", exc)
        return _refuse(f"OCR unavailable: {exc}", warnings)
    # only labels beside the candles can be the price scale (not a volume pane's axis below them)
    # (most candles: a few stray objects, e.g. in a volume pane, must not widen the band)
    top, bottom = float(np.percentile([c.high for c in candles], 5)), float(np.percentile([c.low for c in candles], 95))
    margin = 0.15 * (layout.pane_y1 - layout.pane_y0)
    beside = [w for w in axis_words if top - margin <= w.yc <= bottom + margin]
    fit = fit_axis(snap_to_grid(beside, layout.grid_rows))
    if fit is None:
        return _refuse(f"price axis unreadable: {len(axis_words)} tokens read, fewer than 3 on one scale", warnings)
    if fit.rejected:
        warnings.append(f"{len(fit.rejected)} axis token(s) off the price scale ignored: "
                        + ", ".join(lb.text for lb in fit.rejected[:6]))
    if not _consistent(candles, fit):
        return _refuse("the shapes found do not behave like candles (wicks outside bodies)", warnings)
    direction, margin, how = assign_direction(candles, [colours[k].rgb for k in range(len(colours))])
    if margin < 0.15:
        warnings.append(f"up/down colours uncertain (decided by {how})")
    legend = parse_legend(legend_words, fit.decimal)
    spacing = scan.spacing
    xs = np.array([c.x for c in candles])
    if not has_clock(time_words):
        time_words = _slanted_time_words(rgb, layout) or time_words
    taxis = read_time_axis(time_words, xs, spacing)
    bars = tuple(_bar(c, fit, direction, t) for c, t in zip(candles, taxis.bar_times, strict=True))
    bars, legend_note = _legend_ohlc(bars, legend)
    if legend_note:
        warnings.append(legend_note)
    last_price, tag_note = _last_price(tag_words, tags, bars[-1], fit)
    if tag_note:
        warnings.append(tag_note)
    if scan.volume_colours:
        warnings.append("volume bars ignored")
    decimals = fit.decimals
    bars = tuple(ReadBar(b.x, round(b.open, decimals + 2), round(b.high, decimals + 2), round(b.low, decimals + 2),
                         round(b.close, decimals + 2), b.time) for b in bars)
    interval = _interval(legend, taxis)
    conf = _confidence(fit, candles, spacing, margin)
    return ChartReading(
        kind=CANDLESTICK, software=_software(layout, legend),
        symbol=None if legend.symbol is None else {"value": legend.symbol, "confidence": legend.symbol_confidence,
                                                   "exchange": legend.exchange},
        interval=interval, scale=fit.scale,
        labels=tuple((round(lb.y, 2), lb.value) for lb in fit.labels),
        fit_residual_pct=round(fit.residual_pct, 5), last_price=last_price, bars=bars,
        confidence=conf, warnings=tuple(warnings))


def _hidden_by(c: PixelCandle, b: Box) -> bool:
    """A candle under a box is unreliable when one of its four levels ends at (or inside) the box:
    the true end may lie behind it. A candle passing behind with all four ends visible is kept."""
    if c.x1 < b.x0 - 1 or c.x0 > b.x1:
        return False
    return any(b.y0 - 1.5 <= y <= b.y1 + 1.5 for y in (c.high, c.body_top, c.body_bottom, c.low))


def _ocr(rgb: np.ndarray, lay: Layout,
         boxes: list[Box]) -> tuple[list[Word], list[list[Word]], list[Tag], list[Word], list[Word]]:
    """Two tesseract runs side by side: digits (axis strip + tags), text (legend + time axis)."""
    x0, x1 = max(0, lay.axis_x0 - 2), min(lay.width, lay.axis_x1 + 2)
    strip = rgb[:lay.pane_y1, x0:x1].copy()
    tags = find_tags(rgb[:lay.pane_y1, lay.pane_x1:lay.width] if lay.axis_side == "right" else strip, lay.bg)
    for t in tags:
        strip[t.y0:t.y1] = lay.bg
    tx0 = lay.pane_x1 if lay.axis_side == "right" else x0
    tag_crops = [(rgb[t.y0:t.y1, tx0:x1 if lay.axis_side != "right" else lay.width], t.fill) for t in tags]
    # boxes drawn inside the plot (the app's own last-price tag) are read like axis tags
    tags = tags + [Tag(b.y0, b.y1, b.fill) for b in boxes]
    tag_crops += [(_box_crop(rgb, b, lay), b.fill) for b in boxes]
    legend_h = max(18, min(60, int(0.07 * lay.height)))
    legend = rgb[:legend_h, lay.pane_x0:lay.pane_x0 + int(0.65 * (lay.pane_x1 - lay.pane_x0))]
    time_strip = rgb[lay.pane_y1:min(lay.height, lay.pane_y1 + 30), lay.pane_x0:lay.pane_x1]
    # the two tesseract processes run side by side (one thread each)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="chartread-ocr") as pool:
        digits_job = pool.submit(read_stack, [(strip, lay.bg), *tag_crops], whitelist=DIGITS)
        text_job = pool.submit(read_stack, [(legend, lay.bg), (time_strip, lay.bg)], psm=11, scale=2)
        digit_words, text_words = digits_job.result(), text_job.result()
    axis_words = [Word(w.text, w.x0 + x0, w.y0, w.x1 + x0, w.y1, w.conf, w.line) for w in digit_words[0]]
    time_words = [Word(w.text, w.x0 + lay.pane_x0, w.y0, w.x1 + lay.pane_x0, w.y1, w.conf, w.line)
                  for w in text_words[1]]
    return axis_words, digit_words[1:], tags, text_words[0], time_words


def _slanted_time_words(rgb: np.ndarray, lay: Layout) -> list[Word]:
    """No HH:MM read on a straight row: the time labels may be turned 45° (matplotlib, mplfinance).
    One more tesseract run over the lowest text band turned level; words at their ticks' x."""
    band = low_text_band(rgb, lay.bg, lay.pane_x0, lay.pane_x1)
    if band is None:
        return []
    crop = rgb[max(0, band[0] - 2):min(lay.height, band[1] + 2), lay.pane_x0:lay.pane_x1]
    words = read_words(crop, lay.bg, psm=11, scale=2, turn_deg=-45.0)
    return [Word(w.text, w.x0 + lay.pane_x0, w.y0, w.x1 + lay.pane_x0, w.y1, w.conf, w.line)
            for w in slanted_labels(words, crop.shape[1], crop.shape[0], -45.0)]


def _box_crop(rgb: np.ndarray, b: Box, lay: Layout) -> np.ndarray:
    """A plot box without the grid lines some renderers draw over it (they read as a '1' or '|')."""
    crop = rgb[b.y0 + 1:b.y1 - 1, b.x0:b.x1].astype(np.int16)
    for x in lay.grid_cols:
        i = x - b.x0
        if 0 < i < crop.shape[1] - 1:
            crop[:, i] = (crop[:, i - 1] + crop[:, i + 1]) // 2
    return crop.astype(np.uint8)


def _consistent(candles: list[PixelCandle], fit: AxisFit) -> bool:
    ok = [c.high <= c.body_top + 0.01 and c.body_bottom <= c.low + 0.01 for c in candles]
    return float(np.mean(ok)) > 0.9


def _bar(c: PixelCandle, fit: AxisFit, direction: dict[tuple[int, bool], bool], time: str | None) -> ReadBar:
    up = direction.get((c.cls, c.hollow), True)
    top, bottom = fit.price(c.body_top), fit.price(c.body_bottom)
    o, cl = (bottom, top) if up else (top, bottom)
    return ReadBar(round(c.x, 1), o, fit.price(c.high), fit.price(c.low), cl, time)


def _legend_ohlc(bars: tuple[ReadBar, ...], legend: Legend) -> tuple[tuple[ReadBar, ...], str | None]:
    """TradingView's legend prints the newest bar's exact OHLC (unless a bar is hovered): use it
    for that bar when it agrees with the pixels (within 0.5 % of price)."""
    if not legend.ohlc or not bars:
        return bars, None
    b = bars[-1]
    got = {"open": b.open, "high": b.high, "low": b.low, "close": b.close}
    if all(abs(legend.ohlc[k] - got[k]) <= 0.005 * abs(b.close) for k in got):
        o = legend.ohlc
        return (*bars[:-1], ReadBar(b.x, o["open"], o["high"], o["low"], o["close"], b.time)), \
            "newest bar's OHLC taken from the legend"
    return bars, "the legend's OHLC does not match the newest candle (a hovered bar?): not used"


def _last_price(tag_words: list[list[Word]], tags: list[Tag], last: ReadBar,
                fit: AxisFit) -> tuple[float | None, str | None]:
    """A tag is trusted when the axis fit puts its value within the tag's rows; the trusted tag
    nearest the last close is the last-price tag, the others are indicator or line tags."""
    trusted: list[tuple[float, float]] = []
    for t, words in zip(tags, tag_words, strict=True):
        vals = [v for w in words if (v := parse_number(w.text, fit.decimal)) is not None]
        if not vals:
            continue
        v = vals[0]
        if v <= 0 and fit.scale == "log":
            continue
        # the price lies within the tag's rows (a tag is centred on its price, or hangs off its line)
        y = fit.y_of(v)
        if t.y0 - 3 <= y <= t.y1 + 3:
            trusted.append((y, v))
    y_close = fit.y_of(last.close) if last.close > 0 or fit.scale == "linear" else None
    if trusted and y_close is not None:
        yc, v = min(trusted, key=lambda p: abs(p[0] - y_close))
        others = len(trusted) - 1
        note = f"{others} other price tag(s) (indicators or lines) told apart from the last price" if others else None
        if abs(yc - y_close) <= 40:
            return v, note
    return round(last.close, fit.decimals + 2), "last price from the last candle's close (no last-price tag read)"


def _interval(legend: Legend, taxis: TimeAxis) -> dict[str, object] | None:
    if legend.interval and taxis.interval == legend.interval:
        return {"value": legend.interval, "confidence": 0.95, "source": "legend and time axis"}
    if legend.interval and taxis.interval and taxis.confidence >= 0.5:
        # two time labels or more agree with the bar spacing: that beats one legend token (OCR
        # can take a stray mark in the legend strip for an interval)
        return {"value": taxis.interval, "confidence": round(taxis.confidence * 0.8, 2),
                "source": f"time axis and bar spacing (legend read {legend.interval!r}, disagrees)"}
    if legend.interval:
        return {"value": legend.interval, "confidence": legend.interval_confidence, "source": "legend"}
    if taxis.interval:
        return {"value": taxis.interval, "confidence": taxis.confidence, "source": "time axis and bar spacing"}
    return None


def _software(lay: Layout, legend: Legend) -> str | None:
    """A guess from the layout; reported as a hint, never used to change the reading."""
    if "tradingview" in legend.text.lower():
        return "tradingview"
    return None


def _confidence(fit: AxisFit, candles: list[PixelCandle], spacing: float, margin: float) -> float:
    xs = np.array([c.x for c in candles])
    gaps = np.diff(xs)
    regular = float(np.mean(np.abs(gaps - spacing) <= max(1.0, 0.25 * spacing))) if gaps.size else 0.0
    axis = min(1.0, len(fit.labels) / 5) * (1.0 if fit.residual_pct < 0.05 else 0.7)
    return round(0.45 * axis + 0.35 * regular + 0.2 * min(1.0, 0.5 + margin), 3)
