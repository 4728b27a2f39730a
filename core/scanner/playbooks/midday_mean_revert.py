"""Midday mean reversion to VWAP: a quiet (low ADX) midday market stretched from VWAP turns back."""

from __future__ import annotations

import numpy as np

from core.market.sessions import SessionPhase as P
from core.scanner.features import Features
from core.scanner.playbooks.base import Playbook, PlaybookSpec, Signals, pick, row_max, row_min, side, volume_ok


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
