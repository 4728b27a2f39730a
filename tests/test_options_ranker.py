"""Ranker on real chains (Lean GOOG, recorded Tradier and Polygon) and on the modelled replay chain."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from core.errors import InputError
from core.options.chain import (
    OptionChain,
    as_of_from_http_date,
    load_lean_quotes_csv,
    parse_polygon_snapshot,
    parse_tradier_chain,
)
from core.options.ranker import STYLE_DEFAULTS, RankRequest, RejectCode, rank_contracts
from core.options.synth import synth_chain


def _data() -> Path:
    env = os.environ.get("TRADECOACH_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module")
def goog() -> OptionChain:
    ch = load_lean_quotes_csv(_data() / "options" / "GOOG_option_chain_quotes_20151224T1200ET_lean.csv")
    return ch.with_model_greeks(0.002)


@pytest.fixture(scope="module")
def replay_chain() -> OptionChain:
    # SPY at its real 2023-08-03 15:00 ET level (Lean minute sample), ATM vol ~ VIX-like 0.15.
    return synth_chain("SPY", 448.0, datetime(2023, 8, 3, 19, 0, tzinfo=UTC), atm_vol=0.15,
                       avg_daily_volume=7.5e7)


def _score(spread: float, delta: float, oi: float, target: float, ivr: float | None) -> float:
    """The documented formula, written out independently of the ranker."""
    def norm(x: float, a: float, b: float) -> float:
        return min(max((x - a) / (b - a), 0.0), 1.0)
    ivr_term = 0.5 if ivr is None else 1 - norm(ivr, 40, 70)
    return 100 * (0.4 * (1 - norm(spread, 2, 12)) + 0.3 * (1 - min(abs(abs(delta) - target), 0.5) / 0.5)
                  + 0.2 * norm(np.log10(max(oi, 1)), 2, 4) + 0.1 * ivr_term)


def _check_rejections_are_true(chain: OptionChain, res, want_call: bool) -> None:
    c = res.criteria
    dte = chain.dte()
    for rj in res.rejections:
        i = rj.row
        match rj.code:
            case RejectCode.SIDE_MISMATCH:
                assert chain.is_call[i] != want_call
            case RejectCode.NO_MARKET_DATA:
                assert not chain.has_market[i]
            case RejectCode.DTE_OUT_OF_RANGE:
                assert not c.dte_min <= dte[i] <= c.dte_max
            case RejectCode.DELTA_UNAVAILABLE:
                assert not np.isfinite(chain.delta[i])
            case RejectCode.DELTA_OUT_OF_RANGE:
                assert not c.delta_min - 1e-12 <= abs(chain.delta[i]) <= c.delta_max + 1e-12
            case RejectCode.SPREAD_TOO_WIDE:
                assert chain.spread_pct[i] > c.max_spread_pct
            case RejectCode.OPEN_INTEREST_TOO_LOW:
                assert np.nan_to_num(chain.open_interest[i]) < c.min_oi
            case RejectCode.STALE_QUOTE:
                assert chain.has_market[i]


def test_goog_swing_long_best_alternatives_and_score(goog: OptionChain) -> None:
    res = rank_contracts(goog, RankRequest(direction="long", style="swing", iv_rank=55.0))
    assert len(res.best) == 3 and res.passed_count >= 3
    assert len(res.alternatives) == min(7, res.passed_count - 3)
    assert all(b.right == "C" for b in res.best + res.alternatives)
    scores = [b.score for b in res.best + res.alternatives]
    assert scores == sorted(scores, reverse=True)
    for b in res.best:
        assert b.score == pytest.approx(_score(b.spread_pct, b.delta, b.open_interest, 0.40, 55.0), abs=0.01)
        assert b.cost_per_contract == pytest.approx(b.mid * 100, abs=0.005)
        assert res.criteria.dte_min <= b.dte <= res.criteria.dte_max
    assert len(res.rejections) + res.passed_count == len(goog)
    _check_rejections_are_true(goog, res, True)
    assert not res.modelled and res.source == "lean"


def test_every_rejection_code_comes_from_a_real_goog_contract(goog: OptionChain) -> None:
    seen: set[RejectCode] = set()
    for style in STYLE_DEFAULTS:
        for direction in ("long", "short"):
            res = rank_contracts(goog, RankRequest(direction=direction, style=style))
            _check_rejections_are_true(goog, res, direction == "long")
            seen |= {r.code for r in res.rejections}
    # Quote age limit of 30 s: real 11:59 quotes become stale at 12:00.
    res = rank_contracts(goog, RankRequest(direction="long", style="swing", max_quote_age_s=30.0))
    stale = [r for r in res.rejections if r.code == RejectCode.STALE_QUOTE]
    assert stale
    ages = goog.quote_age_s()
    assert all(ages[r.row] > 30.0 for r in stale)
    seen |= {r.code for r in stale}
    assert seen == set(RejectCode), f"missing: {set(RejectCode) - seen}"


def test_ladder_stops_at_the_first_rung_giving_three(goog: OptionChain) -> None:
    res = rank_contracts(goog, RankRequest(direction="short", style="swing"))
    assert res.ladder[0] == "base" and len(res.ladder) > 1
    assert res.ladder[1] == "delta +-0.05" and res.ladder[2] == "dte +-2"
    base = STYLE_DEFAULTS["swing"]
    assert res.criteria.delta_min == pytest.approx(base.delta_min - 0.05)
    assert res.criteria.dte_max == base.dte_max + 2
    assert res.criteria.max_spread_pct <= base.max_spread_pct + 4
    # One rung less must have given fewer than 3 (the ladder stops as soon as 3 pass).
    if res.passed_count >= 3:
        prev = rank_contracts(goog, RankRequest(direction="short", style="swing", widen=False))
        assert prev.passed_count < 3


def test_explicit_overrides_are_never_widened(goog: OptionChain) -> None:
    res = rank_contracts(goog, RankRequest(direction="long", style="scalp", delta_min=0.5, delta_max=0.6,
                                           max_spread_pct=5.0))
    assert res.criteria.delta_min == 0.5 and res.criteria.delta_max == 0.6
    assert res.criteria.max_spread_pct == 5.0
    assert not any("delta" in r or "spread" in r for r in res.ladder)
    with pytest.raises(InputError) as ei:
        rank_contracts(goog, RankRequest(direction="long", style="yolo"))
    assert ei.value.field == "style"
    with pytest.raises(InputError):
        rank_contracts(goog, RankRequest(direction="up"))


def test_tradier_recorded_leaps_chain() -> None:
    raw = json.loads((_data() / "fixtures/tradier/markets_options_chains_PLTR_2026-12-18_excerpt_20240707.json")
                     .read_text())
    as_of = as_of_from_http_date(raw["_recorded_http_date"])
    ch = parse_tradier_chain(raw, 27.23, as_of)
    # Sunday evening: Friday's quotes are 51 h old -> stale, never silently used.
    res = rank_contracts(ch, RankRequest(direction="long", style="leaps"))
    codes = {r.contract: r.code for r in res.rejections}
    assert not res.best
    assert codes["PLTR261218P00013000"] == RejectCode.SIDE_MISMATCH
    assert codes["PLTR261218C00013000"] == RejectCode.STALE_QUOTE
    # Accepting weekend-old quotes: the deep ITM calls fail the leaps delta band, even widened.
    res2 = rank_contracts(ch, RankRequest(direction="long", style="leaps", max_quote_age_s=3 * 86400))
    c2 = {r.contract: r.code for r in res2.rejections}
    assert c2["PLTR261218C00013000"] == RejectCode.DELTA_OUT_OF_RANGE
    assert "STALE_QUOTES" in res2.warnings or "STALE_QUOTES" in res.warnings
    # The trader's own band finds them; OI of ~100 then rejects unless also overridden.
    res3 = rank_contracts(ch, RankRequest(direction="long", style="leaps", max_quote_age_s=3 * 86400,
                                          delta_min=0.8, delta_max=0.95, min_oi=50, max_spread_pct=15))
    assert [b.contract for b in res3.best][:1] and all(b.right == "C" for b in res3.best)
    assert {r.code for r in res3.rejections} <= {RejectCode.SIDE_MISMATCH, RejectCode.OPEN_INTEREST_TOO_LOW,
                                                 RejectCode.SPREAD_TOO_WIDE}
    _check_rejections_are_true(ch, res3, True)


def test_polygon_recorded_snapshot() -> None:
    raw = json.loads((_data() / "fixtures/polygon/rest/v3__snapshot__options__AAPL.json").read_text())
    q_ns = raw["results"][0]["last_quote"]["last_updated"]
    as_of = datetime.fromtimestamp(q_ns / 1e9, tz=UTC) + timedelta(seconds=5)
    ch = parse_polygon_snapshot(raw, as_of)
    res = rank_contracts(ch, RankRequest(direction="long", style="leaps"))
    assert res.rejections[0].code == RejectCode.DELTA_OUT_OF_RANGE          # delta .64 vs .20-.50
    res2 = rank_contracts(ch, RankRequest(direction="long", style="leaps", delta_max=0.7))
    assert len(res2.best) == 1 and res2.best[0].contract == "O:AAPL230616C00150000"
    assert res2.best[0].spread_pct == pytest.approx((29.25 - 28.9) / 29.075 * 100)
    short = rank_contracts(ch, RankRequest(direction="short", style="leaps"))
    assert short.rejections[0].code == RejectCode.SIDE_MISMATCH


def test_replay_chain_ranks_and_is_labelled_modelled(replay_chain: OptionChain) -> None:
    res = rank_contracts(replay_chain, RankRequest(direction="long", style="swing"))
    assert len(res.best) == 3 and len(res.alternatives) == 7
    assert res.modelled and res.source == "modelled" and "MODELLED_DATA" in res.warnings
    assert all(b.modelled for b in res.best + res.alternatives)
    _check_rejections_are_true(replay_chain, res, True)
    short = rank_contracts(replay_chain, RankRequest(direction="short", style="intraday"))
    assert all(b.right == "P" for b in short.best)
    _check_rejections_are_true(replay_chain, short, False)
    # Widening happened and is reported when the base gates leave fewer than 3.
    if short.ladder != ["base"]:
        narrow = rank_contracts(replay_chain, RankRequest(direction="short", style="intraday", widen=False))
        assert narrow.passed_count < 3


def test_iv_rank_moves_the_score(goog: OptionChain) -> None:
    lo = rank_contracts(goog, RankRequest(direction="long", style="swing", iv_rank=10))
    hi = rank_contracts(goog, RankRequest(direction="long", style="swing", iv_rank=90))
    assert lo.best[0].contract == hi.best[0].contract
    assert lo.best[0].score - hi.best[0].score == pytest.approx(10.0, abs=0.02)
    stale = replace(goog, quote_time=np.zeros(len(goog), dtype=np.int64))
    res = rank_contracts(stale, RankRequest(direction="long", style="swing"))
    assert not res.best and "STALE_QUOTES" in res.warnings
    # Every call with a two-sided market is rejected as stale (side and market gates come first).
    assert res.counts.get("STALE_QUOTE", 0) == int((goog.is_call & goog.has_market).sum())


def test_rejections_list_the_nearest_misses_first(replay_chain: OptionChain) -> None:
    """"Why nothing?": with a spread cap no contract meets, the first rejections are the contracts
    that passed every gate but the spread, nearest the target delta first — not chain order."""
    res = rank_contracts(replay_chain, RankRequest(direction="long", style="swing", max_spread_pct=0.5))
    assert not res.best and res.rejections
    order = list(RejectCode)
    gates = [order.index(r.code) for r in res.rejections]
    assert gates == sorted(gates, reverse=True)                 # later gate failed → nearer miss → first
    spread_misses = [r for r in res.rejections if r.code == RejectCode.SPREAD_TOO_WIDE]
    assert spread_misses and res.rejections[0].code == RejectCode.SPREAD_TOO_WIDE
    dist = [abs(abs(float(replay_chain.delta[r.row])) - res.criteria.target_delta) for r in spread_misses]
    assert dist == sorted(dist)
    assert res.rejections[-1].code == RejectCode.SIDE_MISMATCH  # puts for a long plan: the farthest
