"""Key levels, liquidity pools and POC/VAH/VAL: one LevelsItem per group, painted in pixels."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest

from core.errors import InputError
from core.market.intervals import M5
from tests.chart_fixtures import grab, mask, rgb_of
from widgets.chart import ChartWidget
from widgets.chart.levels import Level, LevelsItem
from widgets.theme import DARK


def _rows_with(rgb: np.ndarray, color: str, x0: int, x1: int) -> np.ndarray:
    """Rows where `color` covers at least a third of columns x0..x1 (a dashed line does)."""
    return np.flatnonzero(mask(rgb, color)[:, x0:x1].mean(axis=1) > 0.3)


def test_levels_paint_at_their_price_across_the_view_and_follow_a_pan(chart: ChartWidget, spy5) -> None:  # type: ignore[no-untyped-def]
    bars, _ = spy5
    chart.set_bars(bars[:3000], M5)
    i0, i1 = chart.visible_range()
    lo, hi = float(bars.low[i0:i1].min()), float(bars.high[i0:i1].max())
    mid = (lo + hi) / 2
    chart.set_levels([("PDH", mid)])
    assert [(it.value(), it.isVisible()) for it in chart.level_items()] == [(mid, True)]
    x0, x1 = chart.map_to_widget(i0, mid).x(), chart.map_to_widget(i1 - 1, mid).x()
    rows = _rows_with(rgb_of(grab(chart)), DARK.level, x0, x1)
    y = chart.map_to_widget(i0, mid).y()
    assert len(rows) and np.abs(rows - y).min() <= 1
    # Panned: the line still spans the new view at its (new) row.
    vb = chart.price_plot.getViewBox()
    vb.setXRange(i0 - 40, i1 - 40, padding=0)
    j0, j1 = chart.visible_range()
    y2 = chart.map_to_widget(j0, mid).y()
    rows = _rows_with(rgb_of(grab(chart)), DARK.level, chart.map_to_widget(j0, mid).x(),
                      chart.map_to_widget(j1 - 1, mid).x())
    assert len(rows) and np.abs(rows - y2).min() <= 1
    # The overlay toggle hides them; on again shows them.
    chart.set_overlay_visible("levels", False)
    assert not any(it.isVisible() for it in chart.level_items())
    assert not len(_rows_with(rgb_of(grab(chart)), DARK.level, x0, x1))
    chart.set_overlay_visible("levels", True)
    assert len(_rows_with(rgb_of(grab(chart)), DARK.level, x0, x1))


def test_a_label_at_the_top_edge_stays_inside_the_view(chart: ChartWidget, spy5) -> None:  # type: ignore[no-untyped-def]
    bars, _ = spy5
    chart.set_bars(bars[:3000], M5)
    (_, _), (y0, y1) = chart.price_plot.getViewBox().viewRange()
    top = y1 - (y1 - y0) * 0.002          # a hair below the top edge: no room above for the label
    chart.set_liquidity([("EQH ×3", top, False)])
    rgb = rgb_of(grab(chart))
    i0, i1 = chart.visible_range()
    y = chart.map_to_widget(i0, top).y()
    x_label = chart.map_to_widget(i0 + int(0.3 * (i1 - i0)), top).x()
    text = mask(rgb, DARK.last_price)[:, x_label: x_label + 60]
    assert text[y + 3: y + 20].any()      # the label is drawn below the line
    assert chart.describe()["overlays"]["liquidity"]["items"] == [{"label": "EQH ×3", "price": top, "swept": False}]


def test_the_same_levels_again_change_nothing_and_bad_input_names_the_field(qtbot) -> None:  # type: ignore[no-untyped-def]
    item = LevelsItem()
    levels = [Level(100.0, "PDH 100.00", "#b39ddb"), Level(99.0, "PDL 99.00", "#b39ddb", "dot", 0.75)]
    assert item.set_levels(levels) is True
    assert item.set_levels(list(levels)) is False
    assert item.set_levels(levels[:1]) is True
    assert [ln.value() for ln in item.lines()] == [100.0]
    with pytest.raises(InputError) as err:
        item.set_levels([Level(1.0, "x", "nope")])
    assert err.value.field == "levels[0].color"
    assert [ln.value() for ln in item.lines()] == [100.0]   # a refused set leaves the old one
