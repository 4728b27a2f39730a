"""Growable column store for the bars on screen.

The chart keeps its own arrays (with spare capacity) so appending a live bar is O(1) amortised;
`Bars.upsert` would copy the whole frame on every tick.
"""

from __future__ import annotations

import numpy as np

from core.errors import InputError
from core.market.bars import Bar, Bars

_FIELDS = ("open", "high", "low", "close", "volume")


class BarStore:
    """OHLCV columns plus ts (UTC ns); views are valid until the next append or replace."""

    def __init__(self) -> None:
        self._n = 0
        self._ts = np.empty(0, dtype=np.int64)
        self._cols = {f: np.empty(0, dtype=np.float64) for f in _FIELDS}
        self.low_min = np.inf    # running extremes: the items' bounding rect only needs to grow
        self.high_max = -np.inf
        self.volume_max = 0.0

    def __len__(self) -> int:
        return self._n

    # -- views --------------------------------------------------------------------------------
    @property
    def ts(self) -> np.ndarray:
        return self._ts[: self._n]

    @property
    def open(self) -> np.ndarray:
        return self._cols["open"][: self._n]

    @property
    def high(self) -> np.ndarray:
        return self._cols["high"][: self._n]

    @property
    def low(self) -> np.ndarray:
        return self._cols["low"][: self._n]

    @property
    def close(self) -> np.ndarray:
        return self._cols["close"][: self._n]

    @property
    def volume(self) -> np.ndarray:
        return self._cols["volume"][: self._n]

    def bar(self, i: int) -> Bar:
        c = self._cols
        return Bar(int(self._ts[i]), float(c["open"][i]), float(c["high"][i]), float(c["low"][i]),
                   float(c["close"][i]), float(c["volume"][i]))

    # -- mutation -----------------------------------------------------------------------------
    def replace(self, bars: Bars) -> None:
        n = len(bars)
        cap = max(16, n + n // 4)
        self._ts = np.empty(cap, dtype=np.int64)
        self._ts[:n] = bars.ts
        for f in _FIELDS:
            col = np.empty(cap, dtype=np.float64)
            col[:n] = getattr(bars, f)
            self._cols[f] = col
        self._n = n
        if n:
            self.low_min = float(bars.low.min())
            self.high_max = float(bars.high.max())
            self.volume_max = float(bars.volume.max())
        else:
            self.low_min, self.high_max, self.volume_max = np.inf, -np.inf, 0.0

    def upsert(self, bar: Bar) -> tuple[int, bool]:
        """Replace the last bar (same ts) or append a newer one; returns (index, appended)."""
        values = (bar.open, bar.high, bar.low, bar.close, bar.volume)
        if not all(np.isfinite(values)):
            raise InputError("bar", f"non-finite price or volume in {bar!r}")
        n = self._n
        if n and bar.ts == self._ts[n - 1]:
            i, appended = n - 1, False
        elif n and bar.ts < self._ts[n - 1]:
            raise InputError("bar.ts", f"bar at {bar.ts} is older than the last bar {int(self._ts[n - 1])}")
        else:
            i, appended = n, True
            if n == len(self._ts):
                self._grow()
            self._n = n + 1
        self._ts[i] = bar.ts
        c = self._cols
        c["open"][i], c["high"][i], c["low"][i] = bar.open, bar.high, bar.low
        c["close"][i], c["volume"][i] = bar.close, bar.volume
        self.low_min = min(self.low_min, bar.low)
        self.high_max = max(self.high_max, bar.high)
        self.volume_max = max(self.volume_max, bar.volume)
        return i, appended

    def _grow(self) -> None:
        cap = max(16, len(self._ts) * 3 // 2)
        ts = np.empty(cap, dtype=np.int64)
        ts[: self._n] = self._ts[: self._n]
        self._ts = ts
        for f in _FIELDS:
            col = np.empty(cap, dtype=np.float64)
            col[: self._n] = self._cols[f][: self._n]
            self._cols[f] = col
