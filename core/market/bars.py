"""The one bar frame used everywhere: UTC nanosecond timestamps and float64 OHLCV columns.

Plain numpy arrays (no pandas on hot paths) so indicators, the chart and the scanner share the
same memory without copies. A frame is immutable by convention: operations return new frames.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from core.errors import DataError

COLUMNS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar; ts is the bar start in UTC nanoseconds since the epoch."""

    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.ts / 1e9, tz=UTC)

    def merged(self, other: Bar) -> Bar:
        """This bar extended by a later bar (same bucket): keeps open and ts, widens the range."""
        return Bar(
            self.ts, self.open, max(self.high, other.high), min(self.low, other.low),
            other.close, self.volume + other.volume,
        )


@dataclass(frozen=True, slots=True)
class Bars:
    """Columnar OHLCV frame. ts: int64 UTC ns (bar start), strictly increasing."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def empty(cls) -> Bars:
        z = np.empty(0, dtype=np.float64)
        return cls(np.empty(0, dtype=np.int64), z, z.copy(), z.copy(), z.copy(), z.copy())

    @classmethod
    def from_arrays(
        cls,
        ts: np.ndarray,
        open: np.ndarray,
        high: np.ndarray,
        low: np.ndarray,
        close: np.ndarray,
        volume: np.ndarray | None = None,
        *,
        validate: bool = True,
    ) -> Bars:
        ts = np.asarray(ts)
        if np.issubdtype(ts.dtype, np.datetime64):
            ts = ts.astype("datetime64[ns]").view(np.int64)
        ts = np.ascontiguousarray(ts, dtype=np.int64)
        cols = [np.ascontiguousarray(a, dtype=np.float64) for a in (open, high, low, close)]
        vol = (
            np.zeros(len(ts), dtype=np.float64)
            if volume is None
            else np.ascontiguousarray(volume, dtype=np.float64)
        )
        bars = cls(ts, *cols, vol)
        if validate:
            bars.validate()
        return bars

    @classmethod
    def from_bars(cls, items: list[Bar]) -> Bars:
        if not items:
            return cls.empty()
        arr = np.array([(b.open, b.high, b.low, b.close, b.volume) for b in items], dtype=np.float64)
        ts = np.array([b.ts for b in items], dtype=np.int64)
        return cls(ts, *(np.ascontiguousarray(arr[:, i]) for i in range(5)))

    @classmethod
    def from_pandas(cls, df: pd.DataFrame) -> Bars:
        """From a frame indexed by tz-aware timestamps with open/high/low/close[/volume] columns."""
        idx = df.index
        if not isinstance(idx, pd.DatetimeIndex) or idx.tz is None:
            raise DataError("index: bars need a tz-aware DatetimeIndex")
        ts = idx.tz_convert("UTC").as_unit("ns").asi8
        vol = df["volume"].to_numpy() if "volume" in df.columns else None
        return cls.from_arrays(
            ts, df["open"].to_numpy(), df["high"].to_numpy(), df["low"].to_numpy(),
            df["close"].to_numpy(), vol,
        )

    # -- checks -------------------------------------------------------------------------------
    def validate(self) -> None:
        n = len(self.ts)
        for name in COLUMNS:
            col = getattr(self, name)
            if len(col) != n:
                raise DataError(f"{name}: length {len(col)} differs from ts length {n}")
            if n and not np.isfinite(col).all():
                bad = int(np.flatnonzero(~np.isfinite(col))[0])
                raise DataError(f"{name}: NaN or infinite value at row {bad}")
        if n > 1:
            d = np.diff(self.ts)
            if (d == 0).any():
                raise DataError(f"ts: duplicate timestamp at row {int(np.flatnonzero(d == 0)[0]) + 1}")
            if (d < 0).any():
                raise DataError(f"ts: timestamps not sorted at row {int(np.flatnonzero(d < 0)[0]) + 1}")

    # -- access -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ts)

    def __getitem__(self, key: slice | np.ndarray) -> Bars:
        if isinstance(key, (int, np.integer)):
            raise TypeError("use .bar(i) for a single bar")
        return Bars(self.ts[key], self.open[key], self.high[key], self.low[key], self.close[key],
                    self.volume[key])

    def bar(self, i: int) -> Bar:
        return Bar(int(self.ts[i]), float(self.open[i]), float(self.high[i]), float(self.low[i]),
                   float(self.close[i]), float(self.volume[i]))

    def __iter__(self) -> Iterator[Bar]:
        for i in range(len(self)):
            yield self.bar(i)

    @property
    def last(self) -> Bar | None:
        return self.bar(len(self) - 1) if len(self) else None

    @property
    def index(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.ts.view("datetime64[ns]")).tz_localize("UTC")

    def to_pandas(self, tz: str = "UTC") -> pd.DataFrame:
        df = pd.DataFrame({c: getattr(self, c) for c in COLUMNS}, index=self.index)
        df.index.name = "ts"
        return df if tz == "UTC" else df.tz_convert(tz)

    def between(self, start_ns: int | None = None, end_ns: int | None = None) -> Bars:
        """Bars with start_ns <= ts < end_ns."""
        lo = 0 if start_ns is None else int(np.searchsorted(self.ts, start_ns, "left"))
        hi = len(self) if end_ns is None else int(np.searchsorted(self.ts, end_ns, "left"))
        return self[lo:hi]

    def tail(self, n: int) -> Bars:
        return self[max(0, len(self) - n):]

    # -- combination --------------------------------------------------------------------------
    def concat(self, other: Bars) -> Bars:
        """Append later bars; an overlapping first bar of `other` replaces this frame's last ones."""
        if not len(other):
            return self
        if not len(self):
            return other
        keep = int(np.searchsorted(self.ts, other.ts[0], "left"))
        return Bars(*(np.concatenate([getattr(self, c)[:keep], getattr(other, c)])
                      for c in ("ts", *COLUMNS)))

    def upsert(self, bar: Bar) -> Bars:
        """Replace the bar with the same ts (the in-progress bar) or append a newer one."""
        if len(self) and self.ts[-1] == bar.ts:
            return self[:-1].concat(Bars.from_bars([bar]))
        if len(self) and bar.ts < self.ts[-1]:
            raise DataError(f"ts: bar at {bar.ts} is older than the last bar {int(self.ts[-1])}")
        return self.concat(Bars.from_bars([bar]))

    def shifted(self, delta_ns: int) -> Bars:
        return Bars(self.ts + np.int64(delta_ns), self.open, self.high, self.low, self.close,
                    self.volume)

    def equals(self, other: Bars) -> bool:
        return len(self) == len(other) and all(
            np.array_equal(getattr(self, c), getattr(other, c)) for c in ("ts", *COLUMNS)
        )
