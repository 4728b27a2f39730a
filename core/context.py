"""Context snapshots for the trader and the GPT, as pure functions on bars (no I/O).

`context(symbol, bars, interval)` → bars + indicator series + key levels + overlays + session info
(the TC `/gpt/context` fields). `multi_context(symbol, {interval: bars})` → one snapshot per
interval, the volatility regime (IV rank/percentile from IV history when given, else from HV and
labelled `hv_proxy`) and a summary (confluence, trend per frame, regime label, nearby levels).
The kernel service that fetches bars calls these; nothing here reads a file or the network.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from core.errors import InputError
from core.indicators import (
    MINUTES_PER_YEAR,
    bollinger,
    expected_move,
    historical_volatility,
    keltner,
    squeeze,
    true_range,
)
from core.market.bars import Bars
from core.market.calendar import calendar_for
from core.market.intervals import D1, Interval, parse_interval
from core.market.resample import resample
from core.market.sessions import SessionPhase, minutes_to_close
from core.options.vol import iv_percentile, iv_rank, regime_label, volatility_regime
from core.overlays import fair_value_gaps, liquidity_pools, supply_demand_zones, volume_profile
from core.scanner.features import SeriesInput, build_features
from core.scanner.levels import key_levels_at

LOOKBACK_MIN, LOOKBACK_MAX = 50, 1000


def _num(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _series(a: np.ndarray) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in a]


def context(symbol: str, bars: Bars, interval: Interval | str, *, lookback: int = 300,
            include_series: bool = True) -> dict[str, Any]:
    """Snapshot of one symbol on one interval at its last bar."""
    iv = parse_interval(interval)
    if not isinstance(lookback, int) or not LOOKBACK_MIN <= lookback <= LOOKBACK_MAX:
        raise InputError("lookback", f"must be an integer in {LOOKBACK_MIN}..{LOOKBACK_MAX}")
    if iv.is_daily:
        raise InputError("interval", "context needs intraday bars (use multi_context for daily HV)")
    if len(bars) < 2:
        raise InputError("bars", "need at least two bars")
    f = build_features([SeriesInput(symbol, bars)], iv)
    i = len(f) - 1
    lo = max(0, len(bars) - lookback)
    view = bars[lo:]
    price = float(bars.close[-1])
    tr = true_range(bars.high, bars.low, bars.close)
    mid, up, dn = bollinger(bars.close)
    kmid, kup, kdn = keltner(bars.high, bars.low, bars.close)
    sq = squeeze(bars.high, bars.low, bars.close)
    cal = calendar_for(symbol)
    to_close = minutes_to_close(int(bars.ts[-1]) + iv.ns, cal)
    rets = np.diff(np.log(bars.close[-79:]))
    sigma = float(np.std(rets, ddof=1)) * math.sqrt(MINUTES_PER_YEAR / iv.minutes) if len(rets) > 2 else float("nan")
    em = expected_move(price, sigma, float(to_close)) if to_close is not None and math.isfinite(sigma) else None
    avw = {k: float(v[0]) for k, v in f.avwaps(np.array([i])).items()} if f.row[i] >= 0 else {}
    prev_vp = None
    row = int(f.row[i])
    if row >= 0 and f.sessions.prev[row] >= 0:
        p = int(f.sessions.prev[row])
        prev_vp = volume_profile(bars[int(f.sessions.first[p]):int(f.sessions.last[p]) + 1])
    levels = key_levels_at(f, i, avw, prev_vp)
    vp = volume_profile(view)
    gap = None
    if math.isfinite(f.s_open[i]) and math.isfinite(f.pdc[i]):
        gap = {"open": float(f.s_open[i]), "prior_close": float(f.pdc[i]),
               "points": float(f.s_open[i] - f.pdc[i]), "pct": float((f.s_open[i] - f.pdc[i]) / f.pdc[i] * 100),
               "filled": bool(f.s_low[i] <= f.pdc[i] <= f.s_high[i])}
    out: dict[str, Any] = {
        "symbol": symbol.upper(), "interval": iv.name, "as_of": int(bars.ts[-1]),
        "key_levels": {lv.label: lv.price for lv in levels},
        "snapshot": {
            "price": price,
            "volatility": {
                "true_range_median": _num(float(np.nanmedian(tr[-lookback:]))),
                "bollinger_width": _num(float((up[-1] - dn[-1]) / mid[-1])) if math.isfinite(mid[-1]) else None,
                "keltner_width": _num(float((kup[-1] - kdn[-1]) / kmid[-1])) if math.isfinite(kmid[-1]) else None,
                "in_squeeze": bool(sq[-1]),
                "expected_move_horizon": _num(em) if em is not None else None,
            },
            "session": {"phase": SessionPhase(int(f.phase[i])).label, "minutes_to_close": to_close},
            "trend": {"ema_stack": {1: "bullish", -1: "bearish"}.get(int(f.stack[i]), "mixed"),
                      "adx14": _num(float(f.adx[i]))},
            "gap": gap,
        },
        "overlays": {
            "supply_demand": [z.to_dict() for z in supply_demand_zones(view)],
            "liquidity_pools": [p.to_dict() for p in liquidity_pools(view)],
            "fair_value_gaps": [g.to_dict() for g in fair_value_gaps(view, include_filled=False)][-20:],
            "volume_profile": ({"poc": vp.poc, "vah": vp.vah, "val": vp.val} if vp else None),
            "avwaps": {k: _num(v) for k, v in avw.items()},
        },
    }
    if include_series:
        out["bars"] = [{"ts": int(view.ts[j]), "open": float(view.open[j]), "high": float(view.high[j]),
                        "low": float(view.low[j]), "close": float(view.close[j]), "volume": float(view.volume[j])}
                       for j in range(len(view))]
        out["indicators"] = {name: _series(getattr(f, src)[lo:]) for name, src in (
            ("ema9", "ema9"), ("ema20", "ema20"), ("ema50", "ema50"), ("vwap", "vwap"), ("atr14", "atr"),
            ("adx14", "adx"))}
    return out


def _daily_closes(symbol: str, bars_by: Mapping[Interval, Bars], daily: Bars | None) -> np.ndarray:
    if daily is not None and len(daily):
        return daily.close
    longest = max(bars_by, key=lambda v: v.seconds)  # the longest frame has the most days
    if longest.is_daily:
        return bars_by[longest].close
    return resample(bars_by[longest], D1, calendar_for(symbol)).close


def volatility_block(symbol: str, daily_closes: np.ndarray, *, chain: Any = None,
                     iv_history: Sequence[float] | np.ndarray | None = None) -> dict[str, Any]:
    """The multi-context volatility regime. With an option chain: core.options.vol.volatility_regime
    (IV rank from iv_history, HV proxy when history is short). Without: HV only, rank labelled hv_proxy."""
    closes = np.asarray(daily_closes, dtype=float)
    hist = None if iv_history is None else np.asarray(
        [getattr(x, "atm_iv", x) for x in iv_history], dtype=float)
    if chain is not None:
        reg = asdict(volatility_regime(chain, hist, closes))
        return {k: (_num(v) if isinstance(v, float) else v) for k, v in reg.items()}
    hv = {w: historical_volatility(closes, w) if len(closes) > w else np.full(len(closes), np.nan)
          for w in (20, 60, 120)}
    hv20 = hv[20]
    now = float(hv20[-1]) if len(hv20) else float("nan")
    year = hv20[-252:]
    rank = iv_rank(now, year) if math.isfinite(now) else float("nan")
    pct = iv_percentile(now, year[:-1]) if math.isfinite(now) else float("nan")
    return {"iv_atm": None, "iv_rank": _num(rank), "iv_percentile": _num(pct),
            "rank_source": "hv_proxy" if math.isfinite(rank) else "unavailable",
            "history_days": 0 if hist is None else int(np.isfinite(hist).sum()),
            "hv_20": _num(now), "hv_60": _num(float(hv[60][-1])) if len(closes) else None,
            "hv_120": _num(float(hv[120][-1])) if len(closes) else None, "hv_20_percentile": _num(pct),
            "iv_to_hv_ratio": None, "skew_25d": None, "term_slope": None, "regime_label": regime_label(rank)}


def multi_context(symbol: str, bars_by_interval: Mapping[str | Interval, Bars], *, lookback: int = 300,
                  daily_bars: Bars | None = None, chain: Any = None,
                  iv_history: Sequence[float] | np.ndarray | None = None,
                  include_series: bool = False) -> dict[str, Any]:
    if not bars_by_interval:
        raise InputError("intervals", "at least one interval is required")
    bars_by = {parse_interval(k, "intervals"): v for k, v in bars_by_interval.items()}
    snaps = [context(symbol, b, iv, lookback=lookback, include_series=include_series)
             for iv, b in sorted(bars_by.items(), key=lambda kv: kv[0].seconds) if not iv.is_daily]
    vol = volatility_block(symbol, _daily_closes(symbol, bars_by, daily_bars), chain=chain, iv_history=iv_history)
    trends = [s["snapshot"]["trend"]["ema_stack"] for s in snaps]
    bull, bear = trends.count("bullish"), trends.count("bearish")
    nearby: list[dict[str, Any]] = []
    if snaps:
        price = snaps[0]["snapshot"]["price"]
        width = 0.01 * price
        nearby = sorted(({"label": k, "price": v, "distance": v - price}
                         for k, v in snaps[0]["key_levels"].items() if abs(v - price) <= width),
                        key=lambda d: abs(d["distance"]))
    return {
        "symbol": symbol.upper(), "snapshots": snaps, "volatility_regime": vol,
        "summary": {
            "frames_used": [s["interval"] for s in snaps],
            "confluence_score": abs(bull - bear) / len(snaps) if snaps else 0.0,
            "trend_notes": [f"{s['interval']}: {s['snapshot']['trend']['ema_stack']}" for s in snaps],
            "regime_label": vol["regime_label"],
            "expected_move_horizon": snaps[0]["snapshot"]["volatility"]["expected_move_horizon"] if snaps else None,
            "nearby_levels": nearby,
        },
    }
