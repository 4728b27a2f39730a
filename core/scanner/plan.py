"""Trade plans: the frozen record the trader, the chart and the GPT share; validation with errors
that name the field; construction from a playbook signal; versioned storage through PlansRepo."""

from __future__ import annotations

import hashlib
import math
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from core.errors import InputError
from core.indicators import MINUTES_PER_YEAR
from core.market.sessions import SessionPhase
from core.overlays.volume_profile import VolumeProfile
from core.scanner.features import Features
from core.scanner.levels import PRIORITY, Level, key_levels_many, prior_profile
from core.scanner.playbooks.base import Signals
from core.scanner.targets import (
    SNAP_WINDOW,
    TargetStats,
    base_targets,
    check_style,
    min_spacing,
    round_to_tick,
    space_targets,
    statistical_targets,
    tick_size,
)

INDEX_ETFS = frozenset({"SPY", "QQQ", "IWM"})
HEURISTIC_BASE, HEURISTIC_SPAN, HEURISTIC_CAP = 0.25, 0.6, 0.98


def min_rr(symbol: str, style: str) -> float:
    """R:R gate to TP1: 1.5 for SPY/QQQ/IWM intraday, 1.2 otherwise (seed chart-url rule)."""
    return 1.5 if symbol.upper() in INDEX_ETFS and style == "intraday" else 1.2


def raw_confidence(conditions: Sequence[bool]) -> float:
    """The seed's heuristic, kept only as the input of the calibration: 0.25 + 0.6·share true."""
    if not len(conditions):
        return HEURISTIC_BASE
    # The count of true conditions over their number: the same float as np.mean of 0/1 values
    # (small integer sums are exact), without numpy's per-call overhead (called per setup per bar).
    share = sum(map(bool, conditions)) / len(conditions)
    return float(min(max(HEURISTIC_BASE + HEURISTIC_SPAN * share, 0.0), HEURISTIC_CAP))


@dataclass(frozen=True, slots=True)
class Plan:
    plan_id: str
    version: int
    symbol: str
    playbook: str
    direction: str                      # "long" | "short"
    entry: float
    stop: float
    targets: tuple[float, ...]          # TP1..TP3, nearest first
    rr: tuple[float, ...]               # reward:risk to each target
    confidence: float                   # calibrated probability of TP1 before stop when available
    confidence_raw: float
    confidence_source: str              # "calibrated" | "heuristic"
    expected_move: float                # to the session close, from realised volatility
    notes: tuple[str, ...]
    reasons: tuple[str, ...]            # confidence conditions that held
    key_levels: tuple[Level, ...]
    target_labels: tuple[str | None, ...]
    invalidation: float
    invalidation_note: str
    created_at: datetime                # UTC: close of the decision bar
    session_phase: str
    style: str = "intraday"
    interval: str = "5m"
    atr: float = float("nan")           # ATR14 on the bar interval
    atr_daily: float = float("nan")     # the style ATR the targets are sized with (see style_atr)
    atr_source: str = "daily"           # where that ATR came from
    prob_touch: tuple[float, ...] = ()  # empirical touch probability per target (with TargetStats)
    bar_ts: int = 0                     # decision bar start, UTC ns
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def sign(self) -> int:
        return 1 if self.direction == "long" else -1

    @property
    def risk(self) -> float:
        return abs(self.entry - self.stop)

    @property
    def rr_t1(self) -> float:
        return self.rr[0] if self.rr else float("nan")

    @property
    def setup_key(self) -> str:
        """Stable identity of the setup: the same symbol, playbook, direction, interval and trigger
        bar always give the same key (the plan store keeps one plan id/version per key)."""
        return setup_key(self.symbol, self.playbook, self.direction, self.interval, self.bar_ts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the field names the GPT already uses (entry, stop, tps, rr_t1 …)."""
        d = asdict(self)
        d["key_levels"] = [lv.to_dict() for lv in self.key_levels]
        d["created_at"] = self.created_at.isoformat()
        d["tps"] = list(self.targets)
        d["rr_t1"] = self.rr_t1
        d["targets"] = list(self.targets)
        d["rr"] = list(self.rr)
        for k in ("notes", "reasons", "target_labels", "prob_touch"):
            d[k] = list(d[k])
        d["extra"] = dict(self.extra)
        d["setup_key"] = self.setup_key
        return _json_floats(d)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Plan:
        try:
            return cls(
                plan_id=str(d["plan_id"]), version=int(d["version"]), symbol=str(d["symbol"]),
                playbook=str(d["playbook"]), direction=str(d["direction"]), entry=float(d["entry"]),
                stop=float(d["stop"]), targets=tuple(float(x) for x in d["targets"]),
                rr=tuple(float(x) for x in d["rr"]), confidence=float(d["confidence"]),
                confidence_raw=float(d["confidence_raw"]), confidence_source=str(d["confidence_source"]),
                expected_move=_f(d.get("expected_move")), notes=tuple(d.get("notes", ())),
                reasons=tuple(d.get("reasons", ())),
                key_levels=tuple(Level(str(x["label"]), float(x["price"])) for x in d.get("key_levels", ())),
                target_labels=tuple(d.get("target_labels", ())), invalidation=_f(d.get("invalidation")),
                invalidation_note=str(d.get("invalidation_note", "")),
                created_at=datetime.fromisoformat(str(d["created_at"])), session_phase=str(d["session_phase"]),
                style=str(d.get("style", "intraday")), interval=str(d.get("interval", "5m")),
                atr=_f(d.get("atr")), atr_daily=_f(d.get("atr_daily")), atr_source=str(d.get("atr_source", "daily")),
                prob_touch=tuple(_f(x) for x in d.get("prob_touch", ())), bar_ts=int(d.get("bar_ts", 0)),
                extra=dict(d.get("extra", {})),
            )
        except KeyError as exc:
            raise InputError(str(exc.args[0]), "is required") from None


def _f(v: object) -> float:
    return float("nan") if v is None else float(v)  # type: ignore[arg-type]


def _json_floats(obj: Any) -> Any:
    """NaN/inf → None so the payload is strict JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _json_floats(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_floats(v) for v in obj]
    return obj


def validate_plan(plan: Plan, *, interval_minutes: int | None = None) -> None:
    """Raise InputError naming the field: ordering stop < entry < TP1 < TP2 < TP3 (mirrored for
    shorts), R:R gate to TP1, TP1 at least 0.3·ATR (≤ 1h bars) or 0.6·ATR (longer) from entry."""
    if plan.direction not in ("long", "short"):
        raise InputError("direction", f"must be long or short, got {plan.direction!r}")
    for name in ("entry", "stop"):
        v = getattr(plan, name)
        if not (math.isfinite(v) and v > 0):
            raise InputError(name, f"must be a positive finite price, got {v}")
    if not plan.targets:
        raise InputError("targets", "at least TP1 is required")
    s = plan.sign
    if (plan.entry - plan.stop) * s <= 0:
        rel = "below" if s > 0 else "above"
        raise InputError("stop", f"must be {rel} entry {plan.entry} for a {plan.direction}, got {plan.stop}")
    prev = plan.entry
    for k, t in enumerate(plan.targets, start=1):
        if not math.isfinite(t) or (t - prev) * s <= 0:
            what = "entry" if k == 1 else f"TP{k - 1}"
            rel = "above" if s > 0 else "below"
            raise InputError(f"tp{k}", f"must be {rel} {what} ({prev}) for a {plan.direction}, got {t}")
        prev = t
    if not 0.0 <= plan.confidence <= 1.0:
        raise InputError("confidence", f"must be within 0..1, got {plan.confidence}")
    gate = min_rr(plan.symbol, plan.style)
    rr1 = abs(plan.targets[0] - plan.entry) / plan.risk
    if rr1 < gate - 1e-9:
        raise InputError("rr_t1", f"{rr1:.2f} is below the {gate} minimum for {plan.symbol} {plan.style}")
    if math.isfinite(plan.atr) and plan.atr > 0:
        minutes = interval_minutes if interval_minutes is not None else _minutes(plan.interval)
        need = (0.3 if minutes <= 60 else 0.6) * plan.atr
        if abs(plan.targets[0] - plan.entry) < need - 1e-12:
            raise InputError("tp1", f"is {abs(plan.targets[0] - plan.entry):.4g} from entry; needs ≥ {need:.4g}")


def _minutes(interval: str) -> int:
    from core.market.intervals import parse_interval

    return parse_interval(interval).minutes


# -- construction ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PlanContext:
    """What plan construction needs beyond the signal (all optional)."""

    style: str = "intraday"
    calibration: Any = None                             # core.scanner.evaluate.Calibration
    target_stats: Mapping[str, TargetStats] | None = None
    profiles: MutableMapping[int, VolumeProfile | None] | None = None  # caches by session row
    avwaps: MutableMapping[int, dict[str, np.ndarray]] | None = None
    # key levels and expected move by bar index: every playbook planning at one bar shares them
    bar_levels: MutableMapping[int, tuple[list[Level], float]] | None = None
    # the same levels sorted by price for target snapping, by bar index
    snap_levels: MutableMapping[int, _SnapLevels] | None = None
    bar_inputs: MutableMapping[int, _BarInputs] | None = None   # what every plan at a bar shares

    @classmethod
    def with_caches(cls, style: str = "intraday", calibration: Any = None,
                    target_stats: Mapping[str, TargetStats] | None = None) -> PlanContext:
        return cls(style, calibration, target_stats, {}, {}, {}, {}, {})

    def fresh(self) -> PlanContext:
        """The same settings with empty caches (the caches are keyed by one Features frame)."""
        return replace(self, profiles={}, avwaps={}, bar_levels={}, snap_levels={}, bar_inputs={})


@dataclass(frozen=True, slots=True)
class Rejected:
    playbook: str
    symbol: str
    bar_ts: int
    field: str
    reason: str


@lru_cache(maxsize=8192)   # a live rescan asks it of every triggered plan on every close
def setup_key(symbol: str, playbook: str, direction: str, interval: str, bar_ts: int) -> str:
    """16 hex digits of SHA-1 over symbol|playbook|direction|interval|trigger bar start (UTC ns)."""
    raw = f"{symbol.upper()}|{playbook}|{direction}|{interval}|{int(bar_ts)}"
    return hashlib.sha1(raw.encode()).hexdigest()[:16]


def plan_id_for(symbol: str, playbook: str, bar_ts: int, direction: str) -> str:
    return f"{symbol}-{playbook}-{_utc_stamp(int(bar_ts))}-{direction[0].upper()}"


@lru_cache(maxsize=4096)
def _utc_stamp(bar_ts: int) -> str:
    """YYYYMMDDTHHMM (UTC) of a bar start; every playbook planning at one bar shares it."""
    return datetime.fromtimestamp(bar_ts / 1e9, tz=UTC).strftime("%Y%m%dT%H%M")


PHASE_LABELS = tuple(SessionPhase(c).label for c in range(len(SessionPhase)))


def style_atr(f: Features, i: int, style: str) -> tuple[float, str]:
    """The ATR a style's targets are sized with, and where it came from.

    Swing/leaps: the daily ATR (Wilder 14 on completed sessions). Intraday: an hourly ATR, scalp: a
    15-minute ATR, both from the bar ATR scaled by √(horizon / bar minutes) (random-walk scaling;
    exact when the bars are of that interval). Without 15 sessions of history the daily ATR is the
    bar ATR scaled to a 390-minute session, labelled as such.
    """
    m = max(1, f.interval.minutes)
    bar_atr = float(f.atr[i])
    if style in ("swing", "leaps"):
        a = float(f.atr_d[i])
        if math.isfinite(a) and a > 0:
            return a, "daily"
        return bar_atr * math.sqrt(390 / m), "daily_from_bar_atr"
    horizon = 60 if style == "intraday" else 15
    if m >= horizon:
        return bar_atr, f"{f.interval.name}_bar"
    return bar_atr * math.sqrt(horizon / m), f"{horizon}m_from_{f.interval.name}"


EM_BARS = 78   # expected move: realised volatility of the last 78 bar returns


def expected_moves(f: Features, idx: np.ndarray) -> np.ndarray:
    """Remaining-session expected move at each decision bar, from the realised volatility (sample
    standard deviation of log returns) of the bars i−78..i of its series; NaN outside regular hours
    or with fewer than 10 bars. One numpy pass for many bars; bar k's value reads bar k's window only
    (fixed-width rows, so the result does not depend on which other bars are asked)."""
    idx = np.asarray(idx, dtype=np.int64)
    start = np.maximum(f.series_start[f.series_of[idx]], idx - EM_BARS)
    j = idx[:, None] + np.arange(-EM_BARS, 1)[None, :]
    ok = (j[:, 1:] - 1) >= start[:, None]            # return r_j = log c_j − log c_{j−1}, both inside
    with np.errstate(invalid="ignore", divide="ignore"):
        lc = np.log(f.close[np.maximum(j, 0)])
        r = np.where(ok, np.diff(lc, axis=1), 0.0)
        n = ok.sum(axis=1)
        mean = r.sum(axis=1) / n
        dev = np.where(ok, r - mean[:, None], 0.0)
        sigma = np.sqrt((dev * dev).sum(axis=1) / (n - 1)) * math.sqrt(MINUTES_PER_YEAR / max(1, f.interval.minutes))
        row = np.maximum(f.row[idx], 0)
        minutes = np.maximum(0.0, (f.sessions.close_ns[row] - f.ts[idx]) / 60e9 - f.interval.minutes) \
            if len(f.sessions.close_ns) else np.zeros(len(idx))
        em = f.close[idx] * sigma * np.sqrt(minutes / MINUTES_PER_YEAR)
    return np.where((n + 1 >= 10) & np.isfinite(f.mos[idx]), em, np.nan)


def prime_bar_levels(f: Features, idx: np.ndarray, ctx: PlanContext) -> None:
    """Compute `bar_levels` for many bars in one pass into `ctx.bar_levels` (a scan does this for
    every symbol's latest bar: the symbol rows and every armed setup's would-be plan read them)."""
    cache = ctx.bar_levels
    if cache is None:
        return
    todo = np.array(sorted({int(i) for i in np.asarray(idx).tolist()} - cache.keys()), dtype=np.int64)
    if len(todo):
        cache.update(_levels(f, todo, ctx))


def _levels(f: Features, idx: np.ndarray, ctx: PlanContext) -> dict[int, tuple[list[Level], float]]:
    isfinite = math.isfinite
    avw = [{n: v for n, v in f.avwaps_at(i).items() if isfinite(v)} for i in idx.tolist()]
    prof = [prior_profile(f, i, ctx.profiles) for i in idx.tolist()]
    levels = key_levels_many(f, idx, avw, prof)
    return dict(zip(idx.tolist(), zip(levels, expected_moves(f, idx).tolist(), strict=True), strict=True))


def bar_levels(f: Features, i: int, ctx: PlanContext) -> tuple[list[Level], float]:
    """Labelled levels known at bar i and the expected move to the close (cached per bar)."""
    cache = ctx.bar_levels
    if cache is not None and i in cache:
        return cache[i]
    out = _levels(f, np.array([i], dtype=np.int64), ctx)[int(i)]
    if cache is not None:
        cache[i] = out
    return out


def build_plan(f: Features, sig: Signals, k: int, ctx: PlanContext, spec_conditions: Sequence[str],
               invalidation_note: str) -> Plan | Rejected:
    """Turn trigger k of `sig` into a validated plan, or say which field failed."""
    return _build(f, sig.playbook, sig.notes, _signal_rows(sig, [k])[0], ctx, spec_conditions, invalidation_note)


def build_plans(f: Features, sig: Signals, ctx: PlanContext, spec_conditions: Sequence[str],
                invalidation_note: str) -> list[Plan | Rejected]:
    """`build_plan` for every row of `sig`, its arrays read once as plain floats (a scan builds the
    would-be plan of every armed setup of a playbook in one call)."""
    rows = _signal_rows(sig, range(len(sig)))
    return [_build(f, sig.playbook, sig.notes, r, ctx, spec_conditions, invalidation_note) for r in rows]


class _SignalRow(NamedTuple):      # a tuple: ~100 are made per rescan, a frozen dataclass costs 3×
    i: int
    d: int
    entry: float
    stop: float
    invalidation: float
    tp1: float
    tp2: float
    conditions: list[bool]
    levels: dict[str, float]


def _signal_rows(sig: Signals, ks: Sequence[int] | range) -> list[_SignalRow]:
    sel = np.asarray(list(ks), dtype=np.int64)
    cols = [getattr(sig, c)[sel].tolist() for c in ("idx", "direction", "entry", "stop", "invalidation", "tp1", "tp2")]
    conds = sig.conditions[sel].tolist()
    lv = {name: v[sel].tolist() for name, v in sig.levels.items()}
    return [_SignalRow(*c, cd, {n: v[r] for n, v in lv.items()})
            for r, (c, cd) in enumerate(zip(zip(*cols, strict=True), conds, strict=True))]


class _SnapLevels(NamedTuple):
    """A bar's levels sorted by price, for `_snap`: prices, and (priority, position in the
    `bar_levels` list, level) in the same order."""

    prices: list[float]
    keyed: list[tuple[int, int, Level]]


def _snap_levels(f: Features, i: int, ctx: PlanContext) -> tuple[_SnapLevels, float]:
    """`bar_levels` sorted for `_snap` (cached per bar like them)."""
    levels, move = bar_levels(f, i, ctx)
    cache = ctx.snap_levels
    out = cache.get(i) if cache is not None else None
    if out is None:
        order = sorted(range(len(levels)), key=lambda k: levels[k].price)
        out = _SnapLevels([levels[k].price for k in order],
                          [(PRIORITY.get(levels[k].label, 0), k, levels[k]) for k in order])
        if cache is not None:
            cache[i] = out
    return out, move


def _snap(target: float, entry: float, direction: int, levels: _SnapLevels, window: float,
          floor: float) -> tuple[float, Level | None]:
    """`core.scanner.levels.snap` over a bar's levels sorted by price: the same choice (the highest
    (priority, −distance), the first in the levels' order on ties), looking only at the levels a
    bisection finds near the target (a range a little wider than the window, then its exact test)."""
    prices = levels.prices
    a, b = 0, len(prices)
    if math.isfinite(target) and math.isfinite(window):
        eps = 1e-9 * (abs(target) + abs(window)) + 1e-300    # covers the rounding of |price − target|
        a = bisect_left(prices, target - window - eps)
        b = bisect_right(prices, target + window + eps, a)
    best: Level | None = None
    best_p, best_d, best_k = 0, 0.0, 0
    for price, (prio, k, lv) in zip(prices[a:b], levels.keyed[a:b], strict=True):
        d = abs(price - target)
        if d > window or (price - entry) * direction < floor:
            continue
        if best is None or prio > best_p or (prio == best_p and (-d > -best_d or (-d == -best_d and k < best_k))):
            best, best_p, best_d, best_k = lv, prio, d, k
    return (best.price, best) if best else (target, None)


class _BarInputs(NamedTuple):
    """The inputs of a plan that depend on its decision bar and the style only (~10 playbooks plan
    at each symbol's latest bar on a bar close)."""

    symbol: str
    tick: float
    bar_ts: int
    atr_d: float               # the style ATR (`style_atr`) and where it came from
    atr_src: str
    spacing: float             # `min_spacing`
    gate: float                # `min_rr`
    window: float              # the snapping window
    atr: float                 # the bar ATR
    phase: str
    created: datetime          # UTC close of the bar
    sized: str                 # the plan note naming the style ATR


def _bar_inputs(f: Features, i: int, ctx: PlanContext, style: str) -> _BarInputs:
    cache = ctx.bar_inputs
    out = cache.get(i) if cache is not None else None
    if out is None:
        symbol = f.symbols[int(f.series_of[i])]
        tick = tick_size(symbol)
        atr_d, atr_src = style_atr(f, i, style)
        bar_ts = int(f.ts[i])
        out = _BarInputs(symbol, tick, bar_ts, atr_d, atr_src, min_spacing(float(f.close[i]), atr_d, tick),
                         min_rr(symbol, style), SNAP_WINDOW[style] * atr_d, float(f.atr[i]),
                         PHASE_LABELS[int(f.phase[i])],
                         datetime.fromtimestamp((bar_ts + f.interval.ns) / 1e9, tz=UTC),
                         f"targets sized on {atr_src} ATR {atr_d:.4g}")
        if cache is not None:
            cache[i] = out
    return out


def _build(f: Features, playbook: str, sig_notes: Sequence[str], row: _SignalRow, ctx: PlanContext,
           spec_conditions: Sequence[str], invalidation_note: str) -> Plan | Rejected:
    i = row.i
    d = row.d
    style = check_style(ctx.style)
    b = _bar_inputs(f, i, ctx, style)
    symbol, tick, bar_ts, atr_d, spacing = b.symbol, b.tick, b.bar_ts, b.atr_d, b.spacing
    direction = "long" if d > 0 else "short"
    entry = round_to_tick(row.entry, tick)
    stop = round_to_tick(row.stop, tick, "down" if d > 0 else "up")
    if (entry - stop) * d <= 0:
        return Rejected(playbook, symbol, bar_ts, "stop", "not beyond entry")
    if not math.isfinite(atr_d) or atr_d <= 0:
        return Rejected(playbook, symbol, bar_ts, "atr", "undefined")
    base = list(base_targets(entry, d, atr_d, style))
    stats = (ctx.target_stats or {}).get(playbook)
    if stats is not None and len(stats) >= 30:
        base = [p for p, _ in statistical_targets(entry, d, atr_d, stats)]
    structural = [row.tp1, row.tp2]
    fixed = [math.isfinite(x) for x in structural]
    raw = [structural[j] if fixed[j] else base[j] for j in range(2)] + [base[2]]
    window = b.window
    risk = abs(entry - stop)
    gate = b.gate
    # Cheap gate first: even snapped outward by the whole window (or pushed to the minimum spacing)
    # TP1 would not pay the minimum R:R → reject before the level work.
    best_tp1 = max(abs(raw[0] - entry) + (0.0 if fixed[0] else window), spacing) + tick
    if best_tp1 / risk < gate - 1e-9:
        return Rejected(playbook, symbol, bar_ts, "rr_t1", f"{best_tp1 / risk:.2f} < {gate} at best")
    # Snap the style-base targets to labelled levels inside the style window.
    levels, move = _snap_levels(f, i, ctx)
    floor = 0.3 * b.atr
    labels: list[str | None] = []
    used: list[Level] = []
    snapped = []
    for j, t in enumerate(raw):
        if j < 2 and fixed[j]:
            snapped.append(t)
            labels.append("structural")
            continue
        p, lv = _snap(t, entry, d, levels, window, floor)
        snapped.append(p)
        labels.append(lv.label if lv else None)
        if lv:
            used.append(lv)
    spaced = space_targets(entry, d, snapped, spacing)
    labels = [lab if abs(a - b) < 1e-12 else None for lab, a, b in zip(labels, spaced, snapped, strict=True)]
    mode = "up" if d > 0 else "down"
    targets = tuple([round_to_tick(t, tick, mode) for t in spaced])
    rr = tuple(abs(t - entry) / risk for t in targets)
    conds = row.conditions
    raw_conf = raw_confidence(conds)
    conf, src = raw_conf, "heuristic"
    if ctx.calibration is not None:
        conf, src = float(ctx.calibration.apply(playbook, raw_conf)), "calibrated"
    probs: tuple[float, ...] = ()
    if stats is not None and len(stats) >= 30:
        probs = tuple(stats.prob_touch(abs(t - entry) / atr_d) for t in targets)
    reasons = tuple(n for n, ok in zip(spec_conditions, conds, strict=True) if ok)
    for name, v in row.levels.items():
        if math.isfinite(v) and not any(lv.label == name for lv in used):
            used.append(Level(name, v))
    notes = [f"{playbook} {direction} at {entry:g}", b.sized, *sig_notes]
    plan = Plan(
        plan_id=plan_id_for(symbol, playbook, bar_ts, direction), version=1, symbol=symbol,
        playbook=playbook, direction=direction, entry=entry, stop=stop, targets=targets, rr=rr,
        confidence=conf, confidence_raw=raw_conf, confidence_source=src,
        expected_move=move, notes=tuple(notes), reasons=reasons, key_levels=tuple(used),
        target_labels=tuple(labels), invalidation=row.invalidation,
        invalidation_note=invalidation_note, created_at=b.created, session_phase=b.phase, style=style,
        interval=f.interval.name, atr=b.atr, atr_daily=atr_d, atr_source=b.atr_src,
        prob_touch=probs, bar_ts=bar_ts,
    )
    try:
        validate_plan(plan, interval_minutes=f.interval.minutes)
    except InputError as exc:
        return Rejected(playbook, symbol, bar_ts, exc.field, exc.reason)
    return plan


# -- storage --------------------------------------------------------------------------------------

def save_plan(repo: Any, plan: Plan) -> Plan:
    """Store a new version through core.store.PlansRepo; returns the plan with its version."""
    validate_plan(plan)
    saved = repo.save(plan.plan_id, symbol=plan.symbol, playbook=plan.playbook, direction=plan.direction,
                      payload=plan.to_dict())
    return replace(plan, version=saved.version)


def load_plan(repo: Any, plan_id: str, version: int | None = None) -> Plan | None:
    pv = repo.latest(plan_id) if version is None else repo.get(plan_id, version)
    if pv is None:
        return None
    payload = dict(pv.payload)
    payload["version"] = pv.version
    return Plan.from_dict(payload)
