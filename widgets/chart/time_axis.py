"""Bottom axis that maps bar index -> bar start time, shown in America/New_York.

Ticks go where the New York clock crosses a round step (5 min, 1 h, a day, a month ...), picked so
the labels do not crowd. A tick shows the date when its day differs from the previous tick's
(or, for the first tick, from the previous bar's), the year when the year changes, HH:MM otherwise;
daily charts show dates and years.
Daily bars stamped in the evening (futures sessions open at 18:00 ET the day before; a UTC-midnight
stamp is 19:00/20:00 ET) belong to the next day's session: `session_time` shifts them.
"""

from __future__ import annotations

import functools
import math
from datetime import datetime, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyqtgraph as pg

from core.market.intervals import Interval
from widgets.chart.store import BarStore

NEW_YORK = ZoneInfo("America/New_York")
_NS_MIN = 60_000_000_000
_NS_DAY = 86_400_000_000_000
# (kind, size): minute steps in minutes, "day" in days, "month" in months
_STEPS: tuple[tuple[str, int], ...] = (
    *(("min", m) for m in (1, 2, 5, 10, 15, 30, 60, 120, 240)),
    ("day", 1), ("month", 1), ("month", 3), ("month", 6), ("month", 12), ("month", 60),
)
_LABEL_PX = 80  # room one label needs
_EVENING_HOUR = 17  # a daily bar stamped at/after 17:00 ET is the next day's session


def ny_time(ts_ns: int) -> datetime:
    """A UTC nanosecond timestamp as an aware New York datetime."""
    return datetime.fromtimestamp(ts_ns // 1_000_000_000, tz=NEW_YORK)


def session_time(t: datetime) -> datetime:
    """New York time of a daily bar moved onto its session day (see module docstring)."""
    return t + timedelta(days=1) if t.hour >= _EVENING_HOUR else t


_TABLE_YEARS = ("1990-01-01", "2060-01-01")


@functools.cache
def _ny_offsets() -> tuple[np.ndarray, np.ndarray]:
    """New York's UTC-offset changes (UTC ns) and the offset in force from each, built once from
    the tz database: the axis converts on every pan frame, and pandas' tz_convert per call cost
    ~2 ms of each one."""
    hours = pd.date_range(*_TABLE_YEARS, freq="h", tz="UTC")
    offset = (hours.tz_convert(NEW_YORK).tz_localize(None).as_unit("ns").asi8
              - hours.as_unit("ns").asi8)
    change = np.concatenate([[0], np.flatnonzero(np.diff(offset)) + 1])
    return hours.as_unit("ns").asi8[change], offset[change]


def ny_wall_ns(ts_ns: np.ndarray) -> np.ndarray:
    """UTC ns -> New York wall-clock ns (DST-aware), for bucketing by local time."""
    ts = np.asarray(ts_ns, dtype=np.int64)
    starts, offsets = _ny_offsets()
    if len(ts) and starts[0] <= ts.min() and ts.max() < starts[0] + (70 * 365 * 86_400 * 10**9):
        return ts + offsets[np.searchsorted(starts, ts, "right") - 1]
    idx = pd.DatetimeIndex(ts.view("datetime64[ns]"), tz="UTC")
    return idx.tz_convert(NEW_YORK).tz_localize(None).as_unit("ns").asi8


def _buckets(wall_ns: np.ndarray, kind: str, size: int) -> np.ndarray:
    if kind == "min":
        return wall_ns // (size * _NS_MIN)
    if kind == "day":
        return wall_ns // _NS_DAY
    months = wall_ns.view("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
    return months // size


class TimeAxis(pg.AxisItem):
    """Time axis over bar indices; reads timestamps from the chart's BarStore."""

    def __init__(self, store: BarStore, orientation: str = "bottom", **kwargs: object) -> None:
        super().__init__(orientation, **kwargs)
        self._store = store
        self._interval_ns = 60 * 1_000_000_000
        self._daily = False

    def set_interval(self, interval: Interval) -> None:
        self._interval_ns = interval.ns
        self._daily = interval.is_daily
        self.picture = None  # labels depend on the interval: force a redraw
        self.update()

    def index_to_ns(self, i: int) -> int | None:
        """Bar start (UTC ns) of index i; past the last bar, extrapolated by the interval."""
        n = len(self._store)
        if i < 0 or n == 0:
            return None
        ts = self._store.ts
        if i < n:
            return int(ts[i])
        return int(ts[n - 1]) + (i - n + 1) * self._interval_ns

    # -- pg.AxisItem --------------------------------------------------------------------------
    # The price pane's hidden bottom axis (its vertical grid) and the time axis ask for the same
    # ticks on every pan frame: the second asks the first's answer (keyed by store and view).
    _shared: ClassVar[dict[int, tuple[tuple[object, ...], list[tuple[float, list[float]]]]]] = {}

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:
        n = len(self._store)
        ts = self._store.ts
        key = (minVal, maxVal, size, n, int(ts[0]) if n else 0, int(ts[n - 1]) if n else 0, self._interval_ns,
               self._daily)
        hit = TimeAxis._shared.get(id(self._store))
        if hit is not None and hit[0] == key:
            return hit[1]
        out = self._tick_values(minVal, maxVal, size)
        TimeAxis._shared[id(self._store)] = (key, out)
        return out

    def _tick_values(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:
        n = len(self._store)
        a = max(0, math.ceil(min(minVal, maxVal)))
        b = min(n - 1, math.floor(max(minVal, maxVal)))
        if n == 0 or b < a or size <= 0:
            return []
        max_ticks = max(2, int(size / _LABEL_PX))
        px_per_bar = size / max(1e-9, abs(maxVal - minVal))
        # Sampling about two bars per pixel is enough to place ticks to the pixel.
        stride = max(1, (b - a + 1) // max(1, int(2 * size)))
        idx = np.arange(a, b + 1, stride, dtype=np.int64)
        if a > 0:
            idx = np.concatenate([[a - 1], idx])  # so a bucket starting exactly at `a` counts
        wall = self._wall(idx)
        min_step_ns = self._interval_ns
        change = np.zeros(0, dtype=np.int64)
        kind, step = _STEPS[-1]
        for kind, step in _STEPS:
            if kind == "min" and step * _NS_MIN < min_step_ns:
                continue
            keys = _buckets(wall, kind, step)
            change = np.flatnonzero(keys[1:] != keys[:-1]) + 1
            gaps_px = np.diff(idx[change]) * px_per_bar
            if len(change) <= max_ticks and (len(gaps_px) == 0 or np.median(gaps_px) >= _LABEL_PX):
                break
        if stride > 1:  # a sampled change lies somewhere in (idx[j-1], idx[j]]: find the exact bar
            values = np.array([self._first_change(int(idx[j - 1]), int(idx[j]), kind, step)
                               for j in change], dtype=np.int64)
        else:
            values = idx[change]
        values = self._declutter(values, px_per_bar)
        if len(values) == 0:
            values = np.array([a], dtype=np.int64)
        spacing = (b - a + 1) / len(values)
        return [(float(spacing), [float(v) for v in values])]

    def _wall(self, idx: np.ndarray) -> np.ndarray:
        wall = ny_wall_ns(self._store.ts[idx])
        if self._daily:
            wall = wall + (24 - _EVENING_HOUR) * 3600 * 1_000_000_000  # evening stamps -> next day
        return wall

    def _first_change(self, lo: int, hi: int, kind: str, step: int) -> int:
        seg = np.arange(lo, hi + 1, dtype=np.int64)
        keys = _buckets(self._wall(seg), kind, step)
        return int(seg[int(np.argmax(keys != keys[0]))])

    def _declutter(self, values: np.ndarray, px_per_bar: float) -> np.ndarray:
        """Drop ticks closer than a label's width; a new-day tick wins over a clock-time tick."""
        if len(values) < 2:
            return values
        days = self._wall(np.concatenate([np.maximum(values - 1, 0), values])) // _NS_DAY
        new_day = days[len(values):] != days[: len(values)]
        kept: list[int] = []
        kept_day: list[bool] = []
        for v, is_day in zip(values.tolist(), new_day.tolist(), strict=True):
            if kept and (v - kept[-1]) * px_per_bar < _LABEL_PX:
                if is_day and not kept_day[-1]:
                    kept[-1], kept_day[-1] = v, True
                continue
            kept.append(v)
            kept_day.append(is_day)
        return np.array(kept, dtype=np.int64)

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        out: list[str] = []
        prev: datetime | None = None
        for k, v in enumerate(values):
            i = round(v)
            ns = self.index_to_ns(i) if abs(v - i) < 1e-6 else None
            if ns is None:
                out.append("")
                continue
            t = ny_time(ns)
            if k == 0 and prev is None:
                before = self.index_to_ns(i - 1)
                prev = ny_time(before) if before is not None else None
            out.append(self.label_for(t, prev))
            prev = t
        return out

    def label_for(self, t: datetime, prev: datetime | None) -> str:
        """Date on a new day (year on a new year for daily bars), clock time otherwise."""
        if self._daily:
            t = session_time(t)
            prev = session_time(prev) if prev is not None else None
            if prev is None or prev.year != t.year:
                return t.strftime("%Y")
            return t.strftime("%b %d")
        if prev is not None and prev.year != t.year:
            return t.strftime("%Y")
        if prev is None or prev.date() != t.date():
            return t.strftime("%b %d")
        return t.strftime("%H:%M")
