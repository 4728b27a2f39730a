"""Labelled key levels at a decision bar, and snapping targets to them by label priority inside a
style window (the seed chart-url's priorities: gap_fill 10, pdh/pdl 9, pdc/orh/orl 8, vah/val/poc 7,
vwap/avwap 6, swing 5, session 4)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass

import numpy as np

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


SWING_BARS = 60   # swing levels: the last confirmed pivot within this many bars
SWING_K = 3       # ±3-bar pivots


def last_swings(f: Features, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per decision bar: the last confirmed ±3-bar swing high and swing low among the last 60 bars of
    its series (NaN when none), for many bars in one pass. A pivot needs its 3 bars either side
    inside that window (a NaN pad marks bars outside it, and a NaN never equals the window's max)."""
    idx = np.asarray(idx, dtype=np.int64)
    w, k = SWING_BARS + 1, SWING_K
    start = np.maximum(f.series_start[f.series_of[idx]], idx - SWING_BARS)
    j = idx[:, None] + np.arange(-SWING_BARS, 1)[None, :]
    inside = j >= start[:, None]
    jj = np.maximum(j, 0)
    rows = np.arange(len(idx))
    out: list[np.ndarray] = []
    m = w - 2 * k
    for x, op in ((f.high, np.maximum), (f.low, np.minimum)):
        v = np.where(inside, x[jj], np.nan)
        ext = v[:, 0:m].copy()
        for s in range(1, 2 * k + 1):
            op(ext, v[:, s:s + m], out=ext)
        piv = v[:, k:w - k] == ext
        last = m - 1 - np.argmax(piv[:, ::-1], axis=1)
        out.append(np.where(piv.any(axis=1), v[rows, last + k], np.nan))
    return out[0], out[1]


_BAR_LEVELS = (("pdh", "pdh"), ("pdl", "pdl"), ("pdc", "pdc"), ("orh", "orh"), ("orl", "orl"),
               ("open", "s_open"), ("session_high", "s_high"), ("session_low", "s_low"), ("vwap", "vwap"))


def key_levels_many(f: Features, idx: np.ndarray, avwaps: Sequence[Mapping[str, float] | None],
                    profiles: Sequence[VolumeProfile | None]) -> list[list[Level]]:
    """`key_levels_at` for many bars at once (one numpy pass, then plain floats): a scan reads the
    levels of every symbol's latest bar. Bar k's list depends on bar k's inputs only."""
    idx = np.asarray(idx, dtype=np.int64)
    cols = [(label, getattr(f, attr)[idx].tolist()) for label, attr in _BAR_LEVELS]
    s_open, pdc = f.s_open[idx].tolist(), f.pdc[idx].tolist()
    sh, sl = (a.tolist() for a in last_swings(f, idx))
    isfinite = math.isfinite
    out: list[list[Level]] = []
    for r in range(len(idx)):
        vals: list[tuple[str, float]] = [(label, col[r]) for label, col in cols]
        # A real gap makes the prior close the gap-fill level (top priority).
        o, c = s_open[r], pdc[r]
        if isfinite(o) and isfinite(c) and abs(o - c) >= 0.003 * c:
            vals.append(("gap_fill", c))
        vals += [(name, float(v)) for name, v in (avwaps[r] or {}).items()]
        vp = profiles[r]
        if vp is not None:
            vals += [("poc", float(vp.poc)), ("vah", float(vp.vah)), ("val", float(vp.val))]
        vals += [("swing_high", sh[r]), ("swing_low", sl[r])]
        out.append([Level(label, v) for label, v in vals if isfinite(v)])
    return out


def key_levels_at(f: Features, i: int, avwaps: dict[str, float] | None = None,
                  profile: VolumeProfile | None = None) -> list[Level]:
    """All labelled levels known at bar i (finite ones only): prior day, opening range, session
    open/high/low, VWAP, gap fill, the given AVWAPs and prior profile, the last ±3-bar swings."""
    return key_levels_many(f, np.array([i], dtype=np.int64), [avwaps], [profile])[0]


def snap(target: float, entry: float, direction: int, levels: Iterable[Level], window: float,
         floor: float) -> tuple[float, Level | None]:
    """Move target to the highest-priority level within ±window of it (nearest on ties) that lies at
    least `floor` beyond entry; unchanged when none qualifies."""
    best: Level | None = None
    best_key = (0, 0.0)
    for lv in levels:
        d = abs(lv.price - target)
        if d > window or (lv.price - entry) * direction < floor:
            continue
        key = (PRIORITY.get(lv.label, 0), -d)
        if best is None or key > best_key:
            best, best_key = lv, key
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
