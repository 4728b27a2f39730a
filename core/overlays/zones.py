"""Supply and demand zones from ±k-bar pivots: the pivot bar's body-to-wick span, rated by the
pivot bar's volume against the median (≥ 1.8× strong, ≥ 1.1× moderate), overlapping zones merged."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.errors import InputError
from core.market.bars import Bars
from core.overlays.liquidity import pivot_indices

STRONG, MODERATE = 1.8, 1.1


@dataclass(frozen=True, slots=True)
class Zone:
    kind: str            # "supply" (from a pivot high) | "demand" (from a pivot low)
    low: float
    high: float
    strength: str        # "strong" | "moderate" | "weak"
    volume_ratio: float  # pivot bar volume / median volume (NaN without volume)
    ts: int              # UTC ns of the (latest merged) pivot bar

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "low": self.low, "high": self.high, "strength": self.strength,
                "volume_ratio": self.volume_ratio, "ts": self.ts}


def _strength(ratio: float) -> str:
    if ratio >= STRONG:
        return "strong"
    if ratio >= MODERATE:
        return "moderate"
    return "weak"


def supply_demand_zones(bars: Bars, k: int = 5, max_zones: int = 5) -> list[Zone]:
    """Zones nearest the last close first (at most max_zones)."""
    if max_zones < 1:
        raise InputError("max_zones", "must be ≥ 1")
    if len(bars) < 2 * k + 1:
        return []
    vol = bars.volume
    med = float(np.median(vol[vol > 0])) if (vol > 0).any() else float("nan")
    body_hi = np.maximum(bars.open, bars.close)
    body_lo = np.minimum(bars.open, bars.close)
    raw: list[Zone] = []
    for kind, lowest in (("supply", False), ("demand", True)):
        x = bars.low if lowest else bars.high
        for j in pivot_indices(x, k, lowest):
            ratio = float(vol[j] / med) if med == med and med > 0 else float("nan")
            lo, hi = (float(bars.low[j]), float(body_lo[j])) if lowest else (float(body_hi[j]), float(bars.high[j]))
            raw.append(Zone(kind, lo, hi, _strength(ratio) if ratio == ratio else "weak", ratio, int(bars.ts[j])))
    merged: list[Zone] = []
    for kind in ("supply", "demand"):
        zs = sorted((z for z in raw if z.kind == kind), key=lambda z: z.low)
        for z in zs:
            if merged and merged[-1].kind == kind and z.low <= merged[-1].high:
                m = merged[-1]
                ratio = float(np.nanmax([m.volume_ratio, z.volume_ratio])) if not (
                    np.isnan(m.volume_ratio) and np.isnan(z.volume_ratio)) else float("nan")
                merged[-1] = Zone(kind, m.low, max(m.high, z.high),
                                  _strength(ratio) if ratio == ratio else "weak", ratio, max(m.ts, z.ts))
            else:
                merged.append(z)
    last = float(bars.close[-1])
    merged.sort(key=lambda z: 0.0 if z.low <= last <= z.high else min(abs(z.low - last), abs(z.high - last)))
    return merged[:max_zones]
