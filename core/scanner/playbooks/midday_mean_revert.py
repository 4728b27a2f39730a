"""Midday mean reversion to VWAP: a quiet (low ADX) midday market stretched from VWAP turns back."""

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
    row_max,
    row_min,
    side,
    volume_ok,
)


class MiddayMeanRevert(Playbook):
    spec = PlaybookSpec(
        name="midday_mean_revert", title="Midday mean reversion to VWAP",
        phases=(P.MIDDAY,),
        inputs=("session VWAP", "ATR14", "ADX14", "volume"),
        trigger="midday, |close − VWAP| ≥ 0.6·ATR, ADX < 15, and a reversal bar closing beyond the "
                "previous bar's high (below VWAP → long) or low (above VWAP → short)",
        entry="the trigger bar's close", stop="3-bar extreme ∓ 0.25·ATR",
        targets="TP1 VWAP; TP2 0.5·ATR beyond VWAP (always farther than TP1)",
        conditions=("stretch_ge_1atr", "adx_lt_12", "volume_ge_median", "no_new_extreme_this_bar"),
        invalidation="a new 3-bar extreme beyond the stop side",
        armed="midday, stretched ≥ 0.6·ATR from VWAP with ADX < 15: waiting for a bar closing beyond "
              "this bar's high (below VWAP) or low (above VWAP)",
        forming="midday with ADX < 15 and a stretch of 0.3–0.6·ATR, or stretched while ADX ≥ 15",
        armed_entry="entry ≈ this bar's high (low), stop the 2-bar low (high) ∓ 0.25·ATR",
    )

    def _detect(self, f: Features, idx: np.ndarray) -> Signals:
        c, vw, a = f.close[idx], f.vwap[idx], f.atr[idx]
        dist = c - vw
        prev_hi, prev_lo = f.lag(f.high, idx, 1), f.lag(f.low, idx, 1)
        lo3 = row_min(f.session_window(f.low, idx, 3))
        hi3 = row_max(f.session_window(f.high, idx, 3))
        with np.errstate(invalid="ignore"):
            stretched = (np.abs(dist) >= 0.6 * a) & (f.adx[idx] < 15)
            long_ = stretched & (dist < 0) & (c > prev_hi)
            short = stretched & (dist > 0) & (c < prev_lo)
            d = side(long_, short)
            stop = pick(d, lo3 - 0.25 * a, hi3 + 0.25 * a)
            new_ext = pick(d, f.low[idx] < f.lag(f.s_low, idx, 1), f.high[idx] > f.lag(f.s_high, idx, 1))
            conds = [np.abs(dist) >= a, f.adx[idx] < 12, volume_ok(f, idx), ~new_ext]
        return self._signals(idx, d != 0, d, c, stop, stop, conds, tp1=vw, tp2=vw + d * 0.5 * a,
                             levels={"vwap": vw})

    def _arm(self, f: Features, idx: np.ndarray) -> Arming:
        c, vw, a, hi, lo = f.close[idx], f.vwap[idx], f.atr[idx], f.high[idx], f.low[idx]
        dist = c - vw
        lo2 = row_min(f.session_window(f.low, idx, 2))
        hi2 = row_max(f.session_window(f.high, idx, 2))
        with np.errstate(invalid="ignore"):
            quiet = f.adx[idx] < 15
            far = np.abs(dist) >= 0.6 * a
            d = side(far & quiet & (dist < 0), far & quiet & (dist > 0))
            stop = pick(d, lo2 - 0.25 * a, hi2 + 0.25 * a)
            new_ext = pick(d, lo < f.lag(f.s_low, idx, 1), hi > f.lag(f.s_high, idx, 1))
            conds = [np.abs(dist) >= a, f.adx[idx] < 12, volume_ok(f, idx), ~new_ext]
            forming = (quiet & (np.abs(dist) >= 0.3 * a)) | (far & ~quiet)
            why = explain("not stretched: |close − VWAP| < 0.3·ATR",
                          (~np.isfinite(vw), "no session VWAP (no volume)"),
                          (far & ~quiet, "stretched but trending: ADX ≥ 15"),
                          (quiet & (np.abs(dist) >= 0.3 * a), "stretch below 0.6·ATR from VWAP"),
                          (~quiet, "trending: ADX ≥ 15 and not stretched"))
        return Arming(d, pick(d, hi, lo), stop, stop.copy(), conds, forming & (d == 0), why,
                      ("a reversal bar closing above {trigger:.2f} (this bar's high), below VWAP {level:.2f}",
                       "a reversal bar closing below {trigger:.2f} (this bar's low), above VWAP {level:.2f}"),
                      vw.copy(), tp1=vw.copy(), tp2=vw + d * 0.5 * a)
