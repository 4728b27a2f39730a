"""Leakage-free samples from any intraday bar history.

A sample is a decision time t (the end of a regular-session bar) and everything a trader could
have seen then: the last `WINDOW` regular-session bars up to t (drawn as the chart image and fed
to the LSTM) and context features (time to the close, interval, session phase, realized
volatility, where price sits in today's range). The label is the rest of that session: its close,
and the high and low of the bars after t. Nothing computed for the inputs reads a bar that ends
after t; `tests/test_models_dataset.py` rewrites every later bar and checks the inputs do not move.

Prices enter the model only relative to the anchor (the close at t) and scaled by realized
volatility, so one model serves SPY at 300 and ES at 6000, 1-minute and hourly bars.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from core.errors import DataError, InputError
from core.market.bars import Bars
from core.market.calendar import ExchangeCalendar, calendar_for
from core.market.importer import infer_interval
from core.market.sessions import SessionPhase, phases

WINDOW = 64          # bars drawn in the chart image
SEQ_LEN = 32         # bars the LSTM reads
VOL_RETURNS = 40     # within-session close-to-close returns behind the realized volatility
MIN_RETURNS = 8      # fewer than this and the sample is skipped (volatility unknown)
SESSION_MINUTES = 390.0
MINUTES_PER_YEAR = 252 * 390
SIGMA_FLOOR = 1e-5   # per sqrt(minute); a frozen tape would otherwise divide by zero
CTX_FEATURES = 16
SEQ_FEATURES = 7
MIN_NS = 60_000_000_000


@dataclass(frozen=True)
class SampleSet:
    """Columnar samples of one symbol. Array i of every field belongs to sample i."""

    symbol: str
    interval_minutes: int
    decision_ns: np.ndarray      # int64 UTC ns: the decision time (end of the last seen bar)
    close_ns: np.ndarray         # int64 UTC ns: the session close (horizon end)
    session_day: np.ndarray      # datetime64[D]: the session date (splits are by this)
    anchor: np.ndarray           # close at the decision time
    sigma: np.ndarray            # realized volatility per sqrt(minute), from past bars only
    tau: np.ndarray              # minutes from the decision time to the close
    window: np.ndarray           # (N, WINDOW, 5) float32: ln(OHLC/anchor), log1p(volume); left-padded
    n_bars: np.ndarray           # valid bars at the end of each window
    new_session: np.ndarray      # (N, WINDOW) bool: bar opens a session (the chart shows the gap)
    ctx: np.ndarray              # (N, CTX_FEATURES) float32 context features
    label_close: np.ndarray
    label_high: np.ndarray
    label_low: np.ndarray
    bar_minutes: np.ndarray      # the bar interval of each sample (sets of several intervals concatenate)
    split: np.ndarray = field(default_factory=lambda: np.empty(0, dtype="<U5"))

    def __len__(self) -> int:
        return len(self.decision_ns)

    @property
    def scale(self) -> np.ndarray:
        """sigma * sqrt(tau): one 'volatility unit' of log price to the close."""
        return self.sigma * np.sqrt(self.tau)

    def z(self, price: np.ndarray) -> np.ndarray:
        """Prices in volatility units relative to the anchor."""
        return np.log(price / self.anchor) / self.scale

    def take(self, idx: np.ndarray) -> SampleSet:
        split = self.split[idx] if len(self.split) else self.split
        return SampleSet(self.symbol, self.interval_minutes, *(getattr(self, f)[idx] for f in _ARRAYS), split=split)

    def with_split(self, split: np.ndarray) -> SampleSet:
        return SampleSet(self.symbol, self.interval_minutes, *(getattr(self, f) for f in _ARRAYS), split=split)


_ARRAYS = ("decision_ns", "close_ns", "session_day", "anchor", "sigma", "tau", "window", "n_bars", "new_session",
           "ctx", "label_close", "label_high", "label_low", "bar_minutes")


def concat(sets: list[SampleSet]) -> SampleSet:
    """Samples of several symbols/intervals in one set (symbol/interval of the first)."""
    sets = [s for s in sets if len(s)]
    if not sets:
        raise DataError("samples: no samples to combine")
    arrays = [np.concatenate([getattr(s, f) for s in sets]) for f in _ARRAYS]
    split = np.concatenate([s.split if len(s.split) else np.full(len(s), "", "<U5") for s in sets])
    return SampleSet(sets[0].symbol, sets[0].interval_minutes, *arrays, split=split)


# -- regular-session bars ------------------------------------------------------------------------
@dataclass(frozen=True)
class SessionBars:
    """Regular-session bars with their session index, open and close (UTC ns)."""

    bars: Bars
    interval_minutes: int
    session: np.ndarray    # calendar session index per bar
    open_ns: np.ndarray
    close_ns: np.ndarray
    end_ns: np.ndarray     # bar end, clipped to the session close


def regular_session_bars(bars: Bars, symbol: str, cal: ExchangeCalendar | None = None,
                         interval_minutes: int | None = None) -> SessionBars:
    """Keep the bars that end inside a regular session (09:30–16:00 ET for equities, the cash
    hours for index futures). A bar belongs to the session its *end* falls in, so Lean's hourly
    bar stamped 09:00 (holding 09:30–10:00) counts as the session's first bar."""
    if len(bars) < 2:
        raise InputError("bars", "need at least two bars")
    cal = cal or calendar_for(symbol)
    iv = interval_minutes or infer_interval(bars.ts).minutes
    if iv >= 24 * 60:
        raise InputError("bars", "the predictor needs intraday bars (1m…4h), not daily bars")
    # The session a bar belongs to: the first whose close is after the bar's start.
    idx, _ = cal.session_index(bars.ts)
    uniq, pos = np.unique(idx, return_inverse=True)
    rth = np.array([cal.rth_bounds_ns(int(i)) for i in uniq], dtype=np.int64).reshape(-1, 2)
    o, c = rth[pos, 0], rth[pos, 1]
    end = np.minimum(bars.ts + np.int64(iv) * MIN_NS, c)
    keep = (end > o) & (bars.ts < c)
    sb = bars[keep]
    return SessionBars(sb, iv, idx[keep], o[keep], c[keep], end[keep])


def _realized_sigma(sb: SessionBars) -> np.ndarray:
    """Per bar: RMS of the last VOL_RETURNS within-session log returns up to and including it,
    per sqrt(minute). NaN until MIN_RETURNS returns exist. Past-only by construction."""
    c = sb.bars.close
    r = np.full(len(c), np.nan)
    r[1:] = np.log(c[1:] / c[:-1])
    r[1:][sb.session[1:] != sb.session[:-1]] = np.nan  # the overnight gap is not intraday volatility
    ok = np.isfinite(r)
    r2 = np.where(ok, r * r, 0.0)
    cs, cn = np.concatenate(([0.0], np.cumsum(r2))), np.concatenate(([0], np.cumsum(ok)))
    i = np.arange(len(c)) + 1
    lo = np.maximum(0, i - VOL_RETURNS)
    # Windows count bars, not returns: gaps make a window hold slightly fewer returns (fine).
    s2, n = cs[i] - cs[lo], cn[i] - cn[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        sig = np.sqrt(s2 / n) / math.sqrt(sb.interval_minutes)
    sig[n < MIN_RETURNS] = np.nan
    return np.maximum(sig, SIGMA_FLOOR)


def context_features(tau: np.ndarray, minutes_open: np.ndarray, interval_minutes: float, phase: np.ndarray,
                     sigma: np.ndarray, z_open: np.ndarray, z_high: np.ndarray, z_low: np.ndarray,
                     has_bars: np.ndarray) -> np.ndarray:
    """The MLP's inputs. Shared by the sample builder and live inference so both see the same thing."""
    n = len(tau)
    out = np.zeros((n, CTX_FEATURES), dtype=np.float32)
    out[:, 0] = tau / SESSION_MINUTES
    out[:, 1] = np.sqrt(np.maximum(tau, 0) / SESSION_MINUTES)
    out[:, 2] = minutes_open / SESSION_MINUTES
    out[:, 3] = math.log(interval_minutes) / math.log(60.0)
    out[:, 4] = np.log(sigma * math.sqrt(MINUTES_PER_YEAR) / 0.15)  # 0 at 15% annualised
    out[:, 5] = np.clip(z_open, -6, 6)
    out[:, 6] = np.clip(z_high, 0, 6)
    out[:, 7] = np.clip(z_low, -6, 0)
    out[:, 8] = has_bars
    for k, ph in enumerate((SessionPhase.OPEN_DRIVE, SessionPhase.MORNING, SessionPhase.MIDDAY,
                            SessionPhase.AFTERNOON, SessionPhase.POWER_HOUR)):
        out[:, 9 + k] = phase == ph
    out[:, 14] = 1.0 / np.sqrt(np.maximum(tau, 1.0))  # the discrete-monitoring term's size
    out[:, 15] = 1.0
    return out


def build_samples(bars: Bars, symbol: str, *, every_minutes: int | None = None, min_history: int = 20,
                  cal: ExchangeCalendar | None = None, interval_minutes: int | None = None) -> SampleSet:
    """Samples at every decision time that falls on an `every_minutes` grid from the session open
    (default: every bar) and leaves at least one bar of the session to forecast.

    Sessions whose last bar does not reach the close are skipped (no true close to learn from)."""
    symbol = symbol.strip().upper()
    cal = cal or calendar_for(symbol)
    sb = regular_session_bars(bars, symbol, cal, interval_minutes)
    iv = sb.interval_minutes
    if every_minutes is not None and every_minutes < iv:
        raise InputError("every_minutes", f"must be at least the bar interval ({iv} min)")
    b = sb.bars
    n = len(b)
    if n < min_history + 1:
        return _empty(symbol, iv)
    sig = _realized_sigma(sb)
    starts = np.flatnonzero(np.concatenate(([True], sb.session[1:] != sb.session[:-1])))
    ends = np.concatenate((starts[1:], [n])) - 1
    complete = sb.end_ns[ends] >= sb.close_ns[ends]
    seg = np.repeat(np.arange(len(starts)), np.diff(np.concatenate((starts, [n]))))
    last = ends[seg]
    # Label pieces: suffix max/min within each session, computed once (no per-sample loops).
    suf_hi, suf_lo = np.empty(n), np.empty(n)
    for s, e in zip(starts, ends, strict=True):
        suf_hi[s:e + 1] = np.maximum.accumulate(b.high[s:e + 1][::-1])[::-1]
        suf_lo[s:e + 1] = np.minimum.accumulate(b.low[s:e + 1][::-1])[::-1]
    # Today's range so far (inclusive of the decision bar): prefix max/min within the session.
    pre_hi, pre_lo = np.empty(n), np.empty(n)
    for s, e in zip(starts, ends, strict=True):
        pre_hi[s:e + 1] = np.maximum.accumulate(b.high[s:e + 1])
        pre_lo[s:e + 1] = np.minimum.accumulate(b.low[s:e + 1])
    i = np.arange(n)
    minutes_open = (sb.end_ns - sb.open_ns) / MIN_NS
    on_grid = np.ones(n, bool) if every_minutes is None else np.isclose(np.mod(minutes_open, every_minutes), 0)
    ok = (complete[seg] & (i < last) & (i >= min_history - 1) & np.isfinite(sig) & on_grid
          & (sb.end_ns < sb.close_ns))
    idx = np.flatnonzero(ok)
    if not len(idx):
        return _empty(symbol, iv)
    anchor = b.close[idx]
    tau = (sb.close_ns[idx] - sb.end_ns[idx]) / MIN_NS
    sigma = sig[idx]
    first = starts[seg[idx]]
    day_scale = sigma * math.sqrt(SESSION_MINUTES)
    z_open = np.log(anchor / b.open[first]) / day_scale
    z_high = np.log(pre_hi[idx] / anchor) / day_scale
    z_low = np.log(pre_lo[idx] / anchor) / day_scale
    ph = phases(sb.end_ns[idx] - 1, cal)
    ctx = context_features(tau, minutes_open[idx], iv, ph, sigma, z_open, z_high, z_low, np.ones(len(idx)))
    window, nb, new_sess = _windows(b, sb.session, idx, anchor)
    day = _session_days(cal, sb.session[idx])
    return SampleSet(symbol, iv, sb.end_ns[idx].astype(np.int64), sb.close_ns[idx].astype(np.int64), day,
                     anchor, sigma, tau, window, nb, new_sess, ctx,
                     b.close[last[idx]], suf_hi[idx + 1], suf_lo[idx + 1], np.full(len(idx), float(iv)))


def _session_days(cal: ExchangeCalendar, session: np.ndarray) -> np.ndarray:
    return cal.session_dates[session]


def _windows(b: Bars, session: np.ndarray, idx: np.ndarray, anchor: np.ndarray) -> tuple[np.ndarray, ...]:
    """(N, WINDOW, 5) past bars ending at each decision bar, left-padded with zeros."""
    offs = np.arange(-WINDOW + 1, 1)
    pos = idx[:, None] + offs[None, :]
    valid = pos >= 0
    p = np.maximum(pos, 0)
    a = anchor[:, None]
    w = np.zeros((len(idx), WINDOW, 5), dtype=np.float32)
    for k, col in enumerate((b.open, b.high, b.low, b.close)):
        w[:, :, k] = np.where(valid, np.log(col[p] / a), 0.0)
    w[:, :, 4] = np.where(valid, np.log1p(np.maximum(b.volume[p], 0.0)), 0.0)
    prev = np.maximum(p - 1, 0)
    new_sess = valid & ((pos == 0) | (session[p] != session[prev]))
    return w, valid.sum(axis=1).astype(np.int64), new_sess


def _empty(symbol: str, iv: int) -> SampleSet:
    z = np.empty(0)
    return SampleSet(symbol, iv, np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, "datetime64[D]"),
                     z, z, z, np.zeros((0, WINDOW, 5), np.float32), np.empty(0, np.int64),
                     np.zeros((0, WINDOW), bool), np.zeros((0, CTX_FEATURES), np.float32), z, z, z, z)


# -- splits --------------------------------------------------------------------------------------
def split_by_date(days: np.ndarray, val_start: date, test_start: date) -> np.ndarray:
    """'train' before val_start, 'val' until test_start, 'test' after: chronological, by session date."""
    if not val_start < test_start:
        raise InputError("val_start", "must be before test_start")
    d = days.astype("datetime64[D]")
    out = np.full(len(d), "train", dtype="<U5")
    out[d >= np.datetime64(val_start, "D")] = "val"
    out[d >= np.datetime64(test_start, "D")] = "test"
    return out


def split_by_fraction(days: np.ndarray, val: float = 0.15, test: float = 0.15) -> np.ndarray:
    """Chronological split of the distinct session dates (the last `test` fraction is the test set)."""
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise InputError("val", "val and test fractions must be in [0, 1) and sum below 1")
    uniq = np.unique(days.astype("datetime64[D]"))
    if len(uniq) < 3:
        raise InputError("bars", f"need at least 3 sessions for a train/val/test split, got {len(uniq)}")
    n = len(uniq)
    v0 = uniq[min(n - 2, max(1, round(n * (1 - val - test))))]
    t0 = uniq[min(n - 1, max(2, round(n * (1 - test))))]
    return split_by_date(days, v0.astype(object), t0.astype(object))


# -- model inputs --------------------------------------------------------------------------------
def sequence_features(window: np.ndarray, n_bars: np.ndarray, new_session: np.ndarray, sigma: np.ndarray,
                      interval_minutes: np.ndarray | float) -> np.ndarray:
    """(N, SEQ_LEN, SEQ_FEATURES) for the LSTM: the last SEQ_LEN bars' OHLC in per-bar
    volatility units relative to the anchor, relative log volume, session-start and valid flags."""
    w = window[:, -SEQ_LEN:, :]
    valid = (np.arange(WINDOW)[None, :] >= (WINDOW - n_bars)[:, None])[:, -SEQ_LEN:]
    bar_sig = (sigma * np.sqrt(interval_minutes))[:, None, None]
    out = np.zeros((len(w), SEQ_LEN, SEQ_FEATURES), dtype=np.float32)
    out[:, :, :4] = np.clip(w[:, :, :4] / bar_sig, -30, 30)
    lv = w[:, :, 4]
    cnt = np.maximum(valid.sum(axis=1, keepdims=True), 1)
    mean = (lv * valid).sum(axis=1, keepdims=True) / cnt
    out[:, :, 4] = np.clip(lv - mean, -5, 5) * (lv > 0)
    out[:, :, 5] = new_session[:, -SEQ_LEN:]
    out[:, :, 6] = valid
    out[~valid] = 0.0
    return out


def render_window(window: np.ndarray, n_bars: int, look: object | None = None,
                  bars_shown: int | None = None) -> np.ndarray:
    """The chart image of one sample's window (uint8 H x W x 3)."""
    from models.render import render

    k = int(min(n_bars, bars_shown or WINDOW))
    w = window[-k:]
    return render(w[:, 0], w[:, 1], w[:, 2], w[:, 3], np.expm1(w[:, 4]), look)  # type: ignore[arg-type]


# -- the bundled training data ------------------------------------------------------------------
BUNDLE_VAL_START = date(2014, 1, 1)
BUNDLE_TEST_START = date(2016, 1, 1)
BUNDLE_END = date(2017, 12, 31)  # later data stays unseen: SPY 2018–2020 and ES 2024–25 evaluate


def bundled_samples(data_dir: object | None = None, *, end: date = BUNDLE_END,
                    hourly_every: int | None = None) -> SampleSet:
    """Samples from the redistributable bundle (resources/data, Apache-2.0 Lean data) up to `end`:
    SPY hourly bars 1998–2017 and the 1-minute sample days resampled to 5 and 15 minutes.
    Split by date: train < 2014, val 2014–2015, test 2016–2017."""
    from pathlib import Path

    from core.market.bundle import BarLibrary
    from core.market.intervals import M5, M15
    from core.market.resample import resample
    from core.paths import bundled_data_dir

    lib = BarLibrary(Path(str(data_dir)) if data_dir is not None else bundled_data_dir())
    end_ns = np.datetime64(end, "D").astype("datetime64[ns]").astype(np.int64) + 86_400 * 10**9
    sets = [build_samples(lib.hourly("SPY").between(None, end_ns), "SPY", every_minutes=hourly_every)]
    for sym in lib.minute_symbols():
        if sym == "SPX":
            continue  # index prints only; its days (2021, 2023) are after the cut-off anyway
        cal = calendar_for(sym)
        minute = lib.minute(sym).between(None, end_ns)
        if len(minute) < 100:
            continue
        for iv in (M5, M15):
            sets.append(build_samples(resample(minute, iv, cal), sym, cal=cal, interval_minutes=iv.minutes,
                                      min_history=10))
    out = concat(sets)
    return out.with_split(split_by_date(out.session_day, BUNDLE_VAL_START, BUNDLE_TEST_START))


# -- rows in `training_samples` ------------------------------------------------------------------
def save_samples(repo: object, s: SampleSet, *, image_paths: list[str | None] | None = None) -> int:
    """Store samples as `training_samples` rows (core.store.TrainingSamplesRepo): anchor time and
    price, horizon end (the close), labels, split and the context features the model saw, so a
    later audit can check that no feature was computed after the anchor time. Returns the count."""
    from datetime import UTC, datetime

    def utc(ns: int) -> datetime:
        return datetime.fromtimestamp(ns / 1e9, UTC)

    for i in range(len(s)):
        repo.add(  # type: ignore[attr-defined]
            symbol=s.symbol, anchor_time=utc(int(s.decision_ns[i])), anchor_price=float(s.anchor[i]),
            horizon_end=utc(int(s.close_ns[i])), label_close=float(s.label_close[i]),
            label_high=max(float(s.label_high[i]), float(s.label_close[i])),
            label_low=min(float(s.label_low[i]), float(s.label_close[i])),
            features={"ctx": [round(float(v), 6) for v in s.ctx[i]], "sigma_per_sqrt_minute": float(s.sigma[i]),
                      "minutes_to_close": float(s.tau[i]), "bars_in_window": int(s.n_bars[i])},
            split=str(s.split[i]) if len(s.split) and s.split[i] else "train",
            session_date=s.session_day[i].astype(object), interval_minutes=int(s.bar_minutes[i]),
            image_path=None if image_paths is None else image_paths[i])
    return len(s)
