"""Chart overlays computed from the chart's bars with the kernel's own detectors (core/overlays,
core/scanner levels and anchored VWAPs), shaped for `ChartWidget`. Pure and CPU-bound: the chart
controller runs `chart_overlays` in an executor, like the indicator lines."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from core.chartdata import chart_lines, session_starts
from core.errors import InputError
from core.market.bars import Bars
from core.market.intervals import Interval
from core.overlays import fair_value_gaps, liquidity_pools, supply_demand_zones, volume_profile
from core.scanner.features import SeriesInput, build_features
from core.scanner.levels import key_levels_at

log = logging.getLogger(__name__)

LOOKBACK = 300            # bars the zone/gap/pool detectors and the profile look at (as core.context)
MAX_FVGS = 12
MAX_POOLS = 6
KEY_LEVELS = {"pdh": "PDH", "pdl": "PDL", "pdc": "PDC", "orh": "ORH", "orl": "ORL"}
AVWAP_LABELS = {"avwap_open": "AVWAP open", "avwap_pdh": "AVWAP PDH", "avwap_pdl": "AVWAP PDL",
                "avwap_pdc": "AVWAP PDC"}


@dataclass
class ChartOverlays:
    zones: list[tuple[str, float, float, str, int]] = field(default_factory=list)
    fvgs: list[tuple[str, float, float, int, int | None]] = field(default_factory=list)
    liquidity: list[tuple[str, float, bool]] = field(default_factory=list)
    profile: tuple[np.ndarray, np.ndarray, float, float, float] | None = None
    levels: list[tuple[str, float]] = field(default_factory=list)
    avwaps: dict[str, np.ndarray] = field(default_factory=dict)   # full-length, NaN outside the recent sessions


def lines_and_overlays(bars: Bars, symbol: str, interval: Interval
                       ) -> tuple[dict[str, np.ndarray], np.ndarray, ChartOverlays]:
    """Everything the chart draws besides the candles, in one worker-process call. Defined here,
    not next to the chart controller: a worker process imports this module (numpy and the core
    detectors) to run it, never Qt, the chart widget or the kernel."""
    return chart_lines(bars, symbol, interval), session_starts(bars, symbol), chart_overlays(bars, symbol, interval)


def prepare_chart_worker(symbol: str) -> None:
    """Run in a CPU worker process as it starts (app/gui.py): import what `lines_and_overlays`
    needs and build the symbol's exchange calendar, so the first chart does not wait for them."""
    from core.market.calendar import calendar_for

    calendar_for(symbol)


def chart_overlays(bars: Bars, symbol: str, interval: Interval) -> ChartOverlays:
    out = ChartOverlays()
    n = len(bars)
    if n < 3:
        return out
    view = bars[max(0, n - LOOKBACK):]
    out.zones = [(z.kind, z.low, z.high, z.strength, z.ts) for z in supply_demand_zones(view)]
    out.fvgs = [(g.kind, g.bottom, g.top, g.ts, g.filled_ts)
                for g in fair_value_gaps(view, include_filled=True)[-MAX_FVGS:]]
    last = float(bars.close[-1])
    # Untaken pools first (that is where the stops still rest), nearest the price first.
    pools = sorted(liquidity_pools(view), key=lambda p: (p.swept, abs(p.level - last)))[:MAX_POOLS]
    out.liquidity = [(("EQH" if p.kind == "equal_highs" else "EQL") + f" ×{p.touches}", p.level, p.swept)
                     for p in pools]
    vp = volume_profile(view) if float(view.volume.max()) > 0 else None
    if vp is not None:
        out.profile = (vp.edges, vp.volume, vp.poc, vp.vah, vp.val)
    if interval.is_daily:
        return out   # the session levels and AVWAPs are intraday notions
    try:
        f = build_features([SeriesInput(symbol, bars)], interval)
    except InputError as exc:
        log.warning("chart levels for %s %s: %s", symbol, interval.name, exc)
        return out
    i = len(f) - 1
    out.levels = [(KEY_LEVELS[lv.label], lv.price) for lv in key_levels_at(f, i) if lv.label in KEY_LEVELS]
    idx = np.arange(max(0, n - LOOKBACK), n)
    if float(bars.volume[idx].max()) > 0:
        for name, values in f.avwaps(idx).items():
            if np.isfinite(values).any():
                line = np.full(n, np.nan)
                line[idx] = values
                out.avwaps[AVWAP_LABELS.get(name, name)] = line
    return out
