"""context / multi_context on real bars: shapes, errors, volatility regime with HV proxy."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.context import context, multi_context
from core.errors import InputError
from core.market.calendar import calendar_for
from core.market.intervals import M15
from core.market.resample import resample
from tests.test_scanner import es5, spy5


def test_context_shapes_on_real_bars() -> None:
    bars = spy5()[: 78 * 30 + 40]
    out = context("SPY", bars, "5m", lookback=300)
    assert len(out["bars"]) == 300
    assert set(out["indicators"]) == {"ema9", "ema20", "ema50", "vwap", "atr14", "adx14"}
    assert all(len(v) == 300 for v in out["indicators"].values())
    assert out["bars"][-1]["close"] == bars.close[-1]
    snap = out["snapshot"]
    assert snap["price"] == bars.close[-1]
    assert snap["session"]["phase"] in ("open_drive", "morning", "midday", "afternoon", "power_hour")
    assert 0 < snap["session"]["minutes_to_close"] <= 390
    assert snap["trend"]["ema_stack"] in ("bullish", "bearish", "mixed")
    assert {"pdh", "pdl", "pdc", "vwap", "open"} <= set(out["key_levels"])
    assert snap["gap"]["prior_close"] == out["key_levels"]["pdc"]
    ov = out["overlays"]
    assert set(ov) == {"supply_demand", "liquidity_pools", "fair_value_gaps", "volume_profile", "avwaps"}
    assert ov["volume_profile"]["val"] <= ov["volume_profile"]["poc"] <= ov["volume_profile"]["vah"]
    json.dumps(out, allow_nan=False)
    with pytest.raises(InputError) as exc:
        context("SPY", bars, "5m", lookback=20)
    assert exc.value.field == "lookback"
    with pytest.raises(InputError) as exc:
        context("SPY", bars, "7m")
    assert exc.value.field == "interval"


def test_multi_context_confluence_and_hv_proxy() -> None:
    bars = spy5()[: 78 * 200]
    b15 = resample(bars, M15, calendar_for("SPY"))
    out = multi_context("SPY", {"5m": bars, "15m": b15}, lookback=200)
    assert [s["interval"] for s in out["snapshots"]] == ["5m", "15m"]
    assert all("bars" not in s for s in out["snapshots"])
    vol = out["volatility_regime"]
    assert vol["rank_source"] == "hv_proxy" and vol["iv_atm"] is None
    assert 0 <= vol["iv_rank"] <= 100 and 0 <= vol["iv_percentile"] <= 100
    assert vol["hv_20"] > 0 and vol["hv_60"] > 0 and vol["hv_120"] > 0
    summ = out["summary"]
    trends = [s["snapshot"]["trend"]["ema_stack"] for s in out["snapshots"]]
    want = abs(trends.count("bullish") - trends.count("bearish")) / 2
    assert summ["confluence_score"] == want
    assert summ["frames_used"] == ["5m", "15m"] and summ["regime_label"] in ("low", "normal", "elevated", "extreme")
    price = out["snapshots"][0]["snapshot"]["price"]
    assert all(abs(lv["price"] - price) <= 0.01 * price for lv in summ["nearby_levels"])
    json.dumps(out, allow_nan=False)
    # Futures too (Globex sessions).
    es = multi_context("ES", {"5m": es5()[: 276 * 30]})
    assert es["snapshots"][0]["symbol"] == "ES"
    with pytest.raises(InputError):
        multi_context("SPY", {})
    assert np.isfinite(es["volatility_regime"]["hv_20"])
