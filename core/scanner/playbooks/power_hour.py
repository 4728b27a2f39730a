"""Power-hour trend: in the last hour a stacked trend on the right side of VWAP presses new highs."""

from __future__ import annotations

import numpy as np

from core.market.sessions import SessionPhase as P
from core.scanner.features import Features
from core.scanner.playbooks.base import Playbook, PlaybookSpec, Signals, pick, row_max, row_min, side, volume_ok


class PowerHourTrend(Playbook):
    spec = PlaybookSpec(
        name="power_hour_trend", title="Power-hour trend",
        phases=(P.POWER_HOUR,),
        inputs=("session VWAP", "EMA 9/20/50", "ATR14", "ADX14", "30-bar high/low", "volume"),
        trigger="power hour, close beyond VWAP with the EMA stack aligned and the close within 0.05·ATR "
                "of the 30-bar high (low)",
        entry="the trigger bar's close", stop="10-bar low (high) ∓ 0.25·ATR",
        targets="style base (ATR multiples of the style horizon: hourly intraday, daily swing) snapped to key levels",
        conditions=("adx_ge_20", "volume_ge_median", "beyond_session_open", "new_session_extreme"),
        invalidation="a close back across VWAP",
    )

    def _detect(self, f: Features, idx: np.ndarray) -> Signals:
        c, vw, a = f.close[idx], f.vwap[idx], f.atr[idx]
        hi30, lo30 = row_max(f.window(f.high, idx, 30)), row_min(f.window(f.low, idx, 30))
        hi10, lo10 = row_max(f.window(f.high, idx, 10)), row_min(f.window(f.low, idx, 10))
        with np.errstate(invalid="ignore"):
            long_ = (c > vw) & (f.stack[idx] == 1) & (c >= hi30 - 0.05 * a)
            short = (c < vw) & (f.stack[idx] == -1) & (c <= lo30 + 0.05 * a)
            d = side(long_, short)
            stop = pick(d, lo10 - 0.25 * a, hi10 + 0.25 * a)
            conds = [f.adx[idx] >= 20, volume_ok(f, idx), np.sign(c - f.s_open[idx]) == d,
                     pick(d, f.high[idx] >= f.s_high[idx], f.low[idx] <= f.s_low[idx])]
        return self._signals(idx, d != 0, d, c, stop, vw, conds, levels={"vwap": vw})
