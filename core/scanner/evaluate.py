"""Evidence for the playbooks: walk a history without look-ahead, issue the plans each playbook
would have issued, resolve them and calibrate confidence on the past.

Walk: the features at bar i use bars ≤ i only (tests truncate and mutate the future to prove it),
so the detectors run once over all bars and each trigger is read at its own decision bar. A
playbook holds at most one open plan: a new trigger counts only after the previous plan resolved.
Resolution (from the bar after the decision, same session): TP1 before the stop is a hit (exit at
TP1, R = rr_t1); the stop first — or a bar reaching both — is −1 R (worse if the bar opened beyond
the stop); otherwise the plan is closed at the session's last close (time stop).
Calibration: a logistic map raw confidence × playbook → P(hit) fitted on the first part of the
sessions; its reliability (ECE, 10 bins) is measured on the remaining sessions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.errors import InputError
from core.market.bars import Bars
from core.market.intervals import Interval
from core.scanner.features import Features, SeriesInput, build_features
from core.scanner.plan import Plan, PlanContext, build_plan
from core.scanner.playbooks import PLAYBOOKS, Playbook

FIT_FRACTION = 0.6
ECE_BINS = 10


@dataclass(frozen=True, slots=True)
class Trade:
    playbook: str
    bar: int
    session_row: int
    direction: int
    entry: float
    stop: float
    tp1: float
    rr_t1: float
    confidence_raw: float
    hit: bool
    r: float
    mfe_r: float
    mae_r: float
    mfe_atr: float          # in daily-ATR units (the statistical-target input)
    exit_bar: int
    exit_reason: str        # "tp1" | "stop" | "time"


def resolve(f: Features, plan: Plan, i: int) -> Trade | None:
    """Outcome of a plan decided at bar i, from bar i+1 to the session's last bar; None if the
    decision bar is the session's last bar."""
    row = int(f.row[i])
    last = int(f.sessions.last[row])
    if i >= last:
        return None
    s = plan.sign
    lo, hi = f.low[i + 1:last + 1], f.high[i + 1:last + 1]
    adv = lo if s > 0 else hi
    fav = hi if s > 0 else lo
    stop_hit = (adv - plan.stop) * s <= 0
    tp_hit = (fav - plan.targets[0]) * s >= 0
    j_stop = int(np.argmax(stop_hit)) if stop_hit.any() else len(lo)
    j_tp = int(np.argmax(tp_hit)) if tp_hit.any() else len(lo)
    risk = plan.risk
    if j_stop <= j_tp and j_stop < len(lo):
        j = j_stop
        gap_open = f.open[i + 1 + j]
        exit_px = gap_open if (gap_open - plan.stop) * s < 0 else plan.stop
        r, reason, hit = (exit_px - plan.entry) * s / risk, "stop", False
    elif j_tp < len(lo):
        j, r, reason, hit = j_tp, plan.rr_t1, "tp1", True
    else:
        j = len(lo) - 1
        r, reason, hit = (f.close[last] - plan.entry) * s / risk, "time", False
    mfe = max(0.0, float(((fav[:j + 1] - plan.entry) * s).max()))
    mae = max(0.0, float(((plan.entry - adv[:j + 1]) * s).max()))
    if hit:
        mfe = max(mfe, abs(plan.targets[0] - plan.entry))
    return Trade(plan.playbook, i, row, s, plan.entry, plan.stop, plan.targets[0], plan.rr_t1,
                 plan.confidence_raw, hit, float(r), mfe / risk, mae / risk, mfe / plan.atr_daily,
                 i + 1 + j, reason)


# -- calibration -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Calibration:
    """P(TP1 before stop) = σ(b_playbook + w·(raw − 0.55)), ridge-regularised toward the pooled rate."""

    intercepts: Mapping[str, float]
    weight: float
    pooled: float                 # intercept for playbooks not seen in the fit
    fit_count: int
    source: str = "fitted"        # which history it was fitted on (shown with each confidence)
    provenance: Mapping[str, Any] = field(default_factory=dict, compare=False)  # data, sessions, ECE …

    def apply(self, playbook: str, raw: float) -> float:
        b = self.intercepts.get(playbook, self.pooled)
        return float(1.0 / (1.0 + math.exp(-(b + self.weight * (raw - 0.55)))))

    def to_dict(self) -> dict[str, Any]:
        return {"intercepts": dict(self.intercepts), "weight": self.weight, "pooled": self.pooled,
                "fit_count": self.fit_count, "source": self.source}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Calibration:
        return cls({str(k): float(v) for k, v in d["intercepts"].items()}, float(d["weight"]),
                   float(d["pooled"]), int(d["fit_count"]), str(d.get("source", "fitted")))


def fit_calibration(playbooks: Sequence[str], raw: np.ndarray, hit: np.ndarray, ridge: float = 2.0) -> Calibration:
    """Newton steps on the penalised log-likelihood (playbook intercepts shrunk to the pooled one)."""
    hit = np.asarray(hit, dtype=float)
    raw = np.asarray(raw, dtype=float)
    n = len(hit)
    if n == 0:
        return Calibration({}, 0.0, 0.0, 0)
    rate = (hit.sum() + 1.0) / (n + 2.0)
    pooled = math.log(rate / (1 - rate))
    names = sorted(set(playbooks))
    col = {nm: j for j, nm in enumerate(names)}
    x = np.zeros((n, len(names) + 1))
    x[np.arange(n), [col[p] for p in playbooks]] = 1.0
    x[:, -1] = raw - 0.55
    beta = np.zeros(len(names) + 1)
    beta[:-1] = pooled
    prior = beta.copy()
    prior[-1] = 0.0
    for _ in range(25):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        grad = x.T @ (hit - p) - ridge * (beta - prior)
        hess = (x.T * (p * (1 - p))) @ x + ridge * np.eye(len(beta))
        step = np.linalg.solve(hess, grad)
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    return Calibration({nm: float(beta[col[nm]]) for nm in names}, float(beta[-1]), pooled, n)


def reliability(pred: np.ndarray, hit: np.ndarray, bins: int = ECE_BINS) -> tuple[float, list[dict[str, Any]]]:
    """Expected calibration error over equal-width probability bins, and the bins themselves."""
    pred, hit = np.asarray(pred, float), np.asarray(hit, float)
    out: list[dict[str, Any]] = []
    if not len(pred):
        return float("nan"), out
    b = np.minimum((pred * bins).astype(int), bins - 1)
    ece = 0.0
    for k in range(bins):
        m = b == k
        if not m.any():
            continue
        mp, hr = float(pred[m].mean()), float(hit[m].mean())
        ece += m.sum() / len(pred) * abs(mp - hr)
        out.append({"lo": k / bins, "hi": (k + 1) / bins, "count": int(m.sum()), "mean_confidence": mp,
                    "hit_rate": hr})
    return float(ece), out


# -- the evaluation ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PlaybookStats:
    signals: int
    hit_rate: float
    mean_r: float
    expectancy_r: float
    mfe: float
    mae: float
    rejected: int
    exits: Mapping[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {"signals": self.signals, "hit_rate": self.hit_rate, "mean_r": self.mean_r,
                "expectancy_r": self.expectancy_r, "mfe": self.mfe, "mae": self.mae,
                "rejected": self.rejected, "exits": dict(self.exits)}


@dataclass(frozen=True, slots=True)
class EvalReport:
    symbol: str
    interval: str
    sessions: int
    playbooks: Mapping[str, PlaybookStats]
    ece: float
    bins: list[dict[str, Any]]
    calibration: Calibration
    fit_sessions: int
    test_sessions: int
    trades: tuple[Trade, ...] = field(repr=False, default=())
    armed: Mapping[str, ArmedStats] = field(default_factory=dict)   # with evaluate(armed=True)

    def to_dict(self) -> dict[str, Any]:
        """The object `eval-scanner --json` prints."""
        return _clean({
            **({"armed": {k: v.to_dict() for k, v in self.armed.items()}} if self.armed else {}),
            "playbooks": {k: v.to_dict() for k, v in self.playbooks.items()},
            "calibration": {"ece": self.ece, "bins": self.bins, "method": "logistic(raw confidence, playbook)",
                            "fit_sessions": self.fit_sessions, "test_sessions": self.test_sessions,
                            "model": self.calibration.to_dict()},
            "sessions": self.sessions, "symbol": self.symbol, "interval": self.interval,
        })


def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


def _stats(trades: list[Trade], rejected: int) -> PlaybookStats:
    if not trades:
        nan = float("nan")
        return PlaybookStats(0, nan, nan, nan, nan, nan, rejected, {})
    hit = np.array([t.hit for t in trades], float)
    r = np.array([t.r for t in trades])
    rr = np.array([t.rr_t1 for t in trades])
    p = float(hit.mean())
    # Planned expectancy: hit rate × average planned R:R − miss rate × 1 R (no time stop).
    expectancy = p * float(rr[hit > 0].mean() if hit.any() else 0.0) - (1 - p)
    exits: dict[str, int] = {}
    for t in trades:
        exits[t.exit_reason] = exits.get(t.exit_reason, 0) + 1
    return PlaybookStats(len(trades), p, float(r.mean()), expectancy,
                         float(np.mean([t.mfe_r for t in trades])), float(np.mean([t.mae_r for t in trades])),
                         rejected, exits)


def walk(f: Features, playbooks: Sequence[Playbook], ctx: PlanContext) -> tuple[list[Trade], dict[str, int]]:
    idx = np.flatnonzero(f.row >= 0)
    trades: list[Trade] = []
    rejected: dict[str, int] = {}
    for pb in playbooks:
        sig = pb.detect(f, idx)
        busy_until = -1
        rejected[pb.name] = 0
        for k in range(len(sig)):
            i = int(sig.idx[k])
            if i <= busy_until:
                continue
            plan = build_plan(f, sig, k, ctx, pb.spec.conditions, pb.spec.invalidation)
            if not isinstance(plan, Plan):
                rejected[pb.name] += 1
                continue
            t = resolve(f, plan, i)
            if t is None:
                continue
            trades.append(t)
            busy_until = t.exit_bar
    trades.sort(key=lambda t: (t.bar, t.playbook))
    return trades, rejected


def evaluate(bars: Bars, symbol: str, interval: Interval, *, style: str = "intraday",
             playbooks: Sequence[Playbook] = PLAYBOOKS, fit_fraction: float = FIT_FRACTION,
             armed: bool = False) -> EvalReport:
    """The playbooks' record on one history; `armed=True` adds the armed → triggered table."""
    if not 0 < fit_fraction < 1:
        raise InputError("fit_fraction", "must be between 0 and 1")
    if len(bars) < 2:
        raise InputError("bars", "need history to evaluate")
    f = build_features([SeriesInput(symbol, bars)], interval)
    trades, rejected = walk(f, playbooks, PlanContext.with_caches(style))
    armed_stats = armed_followthrough(f, playbooks, PlanContext.with_caches(style)) if armed else {}
    n_sessions = len(f.sessions.first)
    split_row = math.floor(n_sessions * fit_fraction)
    fit = [t for t in trades if t.session_row < split_row]
    test = [t for t in trades if t.session_row >= split_row]
    cal = fit_calibration([t.playbook for t in fit], np.array([t.confidence_raw for t in fit]),
                          np.array([t.hit for t in fit]))
    pred = np.array([cal.apply(t.playbook, t.confidence_raw) for t in test])
    ece, bins = reliability(pred, np.array([t.hit for t in test]))
    per = {pb.name: _stats([t for t in trades if t.playbook == pb.name], rejected.get(pb.name, 0))
           for pb in playbooks}
    return EvalReport(symbol, interval.name, n_sessions, per, ece, bins, cal, split_row,
                      n_sessions - split_row, tuple(trades), armed_stats)


# -- armed → triggered ----------------------------------------------------------------------------

ARMED_HORIZONS = (3, 6, 12)


@dataclass(frozen=True, slots=True)
class ArmedStats:
    """How armed setups of one playbook played out: `armed` episodes (a run of consecutive armed
    bars in one direction within a session counts once, from its first bar), the share that
    triggered in the same direction within N bars (same session), and the outcome of the plans
    those first triggers issued (resolved like `walk`; refused triggers count as `refused`)."""

    armed: int
    triggered_within: Mapping[int, float]
    plans: int
    refused: int
    hit_rate: float
    mean_r: float

    def to_dict(self) -> dict[str, Any]:
        return {"armed": self.armed, "triggered_within": {str(k): v for k, v in self.triggered_within.items()},
                "plans": self.plans, "refused": self.refused, "hit_rate": self.hit_rate, "mean_r": self.mean_r}


def armed_followthrough(f: Features, playbooks: Sequence[Playbook], ctx: PlanContext,
                        horizons: Sequence[int] = ARMED_HORIZONS) -> dict[str, ArmedStats]:
    """Armed → triggered rates and the triggered plans' record, per playbook (no look-ahead: the
    armed state at bar i reads bars ≤ i, the trigger is looked for after it)."""
    from core.scanner.playbooks.base import ARMED

    idx = np.flatnonzero(f.row >= 0)
    far = max(horizons)
    out: dict[str, ArmedStats] = {}
    for pb in playbooks:
        su = pb.setups(f, idx)
        armed = su.state == ARMED
        d = su.direction.astype(np.int64)
        row = f.row[idx]
        prev_same = np.zeros(len(idx), dtype=bool)
        prev_same[1:] = armed[:-1] & (d[1:] == d[:-1]) & (row[1:] == row[:-1]) & (idx[1:] == idx[:-1] + 1)
        starts = np.flatnonzero(armed & ~prev_same)
        sig = pb.detect(f, idx)
        gaps = np.full(len(starts), np.inf)
        first_k = np.full(len(starts), -1)
        for sign in (1, -1):
            ks = np.flatnonzero(sig.direction == sign)
            bars = sig.idx[ks]
            sel = starts[d[starts] == sign]
            s_bar = idx[sel]
            pos = np.searchsorted(bars, s_bar, side="right")
            ok = pos < len(bars)
            t_bar = np.where(ok, bars[np.minimum(pos, len(bars) - 1)], -1)
            ok &= (t_bar - s_bar <= far) & (f.row[np.maximum(t_bar, 0)] == f.row[s_bar])
            where = np.searchsorted(starts, sel)
            gaps[where[ok]] = (t_bar - s_bar)[ok]
            first_k[where[ok]] = ks[np.minimum(pos, len(bars) - 1)][ok]
        within = {h: float((gaps <= h).mean()) if len(starts) else float("nan") for h in horizons}
        hits: list[float] = []
        rs: list[float] = []
        refused = 0
        for k in sorted({int(x) for x in first_k if x >= 0}):
            plan = build_plan(f, sig, k, ctx, pb.spec.conditions, pb.spec.invalidation)
            if not isinstance(plan, Plan):
                refused += 1
                continue
            t = resolve(f, plan, int(sig.idx[k]))
            if t is not None:
                hits.append(float(t.hit))
                rs.append(t.r)
        nan = float("nan")
        out[pb.name] = ArmedStats(len(starts), within, len(hits), refused,
                                  float(np.mean(hits)) if hits else nan, float(np.mean(rs)) if rs else nan)
    return out


def render_armed(report: EvalReport) -> str:
    """The armed → triggered table as Markdown (empty without `evaluate(armed=True)`)."""
    if not report.armed:
        return ""
    hs = sorted(next(iter(report.armed.values())).triggered_within)
    head = "| playbook | armed | " + " | ".join(f"trig ≤ {h} bars" for h in hs) + " | plans | refused | hit | mean R |"
    lines = [head, "|---|" + "---:|" * (len(hs) + 5)]
    for name, s in report.armed.items():
        cells = " | ".join(f"{s.triggered_within[h]:.1%}" if s.armed else "—" for h in hs)
        hit = f"{s.hit_rate:.1%}" if s.plans else "—"
        mr = f"{s.mean_r:+.3f}" if s.plans else "—"
        lines.append(f"| {name} | {s.armed} | {cells} | {s.plans} | {s.refused} | {hit} | {mr} |")
    return "\n".join(lines)
