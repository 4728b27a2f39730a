"""After the close: the session's minute bars into `session_minute_bars`, and predictions whose
horizon has ended resolved from real bars (actual close, high, low, and whether the expected level
was touched), so the predictor's history shows real results."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np

from core.capture.chart import BarsSource
from core.errors import DataError, FeedError, InputError
from core.market.bars import Bars
from core.market.intervals import M1
from core.store.predictions import PredictionRecord, PredictionsRepo
from core.store.snapshots import SnapshotsRepo, datetime_to_ns

log = logging.getLogger(__name__)

MIN_NS = 60_000_000_000
MAX_DATA_GAP_NS = 15 * MIN_NS  # the last bar must end this close to the horizon to resolve


async def store_session_bars(repo: SnapshotsRepo, source: BarsSource, symbol: str, session_date: date,
                             open_ns: int, close_ns: int) -> int:
    """Fetch the regular-hours minute bars open..close and store them; returns the count."""
    bars = await source.history(symbol, M1, start_ns=open_ns, end_ns=close_ns)
    bars = bars.between(open_ns, close_ns)
    if not len(bars):
        raise DataError(f"{symbol}: no minute bars for the {session_date} session")
    return repo.save_session_bars(symbol, session_date, bars)


@dataclass(frozen=True, slots=True)
class Outcome:
    actual_price: float
    actual_high: float
    actual_low: float
    was_hit: bool | None
    level: float | None


def expected_level(p: PredictionRecord) -> float | None:
    """The level the trader expected (user_expected_price), else the model's predicted price."""
    return p.user_expected_price if p.user_expected_price is not None else p.model_predicted_price


def outcome_from_bars(p: PredictionRecord, minute: Bars) -> Outcome | None:
    """The outcome from the minute bars strictly after the anchor up to the horizon; None when
    the bars do not reach the horizon (the data is not in yet)."""
    anchor, horizon = datetime_to_ns(p.anchor_time), datetime_to_ns(p.horizon_end)
    after = minute.between(anchor, horizon)
    if not len(after):
        return None
    ends = after.ts + MIN_NS
    keep = ends <= horizon
    after = after[keep]
    if not len(after) or horizon - int(after.ts[-1] + MIN_NS) > MAX_DATA_GAP_NS:
        return None
    hi, lo, close = float(np.max(after.high)), float(np.min(after.low)), float(after.close[-1])
    level = expected_level(p)
    hit: bool | None = None
    if level is not None:
        hit = bool(hi >= level) if level >= p.anchor_price else bool(lo <= level)
    return Outcome(close, hi, lo, hit, level)


@dataclass
class ResolveReport:
    resolved: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)      # bars not in yet: tried again later
    failed: dict[int, str] = field(default_factory=dict)

    def summary(self) -> str:
        return f"{len(self.resolved)} resolved, {len(self.waiting)} waiting for bars, {len(self.failed)} failed"


async def resolve_due(repo: PredictionsRepo, source: BarsSource, now: datetime, *,
                      symbols: set[str] | None = None) -> ResolveReport:
    """Resolve every prediction whose horizon ended by `now` (optionally only for `symbols`)."""
    report = ResolveReport()
    for p in repo.due(now):
        if symbols is not None and p.symbol not in symbols:
            continue
        try:
            minute = await source.history(p.symbol, M1, start_ns=datetime_to_ns(p.anchor_time),
                                          end_ns=datetime_to_ns(p.horizon_end))
            out = outcome_from_bars(p, minute)
            if out is None:
                report.waiting.append(p.prediction_id)
                continue
            repo.resolve(p.prediction_id, actual_price=out.actual_price, was_hit=out.was_hit,
                         actual_high=out.actual_high, actual_low=out.actual_low, resolved_at=now)
            report.resolved.append(p.prediction_id)
        except (InputError, DataError, FeedError) as exc:
            log.warning("prediction %d (%s) not resolved: %s", p.prediction_id, p.symbol, exc)
            report.failed[p.prediction_id] = str(exc)
    return report
