"""EMA pullback in trend: a stacked, trending market dips to the 20 EMA and resumes."""

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


class EmaPullback(Playbook):
    spec = PlaybookSpec(
        name="ema_pullback", title="EMA pullback in trend",
        phases=(P.MORNING, P.MIDDAY, P.AFTERNOON),
        inputs=("EMA 9/20/50", "ATR14", "ADX14", "session VWAP", "volume"),
        trigger="EMA stack aligned and ADX ≥ 20; one of the 3 previous bars reached the 20 EMA (within "
                "0.1·ATR) without closing beyond the 50 EMA; this bar closes beyond the previous bar's "
                "high (low) and the 9 EMA",
        entry="the trigger bar's close", stop="pullback extreme ∓ 0.2·ATR",
        targets="style base (ATR multiples of the style horizon: hourly intraday, daily swing) snapped to key levels",
        conditions=("adx_ge_25", "vwap_side", "volume_ge_median", "ema50_sloping"),
        invalidation="a close beyond the 50 EMA",
        armed="EMA stack aligned, ADX ≥ 20, closes above (below) the 50 EMA: waiting for the dip to the "
              "20 EMA and the bar that resumes",
        forming="EMA stack aligned with ADX < 20, or ADX ≥ 20 with the stack not (yet) aligned",
        armed_entry="dip pending: entry ≈ 20 EMA + 0.1·ATR (mirrored), stop 20 EMA − 0.2·ATR; dip done "
                    "(within the last 3 bars): entry max(this bar's high, 9 EMA), stop dip low − 0.2·ATR",
    )

    def _detect(self, f: Features, idx: np.ndarray) -> Signals:
        c, a, st = f.close[idx], f.atr[idx], f.stack[idx]
        e9, e20, e50 = f.ema9[idx], f.ema20[idx], f.ema50[idx]
        lo3 = row_min(f.window(f.low, idx, 3, end_lag=1))
        hi3 = row_max(f.window(f.high, idx, 3, end_lag=1))
        cmin3 = row_min(f.window(f.close, idx, 3, end_lag=1))
        cmax3 = row_max(f.window(f.close, idx, 3, end_lag=1))
        prev_hi, prev_lo = f.lag(f.high, idx, 1), f.lag(f.low, idx, 1)
        slope = e50 - f.lag(f.ema50, idx, 5)
        with np.errstate(invalid="ignore"):
            trend = f.adx[idx] >= 20
            long_ = trend & (st == 1) & (lo3 <= e20 + 0.1 * a) & (cmin3 > e50) & (c > prev_hi) & (c > e9)
            short = trend & (st == -1) & (hi3 >= e20 - 0.1 * a) & (cmax3 < e50) & (c < prev_lo) & (c < e9)
            d = side(long_, short)
            stop = pick(d, np.minimum(lo3, f.low[idx]) - 0.2 * a, np.maximum(hi3, f.high[idx]) + 0.2 * a)
            conds = [f.adx[idx] >= 25, np.sign(c - f.vwap[idx]) == d, volume_ok(f, idx), np.sign(slope) == d]
        return self._signals(idx, d != 0, d, c, stop, e50, conds, levels={"ema20": e20, "ema50": e50})

    def _arm(self, f: Features, idx: np.ndarray) -> Arming:
        c, a, st = f.close[idx], f.atr[idx], f.stack[idx]
        e9, e20, e50 = f.ema9[idx], f.ema20[idx], f.ema50[idx]
        lo3, hi3 = row_min(f.window(f.low, idx, 3)), row_max(f.window(f.high, idx, 3))
        cmin3, cmax3 = row_min(f.window(f.close, idx, 3)), row_max(f.window(f.close, idx, 3))
        slope = e50 - f.lag(f.ema50, idx, 5)
        with np.errstate(invalid="ignore"):
            trend = f.adx[idx] >= 20
            d = side(trend & (st == 1) & (cmin3 > e50), trend & (st == -1) & (cmax3 < e50))
            dipped_l, dipped_s = lo3 <= e20 + 0.1 * a, hi3 >= e20 - 0.1 * a
            trigger = pick(d, np.where(dipped_l, np.maximum(f.high[idx], e9), e20 + 0.1 * a),
                           np.where(dipped_s, np.minimum(f.low[idx], e9), e20 - 0.1 * a))
            stop = pick(d, np.where(dipped_l, lo3, e20) - 0.2 * a, np.where(dipped_s, hi3, e20) + 0.2 * a)
            conds = [f.adx[idx] >= 25, np.sign(c - f.vwap[idx]) == d, volume_ok(f, idx), np.sign(slope) == d]
            forming = ((st != 0) & ~trend) | (trend & (st == 0))
            why = explain("price closed beyond the 50 EMA against the stack",
                          ((st != 0) & ~trend, "EMA stack aligned but ADX < 20"),
                          (trend & (st == 0), "ADX ≥ 20 but the EMA stack is not aligned"),
                          (~trend, "no trend: EMA stack not aligned and ADX < 20"))
        return Arming(d, trigger, stop, e50.copy(), conds, forming & (d == 0), why,
                      ("a dip to the 20 EMA {level:.2f} (within 0.1·ATR), then a close above the previous "
                       "bar's high and the 9 EMA (≈ {trigger:.2f})",
                       "a rally to the 20 EMA {level:.2f} (within 0.1·ATR), then a close below the previous "
                       "bar's low and the 9 EMA (≈ {trigger:.2f})"), e20.copy())
