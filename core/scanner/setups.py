"""Setup states at the latest bar: triggered, armed, forming or nothing (with the reason), ranked.

`scan_setups(series, interval, style=…)` evaluates every playbook for every symbol at its latest
bar and returns a `ScanReport`: ranked `Candidate`s (the fields the GPT knows from the backend this
replaces) and one `SymbolRow` per symbol. Everything reads bars ≤ the latest bar only.

States (docs/scanner.md, "Setup states"):
* triggered — a playbook fired on one of the last `LIVE_MINUTES` of this session and its plan is
  still live at the latest bar (no stop, TP1 or invalidation since). It carries the `Plan`.
* armed — the structure is in place and the trigger is known (each playbook's `spec.armed`); the
  would-be plan (entry ≈ the trigger price) passes the same validation a triggered plan must pass.
* forming — part of the structure exists (`spec.forming`); `missing` says what is not there. An
  armed structure whose would-be plan fails validation is reported as forming with that reason.
* none — the reason per playbook is in the symbol row (`none_reasons`).

Score = state points (triggered 300, armed 200, forming 100) + 50 × confidence
− 10 × min(entry distance in bar ATR, 5): the last two terms stay within ±50, so the state always
ranks first, then confidence, then distance.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from enum import StrEnum

import numpy as np

from core.errors import InputError
from core.market.bars import Bars
from core.market.intervals import Interval, parse_interval
from core.scanner.features import Features, SeriesInput, build_features
from core.scanner.incremental import DetectionRecord
from core.scanner.levels import PRIORITY, Level
from core.scanner.plan import (
    PHASE_LABELS,
    Plan,
    PlanContext,
    Rejected,
    bar_levels,
    build_plan,
    build_plans,
    prime_bar_levels,
    raw_confidence,
)
from core.scanner.playbooks import Playbook
from core.scanner.playbooks.base import ARMED, FORMING, Setups
from core.scanner.scan import select_playbooks
from core.scanner.targets import check_style
from core.scanner.triggers import LIVE_MINUTES, NY, PlanMemo, _live_window, _ny_time, _triggered

ACTIONABLE_ATR = 0.5       # actionable_soon: within 0.5 bar-ATR of the (would-be) entry
SPEED_BARS = 10            # bars_to_trigger from the mean |close change| of the last 10 bars
STATE_POINTS = {"triggered": 300.0, "armed": 200.0, "forming": 100.0}


class SetupState(StrEnum):
    TRIGGERED = "triggered"
    ARMED = "armed"
    FORMING = "forming"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Candidate:
    symbol: str
    playbook: str
    state: SetupState
    direction: str | None              # "long" | "short" (None where a forming setup has no side yet)
    entry: float | None
    stop: float | None
    tps: tuple[float, ...]
    rr_t1: float | None
    confidence: float
    confidence_kind: str               # "calibrated" | "heuristic"
    calibration: str                   # which calibration, or "heuristic"
    reasons: tuple[str, ...]
    entry_distance_pct: float | None
    entry_distance_atr: float | None
    bars_to_trigger: int | None
    actionable_soon: bool
    trigger: str                       # the trigger condition in words (armed)
    missing: str                       # what is missing (forming)
    setup_key: str | None              # stable identity of a triggered setup
    bar_ts: int                        # latest bar start (UTC ns) the state was read at
    triggered_ts: int | None = None    # trigger bar start (UTC ns), triggered only
    score: float = 0.0
    rank: int = 0
    plan: Plan | None = field(default=None, repr=False)   # triggered: the plan; armed: the would-be plan

    @property
    def plan_id(self) -> str | None:
        """Only triggered candidates have a plan id (the store may replace it on save)."""
        return self.plan.plan_id if self.plan is not None and self.state is SetupState.TRIGGERED else None

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {
            "symbol": self.symbol, "rank": self.rank, "score": self.score, "playbook": self.playbook,
            "state": self.state.value, "direction": self.direction, "entry": self.entry, "stop": self.stop,
            "tps": list(self.tps), "rr_t1": self.rr_t1, "confidence": self.confidence,
            "confidence_kind": self.confidence_kind, "calibration": self.calibration,
            "reasons": list(self.reasons), "entry_distance_pct": self.entry_distance_pct,
            "entry_distance_atr": self.entry_distance_atr, "bars_to_trigger": self.bars_to_trigger,
            "actionable_soon": self.actionable_soon, "plan_id": self.plan_id, "trigger": self.trigger,
            "missing": self.missing, "setup_key": self.setup_key,
            "as_of_bar": _iso(self.bar_ts),
            "triggered_at": _iso(self.triggered_ts) if self.triggered_ts is not None else None,
        }
        return _clean(d)


@dataclass(frozen=True, slots=True)
class SymbolRow:
    symbol: str
    price: float | None
    session_phase: str
    trend_stack: str                   # "bull" (EMA 9 > 20 > 50), "bear", "mixed"
    key_levels: tuple[Level, ...]
    expected_move: float | None        # to the session close, from realised volatility
    atr: float | None                  # ATR14 on the scan interval
    vwap: float | None
    bar_ts: int | None
    candidates: int                    # how many candidates this symbol has
    no_candidate_reason: str | None    # why there is none (when there is none)
    none_reasons: Mapping[str, str]    # playbook → why it has nothing at this bar
    ended: Mapping[str, str] = field(default_factory=dict)  # playbook → how its last plan ended

    def to_dict(self) -> dict[str, object]:
        return _clean({
            "symbol": self.symbol, "price": self.price, "session_phase": self.session_phase,
            "trend_stack": self.trend_stack, "key_levels": [lv.to_dict() for lv in self.key_levels],
            "expected_move": self.expected_move, "atr": self.atr, "vwap": self.vwap,
            "as_of_bar": _iso(self.bar_ts) if self.bar_ts is not None else None,
            "candidates": self.candidates, "no_candidate_reason": self.no_candidate_reason,
            "none_reasons": dict(self.none_reasons), "ended": dict(self.ended),
        })


@dataclass(frozen=True, slots=True)
class ScanReport:
    as_of: datetime                    # UTC: close of the latest bar scanned (or now_ns)
    interval: str
    style: str
    candidates: tuple[Candidate, ...]
    symbols: tuple[SymbolRow, ...]
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {"as_of": self.as_of.isoformat(), "interval": self.interval, "style": self.style,
                "candidates": [c.to_dict() for c in self.candidates],
                "symbols": [r.to_dict() for r in self.symbols], "warnings": list(self.warnings)}

    def state_of(self, symbol: str, playbook: str) -> Candidate | None:
        for c in self.candidates:
            if c.symbol == symbol and c.playbook == playbook:
                return c
        return None


def _iso(ns: int | None) -> str | None:
    return None if ns is None else datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat()


def _clean(obj: object) -> object:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


def score(state: SetupState, confidence: float, distance_atr: float | None) -> float:
    """State points + 50 × confidence − 10 × min(distance in ATR, 5) (see the module doc)."""
    pts = STATE_POINTS.get(state.value, 0.0)
    dist = 0.0 if distance_atr is None or not math.isfinite(distance_atr) else min(distance_atr, 5.0)
    return round(pts + 50.0 * confidence - 10.0 * dist, 3)


def rank(candidates: Iterable[Candidate], *, fresh: bool = False) -> tuple[Candidate, ...]:
    """Best score first (ties: symbol, playbook), numbered from 1. `fresh`: the candidates were
    just created by the caller and nothing else holds them yet, so they are numbered in place
    instead of copied (a scan numbers every candidate it creates; copies cost ~5 % of a rescan)."""
    ordered = sorted(candidates, key=lambda c: (-c.score, c.symbol, c.playbook))
    if fresh:
        for k, c in enumerate(ordered, start=1):
            object.__setattr__(c, "rank", k)
        return tuple(ordered)
    return tuple(c if c.rank == k else _with_rank(c, k) for k, c in enumerate(ordered, start=1))


_CANDIDATE_SLOTS = tuple(f.name for f in fields(Candidate))


def _with_rank(c: Candidate, k: int) -> Candidate:
    """`replace(c, rank=k)` without its per-call field introspection (a live rescan ranks every
    candidate of the watchlist on each close)."""
    out = object.__new__(Candidate)
    for name in _CANDIDATE_SLOTS:
        object.__setattr__(out, name, getattr(c, name))
    object.__setattr__(out, "rank", k)
    return out


# -- the scan -------------------------------------------------------------------------------------

def _items(series: Sequence[SeriesInput] | Mapping[str, Bars]) -> list[SeriesInput]:
    return [SeriesInput(k, v) for k, v in series.items()] if isinstance(series, Mapping) else list(series)


def _calibration_label(ctx: PlanContext) -> tuple[str, str]:
    if ctx.calibration is None:
        return "heuristic", "heuristic"
    return "calibrated", str(getattr(ctx.calibration, "source", "fitted"))


def _confidence(ctx: PlanContext, playbook: str, conds: Sequence[bool]) -> float:
    raw = raw_confidence(conds)
    return float(ctx.calibration.apply(playbook, raw)) if ctx.calibration is not None else raw


def _speed(f: Features, i: int, memo: dict[int, float] | None = None) -> float:
    """Mean |close change| per bar over the last SPEED_BARS bars of the series (`memo`: by bar, the
    armed setups of every playbook at one bar share it)."""
    if memo is not None:
        if i not in memo:
            memo[i] = _speed(f, i)
        return memo[i]
    a = max(int(f.series_start[f.series_of[i]]), i - SPEED_BARS)
    c = f.close[a:i + 1].tolist()      # ≤ 11 floats: plain Python beats numpy's per-call cost
    if len(c) < 2:
        return float("nan")
    return sum(abs(c[j + 1] - c[j]) for j in range(len(c) - 1)) / (len(c) - 1)


def _distance(f: Features, i: int, entry: float) -> tuple[float, float, float]:
    """(|close − entry|, in % of price, in bar ATR)."""
    c, a = float(f.close[i]), float(f.atr[i])
    dist = abs(c - entry)
    return dist, 100.0 * dist / c if c > 0 else float("nan"), dist / a if a > 0 else float("nan")


def _fin(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _triggered_candidate(f: Features, plan: Plan, i_trig: int, last: int, cal: tuple[str, str]) -> Candidate:
    _, pct, in_atr = _distance(f, last, plan.entry)
    return Candidate(
        symbol=plan.symbol, playbook=plan.playbook, state=SetupState.TRIGGERED, direction=plan.direction,
        entry=plan.entry, stop=plan.stop, tps=plan.targets, rr_t1=plan.rr_t1, confidence=plan.confidence,
        confidence_kind=cal[0], calibration=cal[1],
        reasons=(f"triggered at {_ny_time(plan.bar_ts)}", *plan.reasons), entry_distance_pct=_fin(pct),
        entry_distance_atr=_fin(in_atr), bars_to_trigger=0,
        actionable_soon=bool(math.isfinite(in_atr) and in_atr <= ACTIONABLE_ATR), trigger="", missing="",
        setup_key=plan.setup_key, bar_ts=int(f.ts[last]), triggered_ts=plan.bar_ts,
        score=score(SetupState.TRIGGERED, plan.confidence, in_atr), plan=plan,
    )


def _would_be_plans(f: Features, pb: Playbook, su: Setups, live: Mapping[int, object], ctx: PlanContext
                    ) -> dict[int, Plan | Rejected]:
    """By row of `su`: the would-be plan of each armed setup whose series has no live trigger of this
    playbook, built in one call (rows of `su` are the series' latest bars, in series order)."""
    rows = [j for j in np.flatnonzero(su.state == ARMED).tolist() if j not in live]
    if not rows:
        return {}
    plans = build_plans(f, su.signals(np.array(rows, dtype=np.int64)), ctx, pb.spec.conditions,
                        pb.spec.invalidation)
    return dict(zip(rows, plans, strict=True))


def _armed_or_forming(f: Features, pb: Playbook, su: Setups, j: int, ctx: PlanContext,
                      cal: tuple[str, str], speeds: dict[int, float] | None = None,
                      would_be: Plan | Rejected | None = None) -> Candidate | str:
    """A candidate for row j of `su` (armed or forming), or the reason there is none. `would_be`:
    the armed row's plan when the caller built it already (`_would_be_plans`)."""
    state = int(su.state[j])
    if state != ARMED and state != FORMING:
        return str(su.why[j])                # most rows: the reason there is nothing, read first
    i = int(su.idx[j])
    symbol = f.symbols[int(f.series_of[i])]
    ts = int(f.ts[i])
    if state == ARMED:
        out = would_be if would_be is not None else build_plan(
            f, su.signals(np.array([j])), 0, ctx, pb.spec.conditions, pb.spec.invalidation)
        if isinstance(out, Plan):
            dist, pct, in_atr = _distance(f, i, out.entry)
            speed = _speed(f, i, speeds)
            btt = max(1, math.ceil(dist / speed)) if speed > 0 and math.isfinite(speed) else None
            words = su.describe(j)
            return Candidate(
                symbol=symbol, playbook=pb.name, state=SetupState.ARMED, direction=out.direction,
                entry=out.entry, stop=out.stop, tps=out.targets, rr_t1=out.rr_t1, confidence=out.confidence,
                confidence_kind=cal[0], calibration=cal[1], reasons=(f"armed: {words}", *out.reasons),
                entry_distance_pct=_fin(pct), entry_distance_atr=_fin(in_atr), bars_to_trigger=btt,
                actionable_soon=bool(math.isfinite(in_atr) and in_atr <= ACTIONABLE_ATR), trigger=words,
                missing="", setup_key=None, bar_ts=ts,
                score=score(SetupState.ARMED, out.confidence, in_atr), plan=out,
            )
        missing = f"at the trigger the plan would fail {out.field}: {out.reason}"
    else:
        missing = str(su.why[j])
    conf = _confidence(ctx, pb.name, su.conditions[j].tolist())
    d = int(su.direction[j])
    return Candidate(
        symbol=symbol, playbook=pb.name, state=SetupState.FORMING,
        direction=("long" if d > 0 else "short") if d else None, entry=None, stop=None, tps=(), rr_t1=None,
        confidence=conf, confidence_kind=cal[0], calibration=cal[1], reasons=(f"forming: {missing}",),
        entry_distance_pct=None, entry_distance_atr=None, bars_to_trigger=None, actionable_soon=False,
        trigger="", missing=missing, setup_key=None, bar_ts=ts, score=score(SetupState.FORMING, conf, None),
    )


def _symbol_row(f: Features, s: int, ctx: PlanContext, count: int, none_reasons: dict[str, str],
                ended: dict[str, str]) -> SymbolRow:
    i = int(f.series_end[s]) - 1
    stack = {1: "bull", -1: "bear"}.get(int(f.stack[i]), "mixed")
    levels, em = bar_levels(f, i, ctx)
    reason = None
    if count == 0:
        reason = "; ".join(sorted({v for v in none_reasons.values()})[:3]) if none_reasons else "no playbooks"
        if len({*none_reasons.values()}) > 3:
            reason += " …"
    return SymbolRow(
        symbol=f.symbols[s], price=_fin(float(f.close[i])), session_phase=PHASE_LABELS[int(f.phase[i])],
        trend_stack=stack, key_levels=tuple(sorted(levels, key=lambda lv: -PRIORITY.get(lv.label, 0))),
        expected_move=_fin(em), atr=_fin(float(f.atr[i])), vwap=_fin(float(f.vwap[i])), bar_ts=int(f.ts[i]),
        candidates=count, no_candidate_reason=reason, none_reasons=none_reasons, ended=ended,
    )


def _empty_row(symbol: str, reason: str) -> SymbolRow:
    return SymbolRow(symbol, None, "unknown", "mixed", (), None, None, None, None, 0, reason, {})


def scan_setups(series: Sequence[SeriesInput] | Mapping[str, Bars], interval: Interval | str, *,
                style: str = "intraday", playbooks: Sequence[str] | None = None,
                ctx: PlanContext | None = None, now_ns: int | None = None,
                memo: PlanMemo | None = None, record: DetectionRecord | None = None) -> ScanReport:
    """Every playbook's state for every symbol at its latest bar, ranked (see the module doc).

    `now_ns` (UTC): bars starting at or after it are ignored (never read an unfinished bar) and a
    symbol whose latest bar closed more than two intervals before it gets a `stale` warning.
    `ctx.calibration` makes confidences calibrated; candidates name the calibration. `memo` (a dict
    kept by the caller between live rescans) remembers the plan built for each trigger bar: a plan
    depends only on bars up to its trigger, so it is built once — the same setup keeps the same
    plan (and plan id) on every later scan. `record` (a live scanner's, see core/scanner/incremental.py)
    lets the detectors skip the bars an earlier scan of the same bars already saw."""
    iv = parse_interval(interval)
    check_style(style)
    books = select_playbooks(playbooks)
    context = ctx or PlanContext.with_caches(style)
    if context.style != style:
        context = replace(context, style=style)
    context = context.fresh()  # caches are keyed by this scan's frame
    warnings: list[str] = []
    rows: dict[str, SymbolRow] = {}
    usable: list[SeriesInput] = []
    items = _items(series)
    dup = sorted(k for k, n in Counter(s.symbol for s in items).items() if n > 1)
    if dup:
        raise InputError("series", f"duplicate symbol {', '.join(dup)}")
    for s in items:
        bars = s.bars
        if now_ns is not None and len(bars):
            bars = bars[: int(np.searchsorted(bars.ts, int(now_ns) - iv.ns, side="right"))]
        if not len(bars):
            rows[s.symbol] = _empty_row(s.symbol, "no bars")
            warnings.append(f"{s.symbol}: no bars")
            continue
        if now_ns is not None and int(now_ns) - (int(bars.ts[-1]) + iv.ns) > 2 * iv.ns:
            warnings.append(f"{s.symbol}: stale, latest bar closed {_iso(int(bars.ts[-1]) + iv.ns)}")
        usable.append(SeriesInput(s.symbol, bars))
    if not usable and not rows:
        raise InputError("series", "no symbols to scan")
    candidates: list[Candidate] = []
    as_of_ns = now_ns
    if usable:
        f = build_features(usable, iv, record.calendar if record is not None else None)
        last_idx = f.series_end - 1
        cal = _calibration_label(context)
        none: list[dict[str, str]] = [{} for _ in usable]
        ends: list[dict[str, str]] = [{} for _ in usable]
        counts = [0] * len(usable)
        window = _live_window(f, last_idx)
        f.avwaps(last_idx)   # every symbol row needs its session's AVWAP lines: one batched call
        prime_bar_levels(f, last_idx, context)   # and its levels: one pass for all symbols
        speeds: dict[int, float] = {}
        rec = None
        if record is not None:
            if record.playbooks != tuple(pb.name for pb in books):
                raise InputError("record", "kept for another playbook selection")
            rec = record.frame(f.symbols, [s.bars for s in usable])
        for col, pb in enumerate(books):
            live, ended = _triggered(f, pb, window, context, memo, rec, col)
            su = pb.setups(f, last_idx)
            would_be = _would_be_plans(f, pb, su, live, context)
            for s, note in ended.items():
                ends[s][pb.name] = note
            # Most rows have neither state: their reason is read here without a call per row.
            states, whys = su.state.tolist(), su.why.tolist()
            for s in range(len(usable)):
                if s in live:
                    plan, i_trig = live[s]
                    candidates.append(_triggered_candidate(f, plan, i_trig, int(last_idx[s]), cal))
                    counts[s] += 1
                    continue
                if states[s] != ARMED and states[s] != FORMING:
                    none[s][pb.name] = str(whys[s])
                    continue
                out = _armed_or_forming(f, pb, su, s, context, cal, speeds, would_be.get(s))
                if isinstance(out, Candidate):
                    candidates.append(out)
                    counts[s] += 1
                else:
                    none[s][pb.name] = out
        for s in range(len(usable)):
            rows[f.symbols[s]] = _symbol_row(f, s, context, counts[s], none[s], ends[s])
        if record is not None and rec is not None:
            record.keep(f.symbols, [s.bars for s in usable], f.series_start, f.series_end, rec)
        if as_of_ns is None:
            as_of_ns = int(f.ts[last_idx].max()) + iv.ns
    order = [s.symbol for s in _items(series)]
    as_of = datetime.fromtimestamp((as_of_ns or 0) / 1e9, tz=UTC)
    return ScanReport(as_of, iv.name, style, rank(candidates, fresh=True), tuple(rows[k] for k in order if k in rows),
                      tuple(warnings))


# -- live: incremental rescans and what changed ---------------------------------------------------

def rescan(prev: ScanReport | None, series: Sequence[SeriesInput] | Mapping[str, Bars], closed: Iterable[str],
           interval: Interval | str, *, style: str = "intraday", playbooks: Sequence[str] | None = None,
           ctx: PlanContext | None = None, now_ns: int | None = None,
           memo: PlanMemo | None = None, record: DetectionRecord | None = None) -> ScanReport:
    """Rescan only the symbols whose bar just closed (`closed`) and keep the other symbols' rows and
    candidates from `prev`; re-rank the whole watchlist. A full scan without `prev` or when `prev`
    was for another interval or style. Symbols no longer in `series` are dropped."""
    items = _items(series)
    if prev is None or prev.interval != parse_interval(interval).name or prev.style != style:
        return scan_setups(items, interval, style=style, playbooks=playbooks, ctx=ctx, now_ns=now_ns, memo=memo,
                           record=record)
    want = {s.upper() for s in closed}
    fresh = [s for s in items if s.symbol.upper() in want]
    if not fresh:
        return prev
    part = scan_setups(fresh, interval, style=style, playbooks=playbooks, ctx=ctx, now_ns=now_ns, memo=memo,
                       record=record)
    redone = {s.symbol for s in fresh}
    watch = {s.symbol for s in items}
    kept = [c for c in prev.candidates if c.symbol not in redone and c.symbol in watch]
    rows = {r.symbol: r for r in prev.symbols if r.symbol not in redone and r.symbol in watch}
    rows.update({r.symbol: r for r in part.symbols})
    order = [s.symbol for s in items]
    as_of = max(prev.as_of, part.as_of)
    return ScanReport(as_of, part.interval, style, rank([*kept, *part.candidates]),
                      tuple(rows[k] for k in order if k in rows), part.warnings)


@dataclass(frozen=True, slots=True)
class SetupChange:
    """One change between two scans of the same (symbol, playbook).

    kind: "armed" (new armed setup), "triggered" (a new plan: from armed, forming or nothing),
    "invalidated" (a triggered plan that is no longer live: stopped out, TP1 reached, invalidated or
    aged out — `detail` says which), "disarmed" (armed → forming or nothing)."""

    kind: str
    symbol: str
    playbook: str
    before: SetupState
    after: SetupState
    candidate: Candidate | None        # the new state (None when it has none)
    setup_key: str | None              # of the triggered plan concerned
    detail: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "symbol": self.symbol, "playbook": self.playbook,
                "before": self.before.value, "after": self.after.value, "setup_key": self.setup_key,
                "detail": self.detail, "candidate": self.candidate.to_dict() if self.candidate else None}


def _gone(old: Candidate | None, row: SymbolRow | None) -> str:
    """Why a triggered plan left the scan when no note says it: the session ended, or it aged out."""
    if old is not None and row is not None and row.bar_ts is not None:
        day = datetime.fromtimestamp(old.bar_ts / 1e9, tz=NY).date()
        if datetime.fromtimestamp(row.bar_ts / 1e9, tz=NY).date() != day:
            return "the session ended"
    return f"no longer live (older than the {LIVE_MINUTES}-minute window)"


def diff_reports(prev: ScanReport | None, new: ScanReport) -> list[SetupChange]:
    """What changed from `prev` to `new` for the symbols `new` covers (all are new without prev)."""
    old = {(c.symbol, c.playbook): c for c in (prev.candidates if prev else ())}
    cur = {(c.symbol, c.playbook): c for c in new.candidates}
    rows = {r.symbol: r for r in new.symbols}
    covered = {r.symbol for r in new.symbols}
    out: list[SetupChange] = []
    for key in sorted(set(old) | set(cur)):
        if key[0] not in covered:
            continue
        a, b = old.get(key), cur.get(key)
        sa = a.state if a else SetupState.NONE
        sb = b.state if b else SetupState.NONE
        row = rows.get(key[0])
        why = ""
        if row is not None:
            why = row.ended.get(key[1]) or row.none_reasons.get(key[1], "")
        if sb is SetupState.TRIGGERED and (sa is not SetupState.TRIGGERED or a.setup_key != b.setup_key):  # type: ignore[union-attr]
            if sa is SetupState.TRIGGERED and a is not None:
                out.append(SetupChange("invalidated", *key, sa, sb, b, a.setup_key, "replaced by a new trigger"))
            out.append(SetupChange("triggered", *key, sa, sb, b, b.setup_key))  # type: ignore[union-attr]
        elif sa is SetupState.TRIGGERED and sb is not SetupState.TRIGGERED:
            out.append(SetupChange("invalidated", *key, sa, sb, b, a.setup_key,  # type: ignore[union-attr]
                                   why or _gone(a, row)))
        elif sb is SetupState.ARMED and sa is not SetupState.ARMED:
            out.append(SetupChange("armed", *key, sa, sb, b, None, b.trigger))  # type: ignore[union-attr]
        elif sa is SetupState.ARMED and sb is not SetupState.ARMED and sb is not SetupState.TRIGGERED:
            out.append(SetupChange("disarmed", *key, sa, sb, b, None, why or (b.missing if b else "")))
    return out


def format_report(report: ScanReport, limit: int = 20) -> str:
    """Plain-text rendering for a terminal (`python -m app scan`): the ranked candidates, then one
    line per symbol with its phase, trend and why it has no candidate."""
    c = report.candidates
    counts = {st.value: sum(x.state is st for x in c) for st in (SetupState.TRIGGERED, SetupState.ARMED,
                                                                   SetupState.FORMING)}
    head = (f"scan {report.interval} {report.style} as of {report.as_of:%Y-%m-%d %H:%M} UTC: "
            f"{len(report.symbols)} symbols, {counts['triggered']} triggered, {counts['armed']} armed, "
            f"{counts['forming']} forming")
    lines = [head, ""]
    for x in c[:limit]:
        if x.state is SetupState.FORMING:
            lines.append(f"{x.rank:3d} {x.symbol:6s} {x.playbook:22s} forming   {x.missing}")
            continue
        tps = "/".join(f"{t:g}" for t in x.tps[:2])
        dist = f"{x.entry_distance_atr:.2f} ATR" if x.entry_distance_atr is not None else "—"
        extra = f"  id {x.plan_id}" if x.plan_id else f"  ~{x.bars_to_trigger} bars: {x.trigger}"
        lines.append(f"{x.rank:3d} {x.symbol:6s} {x.playbook:22s} {x.state.value:9s} {x.direction:5s} "
                     f"entry {x.entry:g} stop {x.stop:g} tp {tps} R:R {x.rr_t1:.2f} conf {x.confidence:.2f} "
                     f"({x.confidence_kind}) dist {dist}{' soon' if x.actionable_soon else ''}{extra}")
    if len(c) > limit:
        lines.append(f"… {len(c) - limit} more")
    lines.append("")
    for r in report.symbols:
        price = f"{r.price:g}" if r.price is not None else "—"
        why = f"  none: {r.no_candidate_reason}" if r.no_candidate_reason else ""
        lines.append(f"{r.symbol:6s} {price:>10s} {r.session_phase:11s} {r.trend_stack:5s} "
                     f"{r.candidates} candidates{why}")
    lines += [f"warning: {w}" for w in report.warnings]
    return "\n".join(lines)


class LiveScanner:
    """What the kernel keeps between bar closes of one watchlist scan: the last report and the plan
    memo. `update(series, closed)` rescans the symbols whose bar closed and returns the new report
    with its changes (publish them as `SetupChanged`; store the plans of `triggered` changes —
    `change.candidate.plan`, one per `setup_key`)."""

    MEMO_KEEP_NS = 86_400 * 1_000_000_000   # plans of triggers older than a day are forgotten

    def __init__(self, interval: Interval | str, *, style: str = "intraday",
                 playbooks: Sequence[str] | None = None, ctx: PlanContext | None = None) -> None:
        self.interval = parse_interval(interval)
        check_style(style)
        self.style = style
        self.playbooks = tuple(playbooks) if playbooks is not None else None
        select_playbooks(self.playbooks)                 # unknown names fail here, not on a bar close
        self.ctx = ctx
        self.report: ScanReport | None = None
        self.memo: dict[tuple, Plan | Rejected] = {}
        self.record = DetectionRecord(tuple(pb.name for pb in select_playbooks(self.playbooks)))

    def update(self, series: Sequence[SeriesInput] | Mapping[str, Bars], closed: Iterable[str] | None = None,
               now_ns: int | None = None) -> tuple[ScanReport, list[SetupChange]]:
        """`closed=None` rescans every symbol."""
        items = _items(series)
        names = [s.symbol for s in items] if closed is None else list(closed)
        new = rescan(self.report, items, names, self.interval, style=self.style, playbooks=self.playbooks,
                     ctx=self.ctx, now_ns=now_ns, memo=self.memo, record=self.record)
        self.record.retain(s.symbol for s in items)
        changes = diff_reports(self.report, new)
        self.report = new
        horizon = int(new.as_of.timestamp() * 1e9) - self.MEMO_KEEP_NS
        for key in [k for k in self.memo if k[2] < horizon]:
            del self.memo[key]
        return new, changes
