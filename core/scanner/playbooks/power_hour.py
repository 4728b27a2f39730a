"""Power-hour trend: in the last hour a stacked trend on the right side of VWAP presses new highs.

Reworked stop (issue 10): the seed's 10-bar low − 0.25·ATR sat so far from the entry that the
hourly-ATR target almost never paid 1.5 R (3 plans out of 144 triggers on SPY 2018–2020). The stop
now sits under the low of the trigger bar and the bar before, less 0.1·ATR: in the last hour a
trend that gives back its last two bars is not pressing anymore. Measured on SPY 5-min 2018–2020:
67 of 123 triggers pass the R:R gate (was 3 of 144). Evidence: docs/scanner-evaluation.md.
"""

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

STOP_BARS = 2       # the stop sits under the low (over the high) of this bar and the previous one
STOP_ATR = 0.1      # less 0.1·ATR


def trend_stop(f: Features, idx: np.ndarray, d: np.ndarray) -> np.ndarray:
    """2-bar low − 0.1·ATR for longs, mirrored for shorts."""
    a = f.atr[idx]
    lo = row_min(f.window(f.low, idx, STOP_BARS))
    hi = row_max(f.window(f.high, idx, STOP_BARS))
    return pick(d, lo - STOP_ATR * a, hi + STOP_ATR * a)


class PowerHourTrend(Playbook):
    spec = PlaybookSpec(
        name="power_hour_trend", title="Power-hour trend",
        phases=(P.POWER_HOUR,),
        inputs=("session VWAP", "EMA 9/20/50", "ATR14", "ADX14", "30-bar high/low", "volume"),
        trigger="power hour, close beyond VWAP with the EMA stack aligned and the close within 0.05·ATR "
                "of the 30-bar high (low)",
        entry="the trigger bar's close",
        stop="low of the trigger bar and the bar before − 0.1·ATR (mirrored for shorts)",
        targets="style base (ATR multiples of the style horizon: hourly intraday, daily swing) snapped to key levels",
        conditions=("adx_ge_20", "volume_ge_median", "beyond_session_open", "new_session_extreme"),
        invalidation="a close back across VWAP",
        armed="power hour, EMA stack aligned and the close beyond VWAP: waiting for a close within "
              "0.05·ATR of the 30-bar high (low)",
        forming="power hour and beyond VWAP without the EMA stack, or the stack on the wrong side of VWAP",
        armed_entry="entry ≈ the 30-bar high − 0.05·ATR (mirrored), stop the 2-bar low − 0.1·ATR",
    )

    def _detect(self, f: Features, idx: np.ndarray) -> Signals:
        c, vw, a = f.close[idx], f.vwap[idx], f.atr[idx]
        hi30, lo30 = row_max(f.window(f.high, idx, 30)), row_min(f.window(f.low, idx, 30))
        with np.errstate(invalid="ignore"):
            long_ = (c > vw) & (f.stack[idx] == 1) & (c >= hi30 - 0.05 * a)
            short = (c < vw) & (f.stack[idx] == -1) & (c <= lo30 + 0.05 * a)
            d = side(long_, short)
            stop = trend_stop(f, idx, d)
            conds = [f.adx[idx] >= 20, volume_ok(f, idx), np.sign(c - f.s_open[idx]) == d,
                     pick(d, f.high[idx] >= f.s_high[idx], f.low[idx] <= f.s_low[idx])]
        return self._signals(idx, d != 0, d, c, stop, vw, conds, levels={"vwap": vw})

    def _arm(self, f: Features, idx: np.ndarray) -> Arming:
        c, vw, a, st = f.close[idx], f.vwap[idx], f.atr[idx], f.stack[idx]
        hi30, lo30 = row_max(f.window(f.high, idx, 30)), row_min(f.window(f.low, idx, 30))
        with np.errstate(invalid="ignore"):
            d = side((c > vw) & (st == 1), (c < vw) & (st == -1))
            trigger = pick(d, hi30 - 0.05 * a, lo30 + 0.05 * a)
            conds = [f.adx[idx] >= 20, volume_ok(f, idx), np.sign(c - f.s_open[idx]) == d,
                     np.zeros(len(idx), dtype=bool)]
            forming = np.isfinite(vw) & (d == 0) & (np.abs(c - vw) > 0)
            why = explain("EMA stack not aligned with the VWAP side", (~np.isfinite(vw), "no session VWAP"))
        return Arming(d, trigger, trend_stop(f, idx, d), vw.copy(), conds, forming, why,
                      ("a close at the 30-bar high (≥ {trigger:.2f}) above VWAP {level:.2f}",
                       "a close at the 30-bar low (≤ {trigger:.2f}) below VWAP {level:.2f}"), vw.copy())
