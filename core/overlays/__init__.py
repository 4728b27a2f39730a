"""Chart overlays computed from bars alone (pure functions, no I/O): supply/demand zones, liquidity
pools, fair value gaps with fill tracking, volume profile."""

from core.overlays.fvg import FairValueGap, fair_value_gaps
from core.overlays.liquidity import LiquidityPool, liquidity_pools, pivot_indices
from core.overlays.volume_profile import VolumeProfile, volume_profile
from core.overlays.zones import Zone, supply_demand_zones

__all__ = [
    "FairValueGap",
    "LiquidityPool",
    "VolumeProfile",
    "Zone",
    "fair_value_gaps",
    "liquidity_pools",
    "pivot_indices",
    "supply_demand_zones",
    "volume_profile",
]
