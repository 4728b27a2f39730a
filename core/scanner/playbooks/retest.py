"""The retest shape shared by the ORB retest and the key-level break-and-retest: a level broke,
the last 3 bars came back within tol of it without losing it, and this bar closes beyond the
previous bar's extreme."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.scanner.features import Features
from core.scanner.playbooks.base import bars_for, row_max, row_min, tolerance


@dataclass(frozen=True, slots=True)
class RetestWindow:
    close: np.ndarray
    tol: np.ndarray
    lo3: np.ndarray       # low of the last 3 bars (the retest's extreme, longs)
    hi3: np.ndarray
    cmax: np.ndarray      # highest close in the hour before the retest bars
    cmin: np.ndarray
    prev_hi: np.ndarray
    prev_lo: np.ndarray

    @classmethod
    def at(cls, f: Features, idx: np.ndarray) -> RetestWindow:
        """The window at these bars (kept per frame: the ORB retest and break-and-retest share it)."""
        idx = np.asarray(idx, dtype=np.int64)
        return f.derived(("retest", idx.tobytes()), lambda: cls._at(f, idx))

    @classmethod
    def _at(cls, f: Features, idx: np.ndarray) -> RetestWindow:
        hour = bars_for(f, 60)
        return cls(
            close=f.close[idx], tol=tolerance(f, idx),
            lo3=row_min(f.session_window(f.low, idx, 3)), hi3=row_max(f.session_window(f.high, idx, 3)),
            cmax=row_max(f.session_window(f.close, idx, hour, end_lag=3)),
            cmin=row_min(f.session_window(f.close, idx, hour, end_lag=3)),
            prev_hi=f.lag(f.high, idx, 1), prev_lo=f.lag(f.low, idx, 1))

    def held(self, up: np.ndarray, down: np.ndarray, broke_up: np.ndarray,
             broke_down: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(long, short) triggers: back within tol of the broken level, held, and going."""
        c, tol = self.close, self.tol
        with np.errstate(invalid="ignore"):
            long_ = (c > up) & broke_up & (self.lo3 <= up + tol) & (self.lo3 >= up - tol) & (c > self.prev_hi)
            short = (c < down) & broke_down & (self.hi3 >= down - tol) & (self.hi3 <= down + tol) & (c < self.prev_lo)
        return long_, short
