"""Chain parsers on the recorded vendor responses and the consistency checks on real chains."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.errors import DataError, InputError
from core.options.chain import (
    FLAG_PARITY_MISMATCH,
    FLAG_STALE,
    FLAG_UNDERLYING_MISMATCH,
    as_of_from_http_date,
    check_chain,
    concat_chains,
    load_lean_quotes_csv,
    parse_polygon_snapshot,
    parse_tradier_chain,
    parse_yahoo_options,
)


def _data() -> Path:
    env = os.environ.get("TRADECOACH_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def _json(rel: str) -> dict[str, Any]:
    return json.loads((_data() / "fixtures" / rel).read_text())


def test_tradier_chain_parses_every_contract_with_units() -> None:
    raw = _json("tradier/markets_options_chains_PLTR_2026-12-18_excerpt_20240707.json")
    items = raw["body"]["options"]["option"]
    as_of = as_of_from_http_date(raw["_recorded_http_date"])
    ch = parse_tradier_chain(raw, 27.23, as_of)
    assert len(ch) == len(items) == 6
    assert ch.source == "tradier" and ch.underlying == "PLTR" and not ch.modelled.any()
    for i, o in enumerate(items):
        assert ch.contract[i] == o["symbol"]
        assert ch.is_call[i] == (o["option_type"] == "call")
        assert ch.strike[i] == o["strike"]
        assert ch.delta[i] == o["greeks"]["delta"]
        assert ch.vega[i] == o["greeks"]["vega"]           # Tradier: per vol point already
        # A zero bid means "no bid": NaN in the chain, never a price of 0.
        assert np.isnan(ch.bid[i]) if o["bid"] == 0 else ch.bid[i] == o["bid"]
        assert ch.quote_time[i] == max(o["bid_date"], o["ask_date"]) * 1_000_000
    assert str(ch.expiry[0]) == "2026-12-18"
    # Put-call delta parity in the vendor greeks (delta_c - delta_p = 1) survives parsing.
    calls, puts = ch.is_call, ~ch.is_call
    assert np.allclose(ch.delta[calls] - ch.delta[puts], 1.0)


def test_tradier_single_object_and_empty_chain() -> None:
    raw = _json("tradier/markets_options_chains_PLTR_2026-12-18_excerpt_20240707.json")
    one = {"options": {"option": raw["body"]["options"]["option"][0]}}
    as_of = as_of_from_http_date(raw["_recorded_http_date"])
    assert len(parse_tradier_chain(one, 27.23, as_of)) == 1
    assert len(parse_tradier_chain({"options": None}, 27.23, as_of)) == 0
    with pytest.raises(InputError) as ei:
        parse_tradier_chain(raw, 0.0, as_of)
    assert ei.value.field == "underlying_price"


@pytest.mark.parametrize("source", ["rest", "spec"])
def test_polygon_snapshot_parses_quotes_and_underlying(source: str) -> None:
    if source == "rest":
        raw = _json("polygon/rest/v3__snapshot__options__AAPL.json")
    else:
        raw = _json("polygon/rest_examples_from_openapi_spec.json")["GET /v3/snapshot/options/{underlyingAsset}"]
    res = raw["results"][0]
    as_of = as_of_from_http_date("Fri, 29 Apr 2022 18:00:00 GMT")
    ch = parse_polygon_snapshot(raw, as_of)
    assert ch.underlying == "AAPL" and ch.underlying_price == res["underlying_asset"]["price"]
    assert ch.bid[0] == res["last_quote"]["bid"] and ch.ask[0] == res["last_quote"]["ask"]
    assert ch.mid[0] == pytest.approx(res["last_quote"]["midpoint"])
    assert ch.open_interest[0] == res["open_interest"]
    assert ch.iv[0] == res["implied_volatility"]
    assert ch.quote_time[0] == res["last_quote"]["last_updated"]


def test_polygon_single_contract_snapshot() -> None:
    raw = _json("polygon/rest/v3__snapshot__options__AAPL__O_AAPL230616C00150000.json")
    ch = parse_polygon_snapshot(raw, as_of_from_http_date("Fri, 29 Apr 2022 18:00:00 GMT"))
    assert len(ch) == 1 and ch.contract[0] == "O:AAPL230616C00150000"


def test_yahoo_premarket_chain_has_no_market_and_is_stale() -> None:
    raw = _json("yahoo/options-AAPL.json")
    as_of = as_of_from_http_date(raw["_recorded_http_date"])
    ch = parse_yahoo_options(raw, as_of)
    block = raw["body"]["optionChain"]["result"][0]["options"][0]
    assert len(ch) == len(block["calls"]) + len(block["puts"])
    assert ch.underlying_price == raw["body"]["optionChain"]["result"][0]["quote"]["regularMarketPrice"]
    # Recorded pre-market: bid/ask mostly 0 -> no two-sided market for most rows.
    assert ch.has_market.mean() < 0.1
    chk = check_chain(ch, now=as_of)
    assert FLAG_STALE in chk.flags          # last regular-market time is the previous Friday
    assert chk.stale.all()


def test_goog_quotes_parity_matches_underlying_and_stale_rows_flagged() -> None:
    ch = load_lean_quotes_csv(_data() / "options" / "GOOG_option_chain_quotes_20151224T1200ET_lean.csv")
    assert len(ch) == 2192 and ch.underlying_price == 750.9
    chk = check_chain(ch, r=0.002)
    assert abs(chk.parity_gap_pct) < 0.2          # real chain agrees with the real last trade
    assert FLAG_PARITY_MISMATCH not in chk.flags and FLAG_STALE not in chk.flags
    ages = ch.quote_age_s()
    assert np.array_equal(chk.stale, ages > 900)
    assert chk.stale.any()                        # some real quotes are older than 15 minutes
    later = check_chain(ch, now=ch.as_of + timedelta(hours=2), r=0.002)
    assert FLAG_STALE in later.flags and later.stale.all()


def test_mismatched_underlying_is_flagged_not_hidden() -> None:
    ch = load_lean_quotes_csv(_data() / "options" / "GOOG_option_chain_quotes_20151224T1200ET_lean.csv")
    external = ch.underlying_price * 1.03
    chk = check_chain(ch, r=0.002, external_spot=external)
    assert FLAG_UNDERLYING_MISMATCH in chk.flags
    assert chk.external_gap_pct == pytest.approx(-100 * (1 - 1 / 1.03), rel=1e-9)
    # Same chain parsed against a wrong spot: parity disagrees with it.
    from dataclasses import replace
    wrong = replace(ch, underlying_price=700.0)
    assert FLAG_PARITY_MISMATCH in check_chain(wrong, r=0.002).flags


def test_model_greeks_fill_only_missing() -> None:
    ch = load_lean_quotes_csv(_data() / "options" / "GOOG_option_chain_quotes_20151224T1200ET_lean.csv")
    g = ch.with_model_greeks(0.002)
    filled = np.isfinite(g.iv)
    assert np.array_equal(filled & ch.has_market, filled)   # IV only where a mid exists
    assert np.all(np.abs(g.delta[filled]) <= 1.0)
    assert np.all(g.delta[filled & g.is_call] > 0) and np.all(g.delta[filled & ~g.is_call] < 0)


def test_concat_and_bad_right() -> None:
    ch = load_lean_quotes_csv(_data() / "options" / "GOOG_option_chain_quotes_20151224T1200ET_lean.csv")
    a, b = ch.select(ch.is_call), ch.select(~ch.is_call)
    both = concat_chains([a, b])
    assert len(both) == len(ch) and both.is_call.sum() == ch.is_call.sum()
    bad = {"options": {"option": [{"symbol": "X", "expiration_date": "2026-01-16", "option_type": "straddle",
                                   "strike": 1.0}]}}
    with pytest.raises(DataError, match="option_type"):
        parse_tradier_chain(bad, 10.0, ch.as_of)
