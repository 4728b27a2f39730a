"""Labelled key levels at a decision bar, and snapping targets to them by label priority inside a
style window (the seed chart-url's priorities: gap_fill 10, pdh/pdl 9, pdc/orh/orl 8, vah/val/poc 7,
vwap/avwap 6, swing 5, session 4)."""

from __future__ import annotations

import math
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass

import numpy as np

from core.overlays.liquidity import pivot_indices
from core.overlays.volume_profile import VolumeProfile, volume_profile
from core.scanner.features import Features

PRIORITY: dict[str, int] = {
    "gap_fill": 10, "pdh": 9, "pdl": 9, "pdc": 8, "orh": 8, "orl": 8, "vah": 7, "val": 7, "poc": 7,
    "vwap": 6, "avwap_open": 6, "avwap_pdh": 6, "avwap_pdl": 6, "avwap_pdc": 6, "open": 5,
    "swing_high": 5, "swing_low": 5, "session_high": 4, "session_low": 4,
}


@dataclass(frozen=True, slots=True)
class Level:
    label: str
    price: float

    @property
    def priority(self) -> int:
        return PRIORITY.get(self.label, 0)

    def to_dict(self) -> dict[str, object]:
        return {"label": self.label, "price": self.price, "priority": self.priority}


def prior_profile(f: Features, i: int, cache: MutableMapping[int, VolumeProfile | None] | None = None
                  ) -> VolumeProfile | None:
    """Volume profile of the regular session before bar i's session (complete, so causal)."""
    r = int(f.row[i])
    if r < 0:
        return None
    p = int(f.sessions.prev[r])
    if p < 0:
        return None
    if cache is not None and p in cache:
        return cache[p]
    a, b = int(f.sessions.first[p]), int(f.sessions.last[p]) + 1
    from core.market.bars import Bars  # local: only needed here

    vp = volume_profile(Bars(f.ts[a:b], f.open[a:b], f.high[a:b], f.low[a:b], f.close[a:b], f.volume[a:b]))
    if cache is not None:
        cache[p] = vp
    return vp


def key_levels_at(f: Features, i: int, avwaps: dict[str, float] | None = None,
                  profile: VolumeProfile | None = None) -> list[Level]:
    """All labelled levels known at bar i (finite ones only)."""
    vals: list[tuple[str, float]] = [
        ("pdh", f.pdh[i]), ("pdl", f.pdl[i]), ("pdc", f.pdc[i]), ("orh", f.orh[i]), ("orl", f.orl[i]),
        ("open", f.s_open[i]), ("session_high", f.s_high[i]), ("session_low", f.s_low[i]), ("vwap", f.vwap[i]),
    ]
    # A real gap makes the prior close the gap-fill level (top priority).
    if math.isfinite(f.s_open[i]) and math.isfinite(f.pdc[i]) and abs(f.s_open[i] - f.pdc[i]) >= 0.003 * f.pdc[i]:
        vals.append(("gap_fill", f.pdc[i]))
    for name, v in (avwaps or {}).items():
        vals.append((name, v))
    if profile is not None:
        vals += [("poc", profile.poc), ("vah", profile.vah), ("val", profile.val)]
    # The last confirmed ±3-bar swing high/low within the last 60 bars of the series.
    start = max(int(f.series_start[f.series_of[i]]), i - 60)
    for label, x, lowest in (("swing_high", f.high, False), ("swing_low", f.low, True)):
        piv = pivot_indices(x[start:i + 1], 3, lowest)
        if len(piv):
            vals.append((label, float(x[start + piv[-1]])))
    return [Level(k, float(v)) for k, v in vals if v is not None and np.isfinite(v)]


def snap(target: float, entry: float, direction: int, levels: Iterable[Level], window: float,
         floor: float) -> tuple[float, Level | None]:
    """Move target to the highest-priority level within ±window of it (nearest on ties) that lies at
    least `floor` beyond entry; unchanged when none qualifies."""
    best: Level | None = None
    for lv in levels:
        if abs(lv.price - target) > window or (lv.price - entry) * direction < floor:
            continue
        if best is None or (lv.priority, -abs(lv.price - target)) > (best.priority, -abs(best.price - target)):
            best = lv
    return (best.price, best) if best else (target, None)


@dataclass(frozen=True, slots=True)
class SnappedTarget:
    index: int            # 0 for TP1
    before: float
    after: float
    level: Level | None   # the level it moved to (None: unchanged)


def snap_targets(entry: float, direction: int, targets: Iterable[float], levels: Iterable[Level], window: float,
                 floor: float) -> list[SnappedTarget]:
    """The seed chart-url's level snapping for a whole plan: each target moves to the highest-priority
    labelled level within ±window (nearest on ties), staying at least `floor` beyond entry and beyond
    the previous (snapped) target, so the order TP1 < TP2 < TP3 (mirrored for shorts) holds."""
    pool = [lv for lv in levels if math.isfinite(lv.price)]
    out: list[SnappedTarget] = []
    need = floor
    for k, t in enumerate(targets):
        p, lv = snap(t, entry, direction, pool, window, need)
        if (p - entry) * direction < need:   # an unsnapped target already closer than the floor
            p, lv = t, None
        out.append(SnappedTarget(k, t, p, lv))
        need = (p - entry) * direction + max(1e-9, 1e-6 * abs(entry))
        if lv is not None:
            pool = [x for x in pool if x is not lv]  # one level, one target
    return out
