"""Scenario P/L and sizing on real GOOG contracts (2015-12-24 12:00 ET chain)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from core.errors import InputError
from core.options.chain import OptionChain, load_lean_quotes_csv
from core.options.pricing import bsm_price
from core.options.scenarios import ContractQuote, ScenarioPlan, scenario_pnl, size_position

R = 0.002


def _data() -> Path:
    env = os.environ.get("TRADECOACH_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module")
def goog() -> OptionChain:
    ch = load_lean_quotes_csv(_data() / "options" / "GOOG_option_chain_quotes_20151224T1200ET_lean.csv")
    return ch.with_model_greeks(R)


def _quote(ch: OptionChain, expiry: str, strike: float, call: bool) -> ContractQuote:
    i = np.flatnonzero((ch.expiry == np.datetime64(expiry)) & (ch.strike == strike) & (ch.is_call == call))
    assert i.size == 1
    j = int(i[0])
    assert np.isfinite(ch.iv[j]), "contract needs a two-sided market"
    return ContractQuote(strike=strike, is_call=call, years_to_expiry=float(ch.years_to_expiry()[j]),
                         iv=float(ch.iv[j]), mid=float(ch.mid[j]), spot=ch.underlying_price)


LONG = ScenarioPlan(direction="long", entry=750.9, stop=744.0, targets=(756.0, 760.0, 766.0))


def test_slippage_deepens_the_stop_loss_and_trims_gains(goog: OptionChain) -> None:
    q = _quote(goog, "2016-01-15", 760.0, True)
    clean = scenario_pnl(LONG, q, R)
    slipped = scenario_pnl(replace(LONG, slippage=0.10), q, R)
    assert clean.pnl_full[0] < 0
    assert slipped.pnl_full[0] < clean.pnl_full[0]                  # worse loss
    assert slipped.pnl_full[1] < clean.pnl_full[1]                  # smaller gain
    # Two fills x $0.10 x 100 shares.
    assert np.allclose(np.array(clean.pnl_full) - np.array(slipped.pnl_full), 20.0)
    assert slipped.rr_tp1 < clean.rr_tp1


def test_short_plan_uses_puts_and_mirrored_levels(goog: OptionChain) -> None:
    q = _quote(goog, "2016-01-15", 740.0, False)
    plan = ScenarioPlan(direction="short", entry=750.9, stop=757.0, targets=(745.0, 740.0))
    res = scenario_pnl(plan, q, R)
    assert res.labels == ("stop", "tp1", "tp2")
    assert res.pnl_full[0] < 0 < res.pnl_full[1] < res.pnl_full[2]
    assert res.greeks_at_entry["delta"] < 0


def test_greeks_approx_close_for_small_moves_and_diverges_for_large(goog: OptionChain) -> None:
    q = _quote(goog, "2015-12-31", 760.0, True)
    small = ScenarioPlan("long", 750.9, 749.4, (752.4,), horizon_minutes=0.0)
    big = ScenarioPlan("long", 750.9, 690.0, (820.0,), horizon_minutes=0.0)
    rs, rb = scenario_pnl(small, q, R), scenario_pnl(big, q, R)
    err_small = max(abs(a - b) for a, b in zip(rs.value_full, rs.value_greeks, strict=True))
    err_big = max(abs(a - b) for a, b in zip(rb.value_full, rb.value_greeks, strict=True))
    assert err_small < 0.01                    # < 1 cent per share for a 0.2 % move
    assert err_big > 50 * err_small            # second order is not enough for a 9 % move
    # The full reprice is exact BSM at the scenario level.
    k_val = bsm_price(820.0, 760.0, q.years_to_expiry, R, 0.0, q.iv, True)
    entry_model = bsm_price(750.9, 760.0, q.years_to_expiry, R, 0.0, q.iv, True)
    assert rb.value_full[1] == pytest.approx(q.mid + k_val - entry_model, rel=1e-12)


def test_iv_shift_is_in_vol_points_matching_vega(goog: OptionChain) -> None:
    q = _quote(goog, "2016-02-19", 750.0, True)
    flat = ScenarioPlan("long", 750.9, 740.0, (760.0,), horizon_minutes=0.0)
    up = replace(flat, iv_shift_pts=1.0)
    a, b = scenario_pnl(flat, q, R), scenario_pnl(up, q, R)
    vega_pt = a.greeks_at_entry["vega_per_point"]
    # +1 vol point adds about one vega-per-point to the value, in both methods.
    assert (b.value_greeks[1] - a.value_greeks[1]) == pytest.approx(vega_pt, rel=1e-12)
    assert (b.value_full[1] - a.value_full[1]) == pytest.approx(vega_pt, rel=0.05)
    assert 0.3 < vega_pt < 2.0     # GOOG ATM 2-month vega is ~$0.9 per point, not $90 or $0.009


def test_theta_cost_grows_with_horizon(goog: OptionChain) -> None:
    q = _quote(goog, "2015-12-31", 750.0, True)
    short_h = scenario_pnl(replace(LONG, horizon_minutes=30), q, R)
    long_h = scenario_pnl(replace(LONG, horizon_minutes=390), q, R)
    assert long_h.value_full[1] < short_h.value_full[1]
    assert long_h.value_greeks[1] < short_h.value_greeks[1]


def test_sizing_never_exceeds_budget_on_real_contracts(goog: OptionChain) -> None:
    t = goog.years_to_expiry()
    idx = np.flatnonzero(np.isfinite(goog.iv) & goog.is_call & (t > 0.01))
    assert idx.size > 50
    for risk in (50.0, 100.0, 500.0, 2500.0):
        for j in idx[::7]:
            q = ContractQuote(float(goog.strike[j]), True, float(t[j]), float(goog.iv[j]), float(goog.mid[j]),
                              goog.underlying_price)
            res = scenario_pnl(LONG, q, R)
            s = size_position(risk, res.cost_per_contract, -res.pnl_full[0])
            assert s.cost_total <= risk + 1e-9
            assert s.risk_total <= risk + 1e-9
            if res.cost_per_contract > risk:
                assert s.contracts == 0 and s.reason == "UNAFFORDABLE"
            budget = size_position(risk, res.cost_per_contract, -res.pnl_full[0], budget=10 * risk)
            assert budget.cost_total <= 10 * risk + 1e-9 and budget.risk_total <= risk + 1e-9


def test_sizing_reasons_and_input_errors() -> None:
    assert size_position(100.0, 250.0, 40.0).reason == "UNAFFORDABLE"
    s = size_position(100.0, 250.0, 140.0, budget=1000.0)
    assert s.contracts == 0 and s.reason == "RISK_TOO_SMALL"
    ok = size_position(1000.0, 250.0, 140.0, budget=1000.0)
    assert ok.contracts == 4 and ok.cost_total == 1000.0 and ok.reason == "OK"
    for bad in (0.0, -5.0):
        with pytest.raises(InputError) as ei:
            size_position(bad, 100.0, 10.0)
        assert ei.value.field == "risk_amount"


def test_plan_validation_names_the_field(goog: OptionChain) -> None:
    q = _quote(goog, "2016-01-15", 760.0, True)
    with pytest.raises(InputError) as ei:
        scenario_pnl(ScenarioPlan("long", 750.0, 755.0, (760.0,)), q, R)
    assert ei.value.field == "stop"
    with pytest.raises(InputError) as ei:
        scenario_pnl(ScenarioPlan("long", 750.0, 745.0, (760.0, 758.0)), q, R)
    assert ei.value.field == "tp2"
    with pytest.raises(InputError) as ei:
        scenario_pnl(replace(LONG, slippage=-0.01), q, R)
    assert ei.value.field == "slippage"
