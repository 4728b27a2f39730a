"""Volume profile: volume by price (each bar's volume spread evenly over its high–low range), the
point of control (POC) and the value area holding 70 % of the volume around it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.errors import InputError
from core.market.bars import Bars


@dataclass(frozen=True, slots=True)
class VolumeProfile:
    edges: np.ndarray      # bins + 1 price edges
    volume: np.ndarray     # volume per bin
    poc: float             # centre of the bin with the most volume
    vah: float             # value-area high / low (bin edges)
    val: float
    value_area_volume: float
    total_volume: float

    @property
    def value_area_share(self) -> float:
        return self.value_area_volume / self.total_volume if self.total_volume > 0 else float("nan")

    def to_dict(self) -> dict[str, object]:
        return {"poc": self.poc, "vah": self.vah, "val": self.val, "edges": self.edges.tolist(),
                "volume": self.volume.tolist(), "value_area_share": self.value_area_share}


def volume_profile(bars: Bars, bins: int = 30, value_area: float = 0.70) -> VolumeProfile | None:
    """None when the bars carry no volume or no price range."""
    if bins < 2:
        raise InputError("bins", "must be ≥ 2")
    if not 0 < value_area < 1:
        raise InputError("value_area", "must be between 0 and 1")
    if not len(bars) or not (bars.volume > 0).any():
        return None
    lo_all, hi_all = float(bars.low.min()), float(bars.high.max())
    if hi_all <= lo_all:
        return None
    edges = np.linspace(lo_all, hi_all, bins + 1)
    lo_e, hi_e = edges[:-1], edges[1:]
    h, lo, v = bars.high[:, None], bars.low[:, None], bars.volume[:, None]
    span = h - lo
    overlap = np.clip(np.minimum(h, hi_e[None, :]) - np.maximum(lo, lo_e[None, :]), 0.0, None)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(span > 0, overlap / span, 0.0)
    # A bar without range puts its volume in the bin holding its price.
    flat = span[:, 0] <= 0
    if flat.any():
        b = np.clip(np.searchsorted(edges, bars.close[flat], side="right") - 1, 0, bins - 1)
        share[np.flatnonzero(flat), b] = 1.0
    vol = (share * v).sum(axis=0)
    total = float(vol.sum())
    poc_bin = int(np.argmax(vol))
    lo_b = hi_b = poc_bin
    acc = float(vol[poc_bin])
    while acc < value_area * total - 1e-9 * total:
        below = vol[lo_b - 1] if lo_b > 0 else -1.0
        above = vol[hi_b + 1] if hi_b < bins - 1 else -1.0
        if above >= below:
            hi_b += 1
            acc += float(vol[hi_b])
        else:
            lo_b -= 1
            acc += float(vol[lo_b])
    return VolumeProfile(edges, vol, float((lo_e[poc_bin] + hi_e[poc_bin]) / 2), float(hi_e[hi_b]),
                         float(lo_e[lo_b]), acc, total)
