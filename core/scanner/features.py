"""Causal per-bar inputs shared by every playbook, for one or many series at once.

A `Features` frame concatenates the bars of one or more series (symbols or history windows). Every
array value at bar i depends only on bars <= i of the same series (tests truncate and mutate the
future to prove it), so the evaluator can compute them once and read them bar by bar.

Sessions: the regular (cash) session 09:30–16:00 ET taken from the exchange calendar (half-days
and DST included; futures use the 09:30–16:00 ET part of their Globex session). Session levels
(open, opening range 09:30–09:45, prior day high/low/close) come from those bars only; VWAP resets
on the calendar's session id (typical price, `session_vwap`); ATR is Wilder's `atr(14)` on the
bar interval, and `atr_d` is Wilder's ATR(14) of the completed regular sessions before today.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from core.errors import InputError
from core.indicators import adx, anchored_vwap, atr, ema, session_vwap
from core.indicators.batch import anchored_vwap_lines, needs_checked_path, scanner_indicators
from core.market.bars import Bars
from core.market.calendar import ExchangeCalendar, calendar_for
from core.market.intervals import Interval
from core.market.sessions import DAY_NS, SessionPhase, et_offset_ns, phases, session_ids

NY = "America/New_York"
MIN_NS = 60_000_000_000
OPENING_RANGE_MINUTES = 15  # the one opening range: 09:30–09:45 ET
ATR_N = 14
AVWAP_NAMES = ("avwap_open", "avwap_pdh", "avwap_pdl", "avwap_pdc")
T = TypeVar("T")
RTH_PHASES = (SessionPhase.OPEN_DRIVE, SessionPhase.MORNING, SessionPhase.MIDDAY,
              SessionPhase.AFTERNOON, SessionPhase.POWER_HOUR)


@dataclass(frozen=True, slots=True)
class SeriesInput:
    """One series to scan: its symbol and bars (any history length, intraday interval)."""

    symbol: str
    bars: Bars


@dataclass(frozen=True, slots=True)
class SessionTable:
    """One row per regular session present in the data (contiguous bars first..last)."""

    series: np.ndarray       # series number
    cal_idx: np.ndarray      # calendar session index
    first: np.ndarray        # first bar index (concatenated frame)
    last: np.ndarray         # last bar index
    at_open: np.ndarray      # bool: the first bar starts at the open (session not truncated)
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    high_idx: np.ndarray     # bar index of the session high (first occurrence)
    low_idx: np.ndarray
    close_ns: np.ndarray     # regular close of the session (UTC ns)
    prev: np.ndarray         # row of the previous calendar session of the same series, -1 if absent
    atr_d: np.ndarray        # Wilder ATR(14) of sessions up to and including this one


@dataclass(frozen=True, slots=True)
class Features:
    symbols: tuple[str, ...]
    interval: Interval
    series_start: np.ndarray     # first bar index of each series
    series_end: np.ndarray       # one past the last bar index of each series
    series_of: np.ndarray        # series number of each bar
    bars_seen: np.ndarray        # bars of its series up to and including each bar
    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    phase: np.ndarray            # SessionPhase codes
    mos: np.ndarray              # minutes since the regular open (NaN outside regular hours)
    row: np.ndarray              # session-table row of regular-hours bars, -1 elsewhere
    ema9: np.ndarray
    ema20: np.ndarray
    ema50: np.ndarray
    stack: np.ndarray            # +1 bull (9>20>50), -1 bear, 0 otherwise
    atr: np.ndarray
    adx: np.ndarray
    vwap: np.ndarray
    s_open: np.ndarray           # today's regular open (NaN if the session's first bars are missing)
    s_high: np.ndarray           # session high so far (including this bar)
    s_low: np.ndarray
    orh: np.ndarray              # opening-range high, defined once the range is complete
    orl: np.ndarray
    pdh: np.ndarray              # prior regular session high/low/close
    pdl: np.ndarray
    pdc: np.ndarray
    ppdh: np.ndarray             # the session before that (inside-day test)
    ppdl: np.ndarray
    atr_d: np.ndarray            # daily ATR known before today's open
    sessions: SessionTable
    # AVWAP lines by session row, filled on first use (valid for this frame only)
    avwap_cache: dict[int, dict[str, np.ndarray]] = field(default_factory=dict, repr=False, compare=False)
    # derived arrays several playbooks ask for at the same bars (see `derived`)
    memo: dict[tuple, object] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.ts)

    def derived(self, key: tuple, make: Callable[[], T]) -> T:
        """`make()` once per frame and key. A rescan asks the detectors (about the new bars) and the
        setups (about the latest bars: the same ones on a bar close) of 11 playbooks for the same
        windows, pools and volume tests; each is a pure function of this frame and its key (which
        names the decision bars, e.g. by `idx.tobytes()`). Arrays in the result are made read-only
        so a caller that would change a shared one fails loudly instead."""
        hit = self.memo.get(key, _MISSING)
        if hit is _MISSING:
            hit = make()
            for a in (hit.values() if isinstance(hit, dict) else (hit,)):
                if isinstance(a, np.ndarray):
                    a.flags.writeable = False
            self.memo[key] = hit
        return hit  # type: ignore[return-value]

    def lag(self, x: np.ndarray, idx: np.ndarray, k: int) -> np.ndarray:
        """x[idx - k], NaN where that bar is before the series start."""
        j = idx - k
        ok = j >= self.series_start[self.series_of[idx]]
        out = np.full(len(idx), np.nan)
        out[ok] = x[j[ok]]
        return out

    def window(self, x: np.ndarray, idx: np.ndarray, w: int, end_lag: int = 0) -> np.ndarray:
        """(len(idx), w) values x[i-end_lag-w+1 .. i-end_lag]; NaN for bars before the series start."""
        offs = np.arange(-w + 1, 1) - end_lag
        j = idx[:, None] + offs[None, :]
        ok = j >= self.series_start[self.series_of[idx]][:, None]
        vals = x[np.clip(j, 0, None)]
        return np.where(ok, vals, np.nan)

    def session_window(self, x: np.ndarray, idx: np.ndarray, w: int, end_lag: int = 0) -> np.ndarray:
        """Like `window` but NaN for bars before today's regular session."""
        offs = np.arange(-w + 1, 1) - end_lag
        j = idx[:, None] + offs[None, :]
        first = np.where(self.row[idx] >= 0, self.sessions.first[np.maximum(self.row[idx], 0)], idx + 1)
        ok = j >= first[:, None]
        return np.where(ok, x[np.clip(j, 0, None)], np.nan)

    def avwaps(self, idx: np.ndarray, cache: MutableMapping[int, dict[str, np.ndarray]] | None = None
               ) -> dict[str, np.ndarray]:
        """Anchored VWAPs at the given bars, anchored at today's open and at the prior session's
        high bar, low bar and last bar (prior close). NaN where an anchor is unknown.

        Each line is accumulated from its anchor to the session's last bar present; the value at
        bar i uses bars anchor..i only. A session's lines are kept between calls (in `cache` when
        given, else in this frame's own cache), so detectors and plans share them. With the frame's
        own cache the gathered values are kept per set of bars as well (a copy of the dict each call)."""
        if cache is None:
            idx = np.asarray(idx, dtype=np.int64)
            return dict(self.derived(("avwaps", idx.tobytes()), lambda: self.avwaps(idx, self.avwap_cache)))
        out = {k: np.full(len(idx), np.nan) for k in AVWAP_NAMES}
        rows = self.row[idx]
        wanted = np.unique(rows[rows >= 0])
        fresh = self._session_avwaps_many([int(r) for r in wanted if int(r) not in cache])
        cache.update(fresh)
        if len(idx) <= 2 * len(wanted):
            # About one bar per session (a scan's latest bars): plain gathers, not numpy calls per row.
            firsts = self.sessions.first
            for k, (i, r) in enumerate(zip(np.asarray(idx).tolist(), rows.tolist(), strict=True)):
                if r >= 0:
                    at = i - int(firsts[r])
                    for name, line in cache[r].items():
                        out[name][k] = line[at]
            return out
        for r in wanted:
            sel = np.flatnonzero(rows == r)
            lines = cache[int(r)]
            first = int(self.sessions.first[r])
            for name, line in lines.items():
                out[name][sel] = line[idx[sel] - first]
        return out

    def avwaps_at(self, i: int) -> dict[str, float]:
        """The anchored VWAPs at one bar (as `avwaps`, from the frame's cache), by name."""
        r = int(self.row[i])
        if r < 0:
            return {}
        lines = self.avwap_cache.get(r)
        if lines is None:
            lines = self.avwap_cache[r] = self._session_avwaps_many([r])[r]
        first = int(self.sessions.first[r])
        return {name: float(line[i - first]) for name, line in lines.items()}

    def _session_avwaps_many(self, rows: list[int]) -> dict[int, dict[str, np.ndarray]]:
        """`_session_avwaps` of several session rows, the lines computed in one compiled call."""
        if len(rows) < 2 or (self.volume < 0).any():     # negative volume: the checked path raises
            return {r: self._session_avwaps(r) for r in rows}
        todo: list[tuple[int, str, int, int, int]] = []   # (row, name, anchor, end, first)
        out: dict[int, dict[str, np.ndarray]] = {}
        # Unknown anchors (no prior session, no volume) are common: their all-NaN lines are read-only
        # views of one array instead of one new array each.
        t = self.sessions
        nan = np.full(int((t.last[rows] - t.first[rows]).max()) + 1, np.nan)
        nan.flags.writeable = False
        # `_anchors` of all rows at once, and whether any bar anchor..end has volume (a running
        # count of non-zero volumes; NaN counts, as in `.any()`).
        rs = np.asarray(rows, dtype=np.int64)
        firsts, ends = t.first[rs], t.last[rs] + 1
        p = t.prev[rs]
        pp = np.maximum(p, 0)
        anchors = np.stack([np.where(t.at_open[rs], firsts, -1), np.where(p >= 0, t.high_idx[pp], -1),
                            np.where(p >= 0, t.low_idx[pp], -1), np.where(p >= 0, t.last[pp], -1)], axis=1)
        moved = np.concatenate([[0], np.cumsum(self.volume != 0)])
        usable = (anchors >= 0) & (moved[ends][:, None] > moved[np.maximum(anchors, 0)])
        for r, first, end, row_a, row_ok in zip(rows, firsts.tolist(), ends.tolist(), anchors.tolist(),
                                                usable.tolist(), strict=True):
            out[r] = {}
            for name, a, ok in zip(AVWAP_NAMES, row_a, row_ok, strict=True):
                if ok:
                    todo.append((r, name, a, end, first))
                else:
                    out[r][name] = nan[:end - first]
        if todo:
            lines = anchored_vwap_lines(self.high, self.low, self.close, self.volume,
                                        np.array([x[2] for x in todo]), np.array([x[3] for x in todo]))
            for (r, name, a, _end, first), line in zip(todo, lines, strict=True):
                out[r][name] = line[first - a:]
        return {r: {name: out[r][name] for name in AVWAP_NAMES} for r in rows}

    def _session_avwaps(self, r: int) -> dict[str, np.ndarray]:
        t = self.sessions
        first, end = int(t.first[r]), int(t.last[r]) + 1
        p = int(t.prev[r])
        anchors = {"avwap_open": first if t.at_open[r] else -1,
                   "avwap_pdh": int(t.high_idx[p]) if p >= 0 else -1,
                   "avwap_pdl": int(t.low_idx[p]) if p >= 0 else -1,
                   "avwap_pdc": int(t.last[p]) if p >= 0 else -1}
        lines: dict[str, np.ndarray] = {}
        for name, a in anchors.items():
            if a < 0 or not self.volume[a:end].any():
                lines[name] = np.full(end - first, np.nan)
                continue
            line = anchored_vwap(self.high[a:end], self.low[a:end], self.close[a:end], self.volume[a:end], 0)
            lines[name] = line[first - a:]
        return lines


_MISSING = object()


def _seg_accumulate(high: np.ndarray, low: np.ndarray, first: np.ndarray, last: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Running maximum of `high` and minimum of `low` restarted at each [first, last] segment; NaN
    elsewhere (both from one padded index grid)."""
    hi_out, lo_out = np.full(len(high), np.nan), np.full(len(low), np.nan)
    if not len(first):
        return hi_out, lo_out
    lens = last - first + 1
    width = int(lens.max())
    j = first[:, None] + np.arange(width)[None, :]
    ok = np.arange(width)[None, :] < lens[:, None]
    jj = np.minimum(j, len(high) - 1)
    at = j[ok]
    hi_out[at] = np.maximum.accumulate(np.where(ok, high[jj], -np.inf), axis=1)[ok]
    lo_out[at] = np.minimum.accumulate(np.where(ok, low[jj], np.inf), axis=1)[ok]
    return hi_out, lo_out


def _regular_hours(ts: np.ndarray, cal: ExchangeCalendar) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(calendar session index or -1, minutes since the regular open or NaN, regular close ns) per bar."""
    day = ((ts + et_offset_ns(ts)) // DAY_NS).astype("datetime64[D]")   # New York calendar date
    pos = np.searchsorted(cal.session_dates, day)
    pos_c = np.minimum(pos, len(cal.session_dates) - 1)
    is_day = cal.session_dates[pos_c] == day
    rth_o = np.zeros(len(ts), dtype=np.int64)
    rth_c = np.zeros(len(ts), dtype=np.int64)
    if cal.is_futures:
        for p in np.unique(pos_c[is_day]):
            o, c = cal.rth_bounds_ns(int(p))
            sel = pos_c == p
            rth_o[sel], rth_c[sel] = o, c
    else:
        rth_o, rth_c = cal.opens_ns[pos_c], cal.closes_ns[pos_c]
    inside = is_day & (ts >= rth_o) & (ts < rth_c)
    mos = np.where(inside, (ts - rth_o) / MIN_NS, np.nan)
    return np.where(inside, pos_c, -1), mos, rth_c


ClockCache = MutableMapping[str, tuple[np.ndarray, ...]]   # symbol → (ts, phase, cal_idx, mos, rth_close, sid)


def _ranges(a: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Concatenated aranges [a_k, a_k + lens_k) in one pass."""
    return np.repeat(a - np.cumsum(lens) + lens, lens) + np.arange(int(lens.sum()))


def _reuse_clock(calendar: ClockCache | None, symbols: Sequence[str], ts: np.ndarray, starts: np.ndarray,
                 ends: np.ndarray, cols: tuple[np.ndarray, ...]) -> np.ndarray:
    """Copy the calendar columns of the bars an earlier frame already had (same leading timestamps)
    into [start, start + m) of `cols`, for each series; returns the m's (0 without a usable entry).
    They are functions of each bar's timestamp alone, so a live rescan computes them for the new
    bars only. One gather per column for all series (a watchlist has ~50)."""
    ms = np.zeros(len(symbols), dtype=np.int64)
    if calendar is None:
        return ms
    hits = [calendar.get(sym) for sym in symbols]
    for k, hit in enumerate(hits):
        if hit is not None and len(hit[0]) <= ends[k] - starts[k]:
            ms[k] = len(hit[0])
    use = np.flatnonzero(ms > 0)
    if not len(use):
        return ms
    pos = _ranges(starts[use], ms[use])
    same = ts[pos] == np.concatenate([hits[k][0] for k in use.tolist()])
    if not same.all():   # another history (a correction, another day): that series starts over
        bounds = np.concatenate([[0], np.cumsum(ms[use])])
        for q, k in enumerate(use.tolist()):
            if not same[bounds[q]:bounds[q + 1]].all():
                ms[k] = 0
        use = np.flatnonzero(ms > 0)
        if not len(use):
            return ms
        pos = _ranges(starts[use], ms[use])
    for c, col in enumerate(cols, start=1):
        col[pos] = np.concatenate([hits[k][c] for k in use.tolist()])
    return ms


def build_features(series: Sequence[SeriesInput], interval: Interval, calendar: ClockCache | None = None
                   ) -> Features:
    """Compute the causal inputs of every playbook for the given series (one frame).

    `calendar` (kept by a live scanner between bar closes) holds each symbol's per-bar session
    columns from the previous frame; only the bars after them are looked up in the calendar."""
    if interval.is_daily:
        raise InputError("interval", "the scanner needs intraday bars (1m … 4h), got daily")
    if not series:
        raise InputError("series", "nothing to scan")
    lens = np.array([len(s.bars) for s in series], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    ends = starts + lens
    n = int(lens.sum())
    cat = {c: np.concatenate([getattr(s.bars, c) for s in series]) if n else np.empty(0)
           for c in ("open", "high", "low", "close", "volume")}
    ts = np.concatenate([s.bars.ts for s in series]).astype(np.int64)
    series_of = np.repeat(np.arange(len(series)), lens)

    phase = np.zeros(n, dtype=np.uint8)
    cal_idx = np.full(n, -1, dtype=np.int64)
    mos = np.full(n, np.nan)
    rth_close = np.zeros(n, dtype=np.int64)
    vwap_sid = np.zeros(n, dtype=np.int64)
    by_cal: dict[str, list[int]] = {}
    for k, s in enumerate(series):
        by_cal.setdefault(calendar_for(s.symbol).code, []).append(k)
    cols = (phase, cal_idx, mos, rth_close, vwap_sid)
    reused = _reuse_clock(calendar, [s.symbol for s in series], ts, starts, ends, cols)
    for ks in by_cal.values():
        cal = calendar_for(series[ks[0]].symbol)
        k = np.array(ks, dtype=np.int64)
        sel = _ranges(starts[k] + reused[k], lens[k] - reused[k])
        if not len(sel):
            continue
        t = ts[sel]
        phase[sel] = phases(t, cal)
        cal_idx[sel], mos[sel], rth_close[sel] = _regular_hours(t, cal)
        vwap_sid[sel] = session_ids(t, cal)
    if calendar is not None:
        for k, s in enumerate(series):
            a, b = int(starts[k]), int(ends[k])
            calendar[s.symbol] = (ts[a:b], *(c[a:b] for c in cols))

    ind = {k: np.full(n, np.nan) for k in ("ema9", "ema20", "ema50", "atr", "adx", "vwap")}
    checked = needs_checked_path(cat["high"], cat["low"], cat["close"], cat["volume"], starts, ends)
    scanner_indicators(cat["high"], cat["low"], cat["close"], cat["volume"], vwap_sid, starts, ends,
                       checked, ATR_N, ind)
    for k in np.flatnonzero(checked):
        a, b = int(starts[k]), int(ends[k])
        if b - a < 2:
            continue
        h, lo, c, v = (cat[x][a:b] for x in ("high", "low", "close", "volume"))
        for p in (9, 20, 50):
            ind[f"ema{p}"][a:b] = ema(c, p)
        ind["atr"][a:b] = atr(h, lo, c, ATR_N)
        ind["adx"][a:b] = adx(h, lo, c, ATR_N)[0]
        if v.any():
            ind["vwap"][a:b] = session_vwap(h, lo, c, v, vwap_sid[a:b])[0]
    with np.errstate(invalid="ignore"):
        stack = ((ind["ema9"] > ind["ema20"]) & (ind["ema20"] > ind["ema50"])).astype(np.int8) - (
            (ind["ema9"] < ind["ema20"]) & (ind["ema20"] < ind["ema50"])).astype(np.int8)

    table, row = _session_table(ts, cat, series_of, cal_idx, mos, rth_close, interval)
    t = table
    rth = row >= 0
    r = np.maximum(row, 0)
    s_high, s_low = _seg_accumulate(cat["high"], cat["low"], t.first, t.last)
    s_open = np.where(rth & t.at_open[r], t.open[r], np.nan)

    # Opening range: bars starting in the first 15 minutes; known from the first bar after it.
    orh = np.full(n, np.nan)
    orl = np.full(n, np.nan)
    if interval.minutes <= OPENING_RANGE_MINUTES and OPENING_RANGE_MINUTES % interval.minutes == 0:
        in_or = rth & (mos < OPENING_RANGE_MINUTES)
        or_hi = np.where(in_or, cat["high"], -np.inf)
        or_lo = np.where(in_or, cat["low"], np.inf)
        row_hi = np.full(len(t.first), -np.inf)
        row_lo = np.full(len(t.first), np.inf)
        np.maximum.at(row_hi, r[in_or], or_hi[in_or])
        np.minimum.at(row_lo, r[in_or], or_lo[in_or])
        done = rth & (mos >= OPENING_RANGE_MINUTES) & t.at_open[r]
        orh[done], orl[done] = row_hi[r[done]], row_lo[r[done]]

    prev = np.where(rth, t.prev[r], -1)
    has_prev = prev >= 0
    pr = np.maximum(prev, 0)
    pdh = np.where(has_prev, t.high[pr], np.nan)
    pdl = np.where(has_prev, t.low[pr], np.nan)
    pdc = np.where(has_prev, t.close[pr], np.nan)
    atr_d = np.where(has_prev, t.atr_d[pr], np.nan)
    pprev = np.where(has_prev, t.prev[pr], -1)
    ppr = np.maximum(pprev, 0)
    ppdh = np.where(pprev >= 0, t.high[ppr], np.nan)
    ppdl = np.where(pprev >= 0, t.low[ppr], np.nan)

    return Features(
        symbols=tuple(s.symbol for s in series), interval=interval, series_start=starts,
        series_end=ends, series_of=series_of,
        bars_seen=np.arange(n) - starts[series_of] + 1, ts=ts, open=cat["open"], high=cat["high"],
        low=cat["low"], close=cat["close"], volume=cat["volume"], phase=phase, mos=mos, row=row,
        ema9=ind["ema9"], ema20=ind["ema20"], ema50=ind["ema50"], stack=stack, atr=ind["atr"],
        adx=ind["adx"], vwap=ind["vwap"], s_open=s_open, s_high=s_high, s_low=s_low, orh=orh,
        orl=orl, pdh=pdh, pdl=pdl, pdc=pdc, ppdh=ppdh, ppdl=ppdl, atr_d=atr_d, sessions=table,
    )


def _session_table(ts: np.ndarray, cat: dict[str, np.ndarray], series_of: np.ndarray, cal_idx: np.ndarray,
                   mos: np.ndarray, rth_close: np.ndarray, interval: Interval) -> tuple[SessionTable, np.ndarray]:
    n = len(ts)
    rth = np.flatnonzero(cal_idx >= 0)
    key_s, key_c = series_of[rth], cal_idx[rth]
    new = np.ones(len(rth), dtype=bool)
    if len(rth) > 1:
        new[1:] = (key_s[1:] != key_s[:-1]) | (key_c[1:] != key_c[:-1])
    first = rth[new]
    row_of_rth = np.cumsum(new) - 1
    last = np.append(rth[np.flatnonzero(new)[1:] - 1], rth[-1]) if len(rth) else rth
    row = np.full(n, -1, dtype=np.int64)
    row[rth] = row_of_rth
    m = len(first)
    srs, cidx = series_of[first], cal_idx[first]
    hi = np.full(m, -np.inf)
    lo = np.full(m, np.inf)
    np.maximum.at(hi, row_of_rth, cat["high"][rth])
    np.minimum.at(lo, row_of_rth, cat["low"][rth])
    # First bar reaching the session high/low (anchors of the prior-day AVWAPs).
    is_hi = cat["high"][rth] == hi[row_of_rth]
    is_lo = cat["low"][rth] == lo[row_of_rth]
    high_idx = np.full(m, -1, dtype=np.int64)
    low_idx = np.full(m, -1, dtype=np.int64)
    high_idx[row_of_rth[is_hi][::-1]] = rth[is_hi][::-1]
    low_idx[row_of_rth[is_lo][::-1]] = rth[is_lo][::-1]
    prev = np.full(m, -1, dtype=np.int64)
    if m > 1:
        # A truncated session (first bars missing in the data) does not give prior-day levels.
        at_open_prev = (mos[first[:-1]] < interval.minutes)
        ok = (srs[1:] == srs[:-1]) & (cidx[1:] == cidx[:-1] + 1) & at_open_prev
        prev[1:][ok] = np.arange(m - 1)[ok]
    close = cat["close"][last] if m else np.empty(0)
    atr_d = np.full(m, np.nan)
    # Rows are in series order, so each series' sessions are one run [a, b) of rows; only runs of
    # more than ATR_N sessions get a daily ATR (a watchlist's series mostly hold a day or two).
    if m:
        cut = np.flatnonzero(srs[1:] != srs[:-1]) + 1
        run_a, run_b = np.concatenate([[0], cut]), np.concatenate([cut, [m]])
        for a, b in zip(run_a.tolist(), run_b.tolist(), strict=True):
            if b - a > ATR_N:
                atr_d[a:b] = atr(hi[a:b], lo[a:b], close[a:b], ATR_N)
    table = SessionTable(
        series=srs, cal_idx=cidx, first=first, last=last,
        at_open=mos[first] < interval.minutes if m else np.zeros(0, dtype=bool),
        open=cat["open"][first] if m else np.empty(0), high=hi, low=lo, close=close,
        high_idx=high_idx, low_idx=low_idx, close_ns=rth_close[first], prev=prev, atr_d=atr_d,
    )
    return table, row
