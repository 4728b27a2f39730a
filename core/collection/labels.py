"""Training samples from captures and from any bar history, leakage-free by construction.

A sample is a decision time t (a capture's moment: the open for a "before" shot, the bar close for
a session candle) and:
- features from the bars that had *ended* by t only — the series is cut at t before anything is
  computed (chart window, realized volatility, today's range, context), using the predictor's own
  pieces (models.dataset, models.render) so collected samples match the trained model's inputs;
- labels from the same session's bars after t: the close, the high and low, the change and
  direction, and whether price reached one expected move (σ√τ) up or down.

`tests/test_collection_labels.py` rewrites every bar after t and checks that no feature moves.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

import numpy as np

from core.errors import InputError
from core.market.bars import Bars
from core.market.calendar import ExchangeCalendar, calendar_for
from core.market.sessions import phases
from core.store.engine import Store
from core.store.samples import TrainingSamplesRepo
from core.store.snapshots import SnapshotRecord, SnapshotsRepo, datetime_to_ns

if TYPE_CHECKING:
    from models.dataset import SessionBars

log = logging.getLogger(__name__)

MIN_NS = 60_000_000_000
HISTORY_SESSIONS = 5          # stored sessions read before the capture's own (chart window + volatility)
PAIR_INTERVAL_MINUTES = 5     # bar size of before/after and manual samples


@dataclass(frozen=True)
class CaptureSample:
    symbol: str
    session_date: date
    interval_minutes: int
    decision_ns: int              # t: features know nothing after it
    close_ns: int                 # the session close (horizon end)
    anchor: float                 # close of the last bar ended by t
    sigma: float                  # realized volatility per sqrt(minute), bars up to t
    tau: float                    # minutes from t to the close
    window: np.ndarray            # (WINDOW, 5) as models.dataset: ln(OHLC/anchor), log1p(volume)
    n_bars: int
    new_session: np.ndarray       # (WINDOW,) bool
    ctx: np.ndarray               # (CTX_FEATURES,) the predictor's context features
    image: np.ndarray             # the chart as it stood at t (canonical render)
    label_close: float
    label_high: float
    label_low: float
    snapshot_id: int | None = None
    target_snapshot_id: int | None = None
    image_path: str | None = None

    @property
    def change(self) -> float:
        return self.label_close - self.anchor

    @property
    def direction(self) -> int:
        return int(np.sign(self.change))

    @property
    def expected_move(self) -> float:
        """One volatility unit of log price to the close, as a price distance above the anchor."""
        return self.anchor * (math.exp(self.sigma * math.sqrt(self.tau)) - 1.0)

    @property
    def hit_up(self) -> bool:
        return self.label_high >= self.anchor * math.exp(self.sigma * math.sqrt(self.tau))

    @property
    def hit_down(self) -> bool:
        return self.label_low <= self.anchor * math.exp(-self.sigma * math.sqrt(self.tau))


def sample_at(bars: Bars, symbol: str, decision_ns: int, *, cal: ExchangeCalendar | None = None,
              interval_minutes: int | None = None) -> CaptureSample | None:
    """The sample at decision time t from intraday `bars` (any interval), or None when t is outside
    regular hours, no volatility is known yet, or the session's bars do not reach its close."""
    from models.dataset import (
        SESSION_MINUTES,
        _realized_sigma,
        _windows,
        context_features,
        regular_session_bars,
        render_window,
    )

    symbol = symbol.strip().upper()
    cal = cal or calendar_for(symbol)
    sb = regular_session_bars(bars, symbol, cal, interval_minutes)
    iv = sb.interval_minutes
    i_sess, _ = cal.session_index(np.int64(decision_ns))
    i_sess = int(i_sess)
    o, c = cal.rth_bounds_ns(i_sess)
    if not o <= decision_ns < c:
        return None
    k = int(np.searchsorted(sb.end_ns, decision_ns, side="right"))  # bars ended by t: [0, k)
    if k < 2:
        return None
    # -- features: computed from the cut series only -------------------------------------------
    past = _cut(sb, k)
    sigma = float(_realized_sigma(past)[-1])
    if not np.isfinite(sigma):
        return None
    pb = past.bars
    anchor = float(pb.close[-1])
    tau = (c - decision_ns) / MIN_NS
    today = past.session == i_sess
    day_scale = sigma * math.sqrt(SESSION_MINUTES)
    if today.any():
        first = int(np.argmax(today))
        z = (math.log(anchor / pb.open[first]) / day_scale, math.log(float(pb.high[today].max()) / anchor) / day_scale,
             math.log(float(pb.low[today].min()) / anchor) / day_scale, 1.0)
    else:
        z = (0.0, 0.0, 0.0, 0.0)   # before the first bar of the day (the open capture)
    ph = phases(np.array([decision_ns - 1], dtype=np.int64), cal)
    ctx = context_features(np.array([tau]), np.array([max(0.0, (decision_ns - o) / MIN_NS)]), iv, ph,
                           np.array([sigma]), np.array([z[0]]), np.array([z[1]]), np.array([z[2]]),
                           np.array([z[3]]))[0]
    window, nb, new_sess = _windows(pb, past.session, np.array([k - 1]), np.array([anchor]))
    image = render_window(window[0], int(nb[0]))
    # -- labels: the rest of the session ---------------------------------------------------------
    rest = (sb.session == i_sess) & (sb.end_ns > decision_ns)
    if not rest.any() or int(sb.end_ns[rest][-1]) < c:
        return None
    fut = sb.bars[rest]
    return CaptureSample(symbol, cal.session(i_sess).session, iv, int(decision_ns), int(c), anchor, sigma, tau,
                         window[0], int(nb[0]), new_sess[0], ctx, image, float(fut.close[-1]),
                         float(fut.high.max()), float(fut.low.min()))


def _cut(sb: SessionBars, k: int) -> SessionBars:
    """The first k session bars, as a new SessionBars (nothing after them is reachable)."""
    from models.dataset import SessionBars

    return SessionBars(sb.bars[:k], sb.interval_minutes, sb.session[:k].copy(), sb.open_ns[:k].copy(),
                       sb.close_ns[:k].copy(), sb.end_ns[:k].copy())


def samples_from_history(bars: Bars, symbol: str, decision_times: list[int] | np.ndarray, *,
                         interval_minutes: int | None = None) -> list[CaptureSample]:
    """Samples at the given decision times from any bar history (bundled, shared, imported)."""
    cal = calendar_for(symbol)
    out = []
    for t in decision_times:
        s = sample_at(bars, symbol, int(t), cal=cal, interval_minutes=interval_minutes)
        if s is not None:
            out.append(s)
    return out


# -- from collected captures ---------------------------------------------------------------------
def decision_time(snap: SnapshotRecord, cal: ExchangeCalendar) -> int | None:
    """The moment a capture stands for: the open (before), the bar close (session candle), the
    capture minute (manual). 'after' shots end their session and get no label of their own."""
    if snap.snapshot_type == "session_candle" and snap.bar_time is not None and snap.interval_minutes:
        return datetime_to_ns(snap.bar_time) + snap.interval_minutes * MIN_NS
    if snap.snapshot_type == "before" and snap.session_date is not None and cal.is_session(snap.session_date):
        return cal.rth_bounds_ns(cal.index_of(snap.session_date))[0]
    if snap.snapshot_type == "manual":
        ts = datetime_to_ns(snap.timestamp)
        return ts - ts % MIN_NS
    return None


def _stored_history(repo: SnapshotsRepo, symbol: str, day: date, cal: ExchangeCalendar) -> Bars:
    i = cal.session_on_or_before(day)
    out = Bars.empty()
    for j in range(max(0, i - HISTORY_SESSIONS), i + 1):
        out = out.concat(repo.session_bars(symbol, cal.session(j).session))
    return out


def samples_from_snapshots(store: Store, symbol: str, *, start: date | None = None, end: date | None = None,
                           limit: int = 10_000) -> list[CaptureSample]:
    """Samples for the symbol's before / session-candle / manual captures, from the stored session
    minute bars (`session_minute_bars`); before shots are paired with their session's after shot."""
    from core.market.intervals import parse_interval
    from core.market.resample import resample

    sym = symbol.strip().upper()
    cal = calendar_for(sym)
    repo = SnapshotsRepo(store)
    snaps = repo.list_snapshots(symbol=sym, limit=limit)
    if start is not None and end is not None and end < start:
        raise InputError("end", "must not be before start")
    afters = {s.session_date: s.id for s in snaps if s.snapshot_type == "after"}
    cache: dict[tuple[date, int], Bars] = {}
    out: list[CaptureSample] = []
    for snap in sorted(snaps, key=lambda s: s.timestamp):
        day = snap.session_date or snap.timestamp.date()
        if (start and day < start) or (end and day > end):
            continue
        t = decision_time(snap, cal)
        if t is None:
            continue
        n = snap.interval_minutes if snap.snapshot_type == "session_candle" else PAIR_INTERVAL_MINUTES
        key = (day, int(n or PAIR_INTERVAL_MINUTES))
        if key not in cache:
            minute = _stored_history(repo, sym, day, cal)
            cache[key] = minute if key[1] == 1 or not len(minute) else resample(minute, parse_interval(f"{key[1]}m"),
                                                                                 cal)
        bars = cache[key]
        if len(bars) < 2:
            log.info("no stored minute bars around %s %s; capture %d has no sample", sym, day, snap.id)
            continue
        s = sample_at(bars, sym, t, cal=cal, interval_minutes=key[1])
        if s is None:
            continue
        target = afters.get(s.session_date) if snap.snapshot_type == "before" else None
        out.append(CaptureSample(**{**s.__dict__, "snapshot_id": snap.id, "target_snapshot_id": target,
                                    "image_path": snap.image_path}))
    return out


def save_capture_samples(repo: TrainingSamplesRepo, samples: list[CaptureSample], *, split: str = "train") -> int:
    """Store as `training_samples` rows: anchor, horizon, labels and the features the model saw."""
    for s in samples:
        repo.add(symbol=s.symbol, anchor_time=_utc(s.decision_ns), anchor_price=s.anchor,
                 horizon_end=_utc(s.close_ns), label_close=s.label_close,
                 label_high=max(s.label_high, s.label_close), label_low=min(s.label_low, s.label_close),
                 features={"ctx": [round(float(v), 6) for v in s.ctx], "sigma_per_sqrt_minute": s.sigma,
                           "minutes_to_close": s.tau, "bars_in_window": s.n_bars},
                 split=split, snapshot_id=s.snapshot_id, target_snapshot_id=s.target_snapshot_id,
                 session_date=s.session_date, interval_minutes=s.interval_minutes, image_path=s.image_path)
    return len(samples)


def _utc(ns: int) -> datetime:
    from core.capture.naming import utc_from_ns

    return utc_from_ns(ns)
