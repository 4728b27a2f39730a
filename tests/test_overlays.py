"""Overlays on real bars: FVG fill tracking, volume profile, zones, liquidity pools."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from core.errors import InputError
from core.overlays import fair_value_gaps, liquidity_pools, pivot_indices, supply_demand_zones, volume_profile
from tests.test_scanner import es5, spy5


def test_fair_value_gaps_track_their_fill_causally() -> None:
    bars = spy5()[: 78 * 20]
    gaps = fair_value_gaps(bars)
    assert len(gaps) > 20
    kinds = {g.kind for g in gaps}
    assert kinds == {"bullish", "bearish"}
    filled = 0
    for g in gaps:
        j = g.index
        assert g.bottom < g.top
        if g.kind == "bullish":
            assert g.bottom == bars.high[j - 2] and g.top == bars.low[j]
            later = bars.low[j + 1:]
            touched = later <= g.bottom
            reach = later.min() if len(later) else g.top
            assert g.fill_fraction == pytest.approx(np.clip((g.top - reach) / g.size, 0, 1))
        else:
            assert g.bottom == bars.high[j] and g.top == bars.low[j - 2]
            later = bars.high[j + 1:]
            touched = later >= g.top
        assert g.filled == bool(touched.any())
        if g.filled:
            filled += 1
            k = j + 1 + int(np.argmax(touched))
            assert g.filled_ts == bars.ts[k]
            assert g.fill_fraction == 1.0
            # As of the bar before the fill, the same gap is still open.
            before = next(h for h in fair_value_gaps(bars[:k]) if h.index == j)
            assert not before.filled and before.fill_fraction < 1.0
    assert filled > 5
    assert all(not g.filled for g in fair_value_gaps(bars, include_filled=False))


def test_volume_profile_value_area_holds_70_percent_minimally() -> None:
    for bars in (spy5()[78 * 3: 78 * 4], es5()[:276]):
        vp = volume_profile(bars)
        assert vp is not None
        assert vp.volume.sum() == pytest.approx(bars.volume.sum(), rel=1e-9)
        assert vp.total_volume == pytest.approx(bars.volume.sum(), rel=1e-9)
        lo_b = int(np.searchsorted(vp.edges, vp.val + 1e-12)) - 1
        hi_b = int(np.searchsorted(vp.edges, vp.vah - 1e-12)) - 1
        inside = vp.volume[lo_b:hi_b + 1].sum()
        assert inside == pytest.approx(vp.value_area_volume)
        assert inside >= 0.70 * vp.total_volume
        # Grown one bin at a time from the POC: without its last added end bin it held < 70 %.
        smaller = min(vp.volume[lo_b + 1:hi_b + 1].sum(), vp.volume[lo_b:hi_b].sum())
        assert smaller < 0.70 * vp.total_volume or lo_b == hi_b
        poc_bin = int(np.argmax(vp.volume))
        assert lo_b <= poc_bin <= hi_b
        assert vp.val <= vp.poc <= vp.vah
    with pytest.raises(InputError) as exc:
        volume_profile(spy5()[:78], bins=1)
    assert exc.value.field == "bins"


def test_supply_demand_zones_and_liquidity_pools_on_real_bars() -> None:
    bars = spy5()[: 78 * 5]
    zones = supply_demand_zones(bars)
    assert 1 <= len(zones) <= 5
    med = np.median(bars.volume[bars.volume > 0])
    for z in zones:
        assert z.low <= z.high
        assert z.kind in ("supply", "demand")
        want = "strong" if z.volume_ratio >= 1.8 else "moderate" if z.volume_ratio >= 1.1 else "weak"
        assert z.strength == want
        assert z.volume_ratio >= bars.volume[np.searchsorted(bars.ts, z.ts)] / med - 1e-9
    # Zones of one kind do not overlap after merging.
    for kind in ("supply", "demand"):
        zs = sorted((z for z in zones if z.kind == kind), key=lambda z: z.low)
        assert all(b.low > a.high for a, b in itertools.pairwise(zs))
    pools = liquidity_pools(bars)
    assert pools
    tol = max(0.02, 0.0015 * bars.close[-1])
    piv_lo = set(pivot_indices(bars.low, 3, True).tolist())
    for p in pools:
        assert p.touches >= 2
        first = int(np.searchsorted(bars.ts, p.first_ts))
        last = int(np.searchsorted(bars.ts, p.last_ts))
        if p.kind == "equal_lows":
            assert first in piv_lo and last in piv_lo
            assert abs(bars.low[first] - bars.low[last]) <= tol + 1e-9
            assert p.swept == bool((bars.low[last + 1:] < p.level).any())
        else:
            assert p.swept == bool((bars.high[last + 1:] > p.level).any())
