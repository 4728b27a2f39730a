"""Scenario P/L of buying a contract for a plan, and position sizing from a risk amount.

For each underlying scenario level (stop, TP1..TP3) the option is valued two ways:
- greeks approximation at the entry level:
  dV ~ delta dS + 1/2 gamma dS^2 + vega_per_point x iv_shift_pts - |theta_per_day| x horizon_days
- full BSM reprice at (level, T - horizon, sigma + iv_shift_pts / 100).
``iv_shift_pts`` is in VOL POINTS (+2 = sigma + 0.02) and vega is per vol point, so the units
match (the seed multiplied a per-point vega by a shift in basis points). ``horizon_minutes``
counts trading time: 390 minutes = one theta day.

Slippage is per share and always against the trader: the entry fill is premium + slippage and
every exit fill is value - slippage, so it deepens a loss and trims a gain (the seed did the
opposite at the stop). Sizing never proposes a contract that costs more than the budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.errors import InputError
from core.options.pricing import bsm_price, greeks

MULTIPLIER = 100.0
TRADING_MINUTES_PER_DAY = 390.0


@dataclass(frozen=True, slots=True)
class ScenarioPlan:
    direction: str                 # "long" (buy calls) | "short" (buy puts)
    entry: float                   # underlying levels
    stop: float
    targets: tuple[float, ...]     # TP1..TP3
    horizon_minutes: float = 30.0
    iv_shift_pts: float = 0.0      # vol points applied at every scenario
    slippage: float = 0.0          # $ per share, per fill

    def validate(self) -> None:
        if self.direction not in ("long", "short"):
            raise InputError("direction", f"must be 'long' or 'short', got {self.direction!r}")
        if not self.targets:
            raise InputError("targets", "at least one target (TP1) is required")
        if len(self.targets) > 3:
            raise InputError("targets", "at most three targets (TP1..TP3)")
        sgn = 1.0 if self.direction == "long" else -1.0
        if not sgn * (self.entry - self.stop) > 0:
            raise InputError("stop", f"stop {self.stop} must be on the losing side of entry {self.entry}")
        prev = self.entry
        for i, tp in enumerate(self.targets, 1):
            if not sgn * (tp - prev) > 0:
                raise InputError(f"tp{i}", f"target {tp} must lie beyond {prev} in the trade direction")
            prev = tp
        if self.slippage < 0:
            raise InputError("slippage", "must be >= 0 (it is a cost)")
        if self.horizon_minutes < 0:
            raise InputError("horizon_minutes", "must be >= 0")


@dataclass(frozen=True, slots=True)
class ContractQuote:
    """What the scenario needs about one contract (per share)."""

    strike: float
    is_call: bool
    years_to_expiry: float
    iv: float
    mid: float
    spot: float                    # underlying price the mid belongs to


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    levels: tuple[float, ...]              # stop, TP1..TPn (underlying)
    labels: tuple[str, ...]                # "stop", "tp1", ...
    entry_premium: float                   # per share at the entry level, before slippage
    cost_per_contract: float               # entry_premium x 100
    value_full: tuple[float, ...]          # option value per share, full reprice
    value_greeks: tuple[float, ...]        # option value per share, greeks approximation
    pnl_full: tuple[float, ...]            # $ per contract, after slippage on both fills
    pnl_greeks: tuple[float, ...]
    rr_tp1: float                          # P/L at TP1 / loss at stop (full reprice)
    greeks_at_entry: dict[str, float]


def scenario_pnl(plan: ScenarioPlan, quote: ContractQuote, r: float = 0.0, q: float = 0.0
                 ) -> ScenarioResult:
    plan.validate()
    if not (quote.iv > 0 and math.isfinite(quote.iv)):
        raise InputError("iv", f"contract needs a positive implied volatility, got {quote.iv!r}")
    if not (quote.mid > 0 and math.isfinite(quote.mid)):
        raise InputError("mid", f"contract needs a positive mid price, got {quote.mid!r}")
    t0 = quote.years_to_expiry
    if t0 <= 0:
        raise InputError("years_to_expiry", "contract has expired")
    horizon_days = plan.horizon_minutes / TRADING_MINUTES_PER_DAY
    t1 = max(t0 - horizon_days / 365.0, 0.0)
    sigma1 = max(quote.iv + plan.iv_shift_pts / 100.0, 1e-4)
    k, c = quote.strike, quote.is_call
    # Anchor to the market: premium at the entry level = mid + model change from spot to entry.
    g = greeks(plan.entry, k, t0, r, q, quote.iv, c)
    model_spot = float(bsm_price(quote.spot, k, t0, r, q, quote.iv, c))
    premium = max(quote.mid + float(g.price) - model_spot, 0.01)
    levels = (plan.stop, *plan.targets)
    labels = ("stop", *(f"tp{i}" for i in range(1, len(plan.targets) + 1)))
    lv = np.asarray(levels, dtype=float)
    full = premium + bsm_price(lv, k, t1, r, q, sigma1, c) - float(g.price)
    ds = lv - plan.entry
    approx = (premium + float(g.delta) * ds + 0.5 * float(g.gamma) * ds * ds
              + float(g.vega_per_point) * plan.iv_shift_pts - abs(float(g.theta_per_day)) * horizon_days)
    full = np.maximum(full, 0.0)       # an option is never worth less than zero
    approx = np.maximum(approx, 0.0)
    entry_fill = premium + plan.slippage
    pnl_full = ((full - plan.slippage) - entry_fill) * MULTIPLIER
    pnl_approx = ((approx - plan.slippage) - entry_fill) * MULTIPLIER
    loss = -pnl_full[0]
    rr = float(pnl_full[1] / loss) if loss > 0 else float("inf")
    return ScenarioResult(
        levels=tuple(float(x) for x in lv), labels=labels, entry_premium=premium,
        cost_per_contract=premium * MULTIPLIER,
        value_full=tuple(float(x) for x in full), value_greeks=tuple(float(x) for x in approx),
        pnl_full=tuple(float(x) for x in pnl_full), pnl_greeks=tuple(float(x) for x in pnl_approx),
        rr_tp1=rr,
        greeks_at_entry={"delta": float(g.delta), "gamma": float(g.gamma),
                         "vega_per_point": float(g.vega_per_point),
                         "theta_per_day": float(g.theta_per_day)})


@dataclass(frozen=True, slots=True)
class Sizing:
    contracts: int
    reason: str                 # "OK" | "UNAFFORDABLE" | "RISK_TOO_SMALL"
    cost_total: float
    risk_total: float           # loss at the stop for the proposed size


def size_position(risk_amount: float, cost_per_contract: float, loss_per_contract_at_stop: float,
                  budget: float | None = None) -> Sizing:
    """Contracts such that the stop loss fits ``risk_amount`` and the cost fits ``budget``.

    ``budget`` defaults to ``risk_amount``: a bought option can lose its whole premium (a gap
    through the stop), so by default no proposal costs more than the trader agreed to risk.
    """
    if not risk_amount > 0:
        raise InputError("risk_amount", f"must be > 0, got {risk_amount!r}")
    if not cost_per_contract > 0:
        raise InputError("cost_per_contract", f"must be > 0, got {cost_per_contract!r}")
    cap = risk_amount if budget is None else budget
    if not cap > 0:
        raise InputError("budget", f"must be > 0, got {budget!r}")
    by_cost = math.floor(cap / cost_per_contract + 1e-12)
    loss = max(loss_per_contract_at_stop, 0.0)
    by_risk = math.floor(risk_amount / loss + 1e-12) if loss > 0 else by_cost
    n = max(min(by_cost, by_risk), 0)
    if n == 0:
        reason = "UNAFFORDABLE" if by_cost == 0 else "RISK_TOO_SMALL"
    else:
        reason = "OK"
    return Sizing(contracts=n, reason=reason, cost_total=n * cost_per_contract, risk_total=n * loss)
