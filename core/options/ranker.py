"""Contract ranker: style gates, the widening ladder, rejection reasons and a tradeability score.

The trader asks "which contract expresses this plan?": a long plan buys calls, a short plan buys
puts. Each contract either passes every gate or gets the FIRST failing gate as its rejection
code (checked in the order of ``RejectCode``). If fewer than 3 pass, the gates widen one rung at a
time (ladder below) until 3 pass or the ladder ends. Gates the request set explicitly are the
trader's own limits and are never widened.

Tradeability (0-100), with norm(x, a, b) = clip((x - a) / (b - a), 0, 1):
    100 x [0.4 (1 - norm(spread%, 2, 12)) + 0.3 (1 - min(||delta| - target|, 0.5) / 0.5)
           + 0.2 norm(log10 OI, 2, 4) + 0.1 (1 - norm(IV rank, 40, 70))]
target |delta|: scalp .60, intraday .50, swing .40, leaps .35. Unknown IV rank scores the
neutral 0.5 on its term. Ties: tighter spread, then larger OI.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

import numpy as np

from core.errors import InputError
from core.options.chain import OptionChain, check_chain


class RejectCode(StrEnum):
    SIDE_MISMATCH = "SIDE_MISMATCH"
    NO_MARKET_DATA = "NO_MARKET_DATA"
    STALE_QUOTE = "STALE_QUOTE"
    DTE_OUT_OF_RANGE = "DTE_OUT_OF_RANGE"
    DELTA_UNAVAILABLE = "DELTA_UNAVAILABLE"
    DELTA_OUT_OF_RANGE = "DELTA_OUT_OF_RANGE"
    SPREAD_TOO_WIDE = "SPREAD_TOO_WIDE"
    OPEN_INTEREST_TOO_LOW = "OPEN_INTEREST_TOO_LOW"


@dataclass(frozen=True, slots=True)
class Criteria:
    dte_min: int
    dte_max: int
    delta_min: float          # on |delta|
    delta_max: float
    max_spread_pct: float
    min_oi: float
    target_delta: float


STYLE_DEFAULTS: dict[str, Criteria] = {
    "scalp": Criteria(0, 3, 0.55, 0.65, 8.0, 1000, 0.60),
    "intraday": Criteria(0, 7, 0.45, 0.55, 10.0, 700, 0.50),
    "swing": Criteria(10, 45, 0.30, 0.55, 12.0, 500, 0.40),
    "leaps": Criteria(180, 1200, 0.25, 0.45, 15.0, 500, 0.35),
}
OI_LADDER = (1000.0, 700.0, 500.0, 300.0)
BEST_N = 3
ALTERNATIVES_N = 7


@dataclass(frozen=True)
class RankRequest:
    direction: str                          # "long" -> calls, "short" -> puts
    style: str = "intraday"
    dte_min: int | None = None              # explicit overrides (never widened)
    dte_max: int | None = None
    delta_min: float | None = None
    delta_max: float | None = None
    max_spread_pct: float | None = None
    min_oi: float | None = None
    iv_rank: float | None = None            # 0-100, from core.options.vol
    max_quote_age_s: float = 900.0
    now: datetime | None = None             # quote-age reference; default chain.as_of
    widen: bool = True

    def base_criteria(self) -> Criteria:
        if self.style not in STYLE_DEFAULTS:
            raise InputError("style", f"unknown style {self.style!r}; use one of {sorted(STYLE_DEFAULTS)}")
        if self.direction not in ("long", "short"):
            raise InputError("direction", f"must be 'long' or 'short', got {self.direction!r}")
        c = STYLE_DEFAULTS[self.style]
        over = {k: getattr(self, k) for k in ("dte_min", "dte_max", "delta_min", "delta_max",
                                               "max_spread_pct", "min_oi") if getattr(self, k) is not None}
        c = replace(c, **over)
        if c.dte_min > c.dte_max:
            raise InputError("dte_min", f"dte_min {c.dte_min} > dte_max {c.dte_max}")
        if c.delta_min > c.delta_max:
            raise InputError("delta_min", f"delta_min {c.delta_min} > delta_max {c.delta_max}")
        return c

    def fixed(self) -> set[str]:
        return {k for k in ("dte_min", "dte_max", "delta_min", "delta_max", "max_spread_pct", "min_oi")
                if getattr(self, k) is not None}


@dataclass(frozen=True, slots=True)
class RankedContract:
    row: int                  # index into the chain
    contract: str
    expiry: str
    right: str
    strike: float
    dte: int
    bid: float
    ask: float
    mid: float
    spread_pct: float
    delta: float
    iv: float
    open_interest: float
    volume: float
    score: float
    cost_per_contract: float  # mid x 100
    modelled: bool


@dataclass(frozen=True, slots=True)
class Rejection:
    row: int
    contract: str
    code: RejectCode
    detail: str


@dataclass(frozen=True)
class RankResult:
    best: list[RankedContract]
    alternatives: list[RankedContract]
    rejections: list[Rejection]             # nearest misses first (latest gate failed, then delta)
    criteria: Criteria                      # the gates finally applied
    ladder: list[str]                       # rungs applied, in order ("base" first)
    warnings: tuple[str, ...]               # chain flags (stale, mismatch, modelled)
    source: str
    modelled: bool
    passed_count: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def _norm(x: np.ndarray, a: float, b: float) -> np.ndarray:
    return np.clip((x - a) / (b - a), 0.0, 1.0)


def tradeability(spread_pct: np.ndarray, abs_delta: np.ndarray, open_interest: np.ndarray,
                 target_delta: float, iv_rank: float | None) -> np.ndarray:
    """The documented 0-100 score (module docstring)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_oi = np.log10(np.maximum(np.nan_to_num(open_interest, nan=0.0), 1.0))
    ivr_term = 0.5 if iv_rank is None or not np.isfinite(iv_rank) else 1.0 - float(
        _norm(np.asarray(iv_rank, dtype=float), 40.0, 70.0))
    return 100.0 * (0.4 * (1.0 - _norm(spread_pct, 2.0, 12.0))
                    + 0.3 * (1.0 - np.minimum(np.abs(abs_delta - target_delta), 0.5) / 0.5)
                    + 0.2 * _norm(log_oi, 2.0, 4.0)
                    + 0.1 * ivr_term)


def _ladder(base: Criteria, style_default: Criteria, fixed: set[str]) -> list[tuple[str, Criteria]]:
    """Cumulative rungs: delta +-0.05, DTE +-2, spread +2 then +4 (cap default + 4), OI steps."""
    rungs: list[tuple[str, Criteria]] = [("base", base)]
    c = base
    if not fixed & {"delta_min", "delta_max"}:
        c = replace(c, delta_min=max(0.0, c.delta_min - 0.05), delta_max=min(1.0, c.delta_max + 0.05))
        rungs.append(("delta +-0.05", c))
    if not fixed & {"dte_min", "dte_max"}:
        c = replace(c, dte_min=max(0, c.dte_min - 2), dte_max=c.dte_max + 2)
        rungs.append(("dte +-2", c))
    if "max_spread_pct" not in fixed:
        cap = style_default.max_spread_pct + 4.0
        for step in (2.0, 4.0):
            wider = min(base.max_spread_pct + step, cap)
            if wider > c.max_spread_pct:
                c = replace(c, max_spread_pct=wider)
                rungs.append((f"spread <= {wider:g}%", c))
    if "min_oi" not in fixed:
        for oi in OI_LADDER:
            if oi < c.min_oi:
                c = replace(c, min_oi=oi)
                rungs.append((f"open interest >= {oi:g}", c))
    return rungs


def _first_failure(chain: OptionChain, crit: Criteria, want_call: bool, stale: np.ndarray,
                   dte: np.ndarray, abs_delta: np.ndarray, spread: np.ndarray
                   ) -> np.ndarray:
    """Per row: index into the RejectCode order of the first failing gate, or -1 if all pass."""
    oi = np.nan_to_num(chain.open_interest, nan=0.0)
    checks = [
        chain.is_call != want_call,
        ~chain.has_market,
        stale,
        (dte < crit.dte_min) | (dte > crit.dte_max),
        ~np.isfinite(abs_delta),
        (abs_delta < crit.delta_min - 1e-12) | (abs_delta > crit.delta_max + 1e-12),
        ~(spread <= crit.max_spread_pct + 1e-9),
        oi < crit.min_oi,
    ]
    out = np.full(len(chain), -1, dtype=np.int64)
    for i, fail in enumerate(checks):
        out = np.where((out < 0) & fail, i, out)
    return out


_CODES = list(RejectCode)


def rank_contracts(chain: OptionChain, request: RankRequest) -> RankResult:
    """Best 3 + next 7 alternatives + one rejection per discarded contract."""
    base = request.base_criteria()
    style_default = STYLE_DEFAULTS[request.style]
    want_call = request.direction == "long"
    check = check_chain(chain, now=request.now, max_quote_age_s=request.max_quote_age_s)
    dte = chain.dte(request.now)
    abs_delta = np.abs(chain.delta)
    spread = chain.spread_pct
    rungs = _ladder(base, style_default, request.fixed()) if request.widen else [("base", base)]
    applied: list[str] = []
    for name, crit in rungs:
        applied.append(name)
        fail = _first_failure(chain, crit, want_call, check.stale, dte, abs_delta, spread)
        if int((fail < 0).sum()) >= BEST_N:
            break
    passed = np.flatnonzero(fail < 0)
    scores = tradeability(spread[passed], abs_delta[passed], chain.open_interest[passed],
                          crit.target_delta, request.iv_rank)
    oi = np.nan_to_num(chain.open_interest[passed], nan=0.0)
    order = np.lexsort((-oi, spread[passed], -scores))
    ranked = [_ranked(chain, int(passed[i]), float(scores[i]), int(dte[passed[i]])) for i in order]
    # Nearest misses first: a later gate failed means every earlier one passed (an ATM contract
    # rejected only for its spread says more than a deep ITM one of the wrong expiry), then the
    # distance from the target delta — so the first rejections answer "why nothing?".
    rej = np.flatnonzero(fail >= 0)
    miss = np.abs(np.nan_to_num(abs_delta[rej], nan=np.inf) - crit.target_delta)
    rej = rej[np.lexsort((rej, miss, -fail[rej]))]
    rejections = [
        Rejection(int(i), str(chain.contract[i]), _CODES[fail[i]], _detail(_CODES[fail[i]], chain, i, crit,
                                                                           dte, abs_delta, spread))
        for i in rej
    ]
    counts: dict[str, int] = {}
    for rj in rejections:
        counts[rj.code.value] = counts.get(rj.code.value, 0) + 1
    warnings = tuple(dict.fromkeys((*chain.flags, *check.flags)))
    return RankResult(best=ranked[:BEST_N], alternatives=ranked[BEST_N:BEST_N + ALTERNATIVES_N],
                      rejections=rejections, criteria=crit, ladder=applied, warnings=warnings,
                      source=chain.source, modelled=bool(chain.modelled.any()),
                      passed_count=len(ranked), counts=counts)


def _ranked(chain: OptionChain, i: int, score: float, dte: int) -> RankedContract:
    mid = float(chain.mid[i])
    return RankedContract(
        row=i, contract=str(chain.contract[i]), expiry=str(chain.expiry[i]),
        right="C" if chain.is_call[i] else "P", strike=float(chain.strike[i]), dte=dte,
        bid=float(chain.bid[i]), ask=float(chain.ask[i]), mid=mid, spread_pct=float(chain.spread_pct[i]),
        delta=float(chain.delta[i]), iv=float(chain.iv[i]), open_interest=float(chain.open_interest[i]),
        volume=float(chain.volume[i]), score=round(score, 2), cost_per_contract=round(mid * 100.0, 2),
        modelled=bool(chain.modelled[i]))


def _detail(code: RejectCode, chain: OptionChain, i: int, c: Criteria, dte: np.ndarray,
            abs_delta: np.ndarray, spread: np.ndarray) -> str:
    match code:
        case RejectCode.SIDE_MISMATCH:
            return "put for a long plan" if not chain.is_call[i] else "call for a short plan"
        case RejectCode.NO_MARKET_DATA:
            return f"bid={chain.bid[i]} ask={chain.ask[i]}"
        case RejectCode.STALE_QUOTE:
            return "quote time unknown or older than the limit"
        case RejectCode.DTE_OUT_OF_RANGE:
            return f"dte {dte[i]} not in [{c.dte_min}, {c.dte_max}]"
        case RejectCode.DELTA_UNAVAILABLE:
            return "no delta (no IV and no vendor greek)"
        case RejectCode.DELTA_OUT_OF_RANGE:
            return f"|delta| {abs_delta[i]:.3f} not in [{c.delta_min:.2f}, {c.delta_max:.2f}]"
        case RejectCode.SPREAD_TOO_WIDE:
            return f"spread {spread[i]:.1f}% > {c.max_spread_pct:g}%"
        case RejectCode.OPEN_INTEREST_TOO_LOW:
            return f"open interest {chain.open_interest[i]:g} < {c.min_oi:g}"
    return ""
