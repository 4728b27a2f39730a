"""Fair value gaps (three-bar imbalances) with fill tracking.

A bullish gap forms at bar i when low[i] > high[i−2]: the range (high[i−2], low[i]) was skipped.
Later bars fill it as they trade back into it; `fill_fraction` is how much of it has been traded
through by the last bar given (0 untouched … 1 fully filled), `filled_ts` when it became full.
Everything is as of the last bar passed in: nothing reads beyond it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.market.bars import Bars


@dataclass(frozen=True, slots=True)
class FairValueGap:
    kind: str                 # "bullish" | "bearish"
    bottom: float
    top: float
    ts: int                   # UTC ns of the bar that completed the gap (bar i)
    index: int                # its index in the bars given
    fill_fraction: float      # 0..1
    filled: bool
    filled_ts: int | None

    @property
    def size(self) -> float:
        return self.top - self.bottom

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "bottom": self.bottom, "top": self.top, "ts": self.ts,
                "fill_fraction": self.fill_fraction, "filled": self.filled, "filled_ts": self.filled_ts}


def fair_value_gaps(bars: Bars, min_size: float = 0.0, include_filled: bool = True) -> list[FairValueGap]:
    """All gaps larger than min_size, oldest first, with their fill state as of the last bar."""
    h, lo, n = bars.high, bars.low, len(bars)
    out: list[FairValueGap] = []
    if n < 3:
        return out
    bull = np.flatnonzero(lo[2:] - h[:-2] > min_size) + 2
    bear = np.flatnonzero(lo[:-2] - h[2:] > min_size) + 2
    for j in bull:
        bottom, top = float(h[j - 2]), float(lo[j])
        later = lo[j + 1:]
        reach = float(later.min()) if len(later) else top
        frac = float(np.clip((top - reach) / (top - bottom), 0.0, 1.0))
        hit = np.flatnonzero(later <= bottom)
        out.append(FairValueGap("bullish", bottom, top, int(bars.ts[j]), int(j), frac, len(hit) > 0,
                                int(bars.ts[j + 1 + hit[0]]) if len(hit) else None))
    for j in bear:
        bottom, top = float(h[j]), float(lo[j - 2])
        later = h[j + 1:]
        reach = float(later.max()) if len(later) else bottom
        frac = float(np.clip((reach - bottom) / (top - bottom), 0.0, 1.0))
        hit = np.flatnonzero(later >= top)
        out.append(FairValueGap("bearish", bottom, top, int(bars.ts[j]), int(j), frac, len(hit) > 0,
                                int(bars.ts[j + 1 + hit[0]]) if len(hit) else None))
    out.sort(key=lambda g: g.index)
    return out if include_filled else [g for g in out if not g.filled]
