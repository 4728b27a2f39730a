"""Momentum continuation: a wide bar closing near its extreme makes a new session high (low) in a
stacked trend on the right side of VWAP."""

from __future__ import annotations

import numpy as np

from core.market.sessions import SessionPhase as P
from core.scanner.features import Features
from core.scanner.playbooks.base import (
    Arming,
    Playbook,
    PlaybookSpec,
    Signals,
    explain,
    pick,
    side,
    volume_ok,
)


class MomentumContinuation(Playbook):
    spec = PlaybookSpec(
        name="momentum_continuation", title="Momentum continuation",
        phases=(P.MORNING, P.MIDDAY, P.AFTERNOON),
        inputs=("EMA 9/20/50", "session VWAP", "session high/low", "ATR14", "ADX14", "volume"),
        trigger="EMA stack aligned, close beyond VWAP, bar range ≥ 1.2·ATR closing in its top (bottom) "
                "quarter, and a new session high (low)",
        entry="the trigger bar's close", stop="the bar's low (high) ∓ 0.1·ATR",
        targets="style base (ATR multiples of the style horizon: hourly intraday, daily swing) snapped to key levels",
        conditions=("adx_ge_25", "volume_ge_1.5x_median", "beyond_session_open", "ema9_sloping"),
        invalidation="a close back inside the trigger bar's lower (upper) half",
        armed="EMA stack aligned and the close beyond VWAP: waiting for a wide bar (≥ 1.2·ATR) closing in "
              "its top (bottom) quarter at a new session high (low)",
        forming="EMA stack aligned on the wrong side of VWAP, or price beyond VWAP without the stack",
        armed_entry="entry ≈ the session high (low), stop 1.1·ATR below (above) it (a 1.2·ATR bar closing "
                    "in its top quarter, − 0.1·ATR)",
    )

    def _detect(self, f: Features, idx: np.ndarray) -> Signals:
        c, h, lo, a = f.close[idx], f.high[idx], f.low[idx], f.atr[idx]
        rng = h - lo
        prev_sh, prev_sl = f.lag(f.s_high, idx, 1), f.lag(f.s_low, idx, 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            loc = (c - lo) / rng
            wide = rng >= 1.2 * a
            long_ = wide & (f.stack[idx] == 1) & (c > f.vwap[idx]) & (loc >= 0.75) & (h > prev_sh)
            short = wide & (f.stack[idx] == -1) & (c < f.vwap[idx]) & (loc <= 0.25) & (lo < prev_sl)
            d = side(long_, short)
            stop = pick(d, lo - 0.1 * a, h + 0.1 * a)
            slope = f.ema9[idx] - f.lag(f.ema9, idx, 3)
            conds = [f.adx[idx] >= 25, volume_ok(f, idx, 1.5), np.sign(c - f.s_open[idx]) == d,
                     np.sign(slope) == d]
        return self._signals(idx, d != 0, d, c, stop, (h + lo) / 2, conds,
                             levels={"session_high": prev_sh, "session_low": prev_sl})

    def _arm(self, f: Features, idx: np.ndarray) -> Arming:
        c, a, st, vw = f.close[idx], f.atr[idx], f.stack[idx], f.vwap[idx]
        sh, sl = f.s_high[idx], f.s_low[idx]
        with np.errstate(invalid="ignore"):
            d = side((st == 1) & (c > vw) & np.isfinite(sh), (st == -1) & (c < vw) & np.isfinite(sl))
            trigger = pick(d, sh, sl)
            stop = pick(d, sh - 1.1 * a, sl + 1.1 * a)
            slope = f.ema9[idx] - f.lag(f.ema9, idx, 3)
            conds = [f.adx[idx] >= 25, np.zeros(len(idx), dtype=bool), np.sign(c - f.s_open[idx]) == d,
                     np.sign(slope) == d]
            forming = ((st != 0) & (np.sign(c - vw) == -st)) | ((st == 0) & np.isfinite(vw))
            why = explain("EMA stack not aligned",
                          (~np.isfinite(vw), "no session VWAP (no volume)"),
                          ((st != 0) & (np.sign(c - vw) == -st), "EMA stack aligned but price on the other "
                                                                   "side of VWAP"),
                          (st == 0, "EMA stack not aligned"))
        return Arming(d, trigger, stop, trigger - d * 0.6 * a, conds, forming & (d == 0), why,
                      ("a bar ≥ 1.2·ATR closing in its top quarter at a new session high above {trigger:.2f}",
                       "a bar ≥ 1.2·ATR closing in its bottom quarter at a new session low below {trigger:.2f}"),
                      trigger.copy())
