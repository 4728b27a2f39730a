"""Indicator lines as chunk-cached LineItems (widgets/chart/lines.py): drawn across chunk borders
without a gap, not rebuilt by a pan, and drawn per pixel column when zoomed far out."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from core.market.intervals import M1, M5
from tests.chart_fixtures import grab, mask, rgb_of
from widgets.chart import CHUNK, ChartWidget


def test_line_spans_chunk_borders_and_a_pan_rebuilds_nothing(chart: ChartWidget, spy5) -> None:  # type: ignore[no-untyped-def]
    bars, _ = spy5
    chart.set_bars(bars[:3000], M5)
    vb = chart.price_plot.getViewBox()
    x0 = 2 * CHUNK - 40                     # the view holds the border between chunks 1 and 2
    vb.setXRange(x0, x0 + 80, padding=0)
    # A line at mid-range of the visible bars: flat, so every column of the view must be drawn.
    i0, i1 = chart.visible_range()
    mid = float((bars.low[i0:i1].min() + bars.high[i0:i1].max()) / 2)
    chart.set_line("flat", np.full(3000, mid), "#ff00ff", width=2.0)
    item = chart.line_item("flat")
    cols = mask(rgb_of(grab(chart)), "#ff00ff").any(axis=0)
    left, right = chart.map_to_widget(x0 + 1, mid).x(), chart.map_to_widget(x0 + 79, mid).x()
    assert cols[left:right].mean() > 0.97, "a gap in the line (chunk border at bar 512?)"
    border = chart.map_to_widget(2 * CHUNK, mid).x()
    assert cols[border - 3:border + 4].all()
    builds = item.chunk_builds
    assert builds == 2                       # the two chunks in view
    for d in (5, -5, 5, -5):                 # pans inside those chunks: nothing rebuilt
        (a, b), _ = vb.viewRange()
        vb.setXRange(a + d, b + d, padding=0)
        grab(chart)
    assert item.chunk_builds == builds
    x, y = item.getData()
    assert len(x) == 3000 and np.allclose(y, mid)


def test_zoomed_out_line_is_drawn_per_pixel_column(chart: ChartWidget, es1m) -> None:  # type: ignore[no-untyped-def]
    bars = es1m[:60_000]
    chart.set_bars(bars, M1)
    vb = chart.price_plot.getViewBox()
    vb.setXRange(-0.5, len(bars) - 0.5, padding=0)       # ~60 bars per pixel
    close = bars.close.astype(np.float64)
    chart.set_line("close", close, "#ff00ff", width=1.0)
    cols = mask(rgb_of(grab(chart)), "#ff00ff").any(axis=0)
    item = chart.line_item("close")
    assert item.chunk_builds == 0                         # no chunk path: the per-column line instead
    left, right = chart.map_to_widget(100, 0).x(), chart.map_to_widget(len(bars) - 100, 0).x()
    assert cols[left:right].mean() > 0.9
    # Its extremes are the series' extremes (min/max per column, not a sample): right of the legend
    # (magenta text too), the line's highest and lowest pixels are at those bars' high and low close.
    c0 = chart._legend.geometry().right() + 5
    x_at = chart.map_to_widget(0, 0).x()
    per_px = len(bars) / (chart.map_to_widget(len(bars), 0).x() - x_at)
    i0 = int((c0 - x_at) * per_px) + 1
    end = chart.map_to_widget(len(bars) - 1, 0).x() + 1
    rows = np.flatnonzero(mask(rgb_of(grab(chart)), "#ff00ff")[:, c0:end].any(axis=1))
    top = chart.map_to_widget(0, float(close[i0:].max())).y()
    bottom = chart.map_to_widget(0, float(close[i0:].min())).y()
    assert abs(rows.min() - top) <= 2 and abs(rows.max() - bottom) <= 2


def _render(item: object, size: QtCore.QSize, tr: QtGui.QTransform, region: QtGui.QRegion | None) -> QtGui.QImage:
    img = QtGui.QImage(size, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(0)
    p = QtGui.QPainter(img)
    if region is not None:
        p.setClipRegion(region)
    p.setTransform(tr)
    item.paint(p, QtWidgets.QStyleOptionGraphicsItem(), None)  # type: ignore[attr-defined]
    p.end()
    return img


def _wide_close_line(chart: ChartWidget, spy5):  # type: ignore[no-untyped-def]
    """1,000 SPY 5-min bars with their close as a width-1.6 magenta line, painted once:
    (bars, the line item, its device transform, the viewport size)."""
    bars, _ = spy5
    chart.set_bars(bars[:1000], M5)
    chart.set_line("close", bars.close[:1000].astype(np.float64), "#ff00ff", width=1.6)
    grab(chart)
    item = chart.line_item("close")
    view = chart.graphics
    return bars, item, item.deviceTransform(view.viewportTransform()), view.viewport().size()


def test_line_under_a_multi_rect_clip_paints_what_a_full_paint_does(chart: ChartWidget, spy5) -> None:  # type: ignore[no-untyped-def]
    """A live tick repaints a region of several rects; the line is then drawn rect by rect
    (Qt strokes far slower against a complex clip): inside the region the pixels must be those of
    an unclipped paint, outside it nothing."""
    bars, item, tr, size = _wide_close_line(chart, spy5)
    view = chart.graphics
    mid_y = chart.map_to_widget(990, float(bars.close[990])).y() - view.geometry().y()
    region = (QtGui.QRegion(0, mid_y - 5, size.width(), 10) | QtGui.QRegion(size.width() - 120, 0, 16, size.height())
              | QtGui.QRegion(size.width() - 90, 0, 60, size.height() // 2))
    probe = QtGui.QImage(size, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    p = QtGui.QPainter(probe)
    p.setClipRegion(region)
    p.setTransform(tr)
    assert len(item._clip_rects(p) or []) >= 2          # the rect-by-rect path is the one taken
    p.end()
    full = _render(item, size, tr, None)
    clipped = _render(item, size, tr, region)
    inside = QtGui.QImage(size, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    inside.fill(0)
    p = QtGui.QPainter(inside)
    p.setClipRegion(region)
    p.drawImage(0, 0, full)
    p.end()
    assert clipped == inside
    assert mask(rgb_of(clipped), "#ff00ff").any()      # the line crosses the region


def test_wide_line_from_kept_outlines_has_the_pixels_of_a_stroke(chart: ChartWidget, spy5) -> None:  # type: ignore[no-untyped-def]
    """A width-1.6 line is filled from device-pixel outlines kept while the view stays: the same
    pixels as Qt stroking the line, on the first paint and on a repaint from the kept outlines."""
    _bars, item, tr, size = _wide_close_line(chart, spy5)
    stroked = QtGui.QImage(size, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    stroked.fill(0)
    p = QtGui.QPainter(stroked)
    p.setTransform(tr)
    p.setPen(item.opts["pen"])
    i0, i1 = chart.visible_range()
    for k in range(max(0, i0 - 1) // CHUNK, min(1000, i1 + 1) // CHUNK + 1):
        p.drawPath(item._chunk(k))
    p.end()
    first = _render(item, size, tr, None)
    kept = item._outlines
    again = _render(item, size, tr, None)
    assert kept and item._outlines.keys() == kept.keys() and all(item._outlines[k] is kept[k] for k in kept)
    assert first == stroked and again == stroked
    assert mask(rgb_of(first), "#ff00ff").sum() > 500
