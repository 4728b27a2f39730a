"""Inside-day breakout: yesterday's range sat inside the day before's; today closes beyond it."""

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
    tolerance,
    volume_ok,
)


class InsideDayBreakout(Playbook):
    spec = PlaybookSpec(
        name="inside_day_breakout", title="Inside-day breakout",
        phases=(P.OPEN_DRIVE, P.MORNING, P.MIDDAY, P.AFTERNOON),
        inputs=("prior two regular sessions' high/low", "ATR14", "EMA 9/20/50", "session VWAP", "volume"),
        trigger="prior session inside the one before (high ≤, low ≥); the first close above the prior "
                "high (long) or below the prior low (short)",
        entry="the trigger bar's close", stop="the broken level ∓ tol (max(0.25·ATR, 0.15%)) or the bar's "
                                               "extreme, whichever is farther",
        targets="style base (ATR multiples of the style horizon: hourly intraday, daily swing) snapped to key levels",
        conditions=("ema_stack_aligned", "vwap_side", "volume_ge_median", "narrow_inside_day"),
        invalidation="a close back inside the prior day's range",
        armed="prior session inside the one before and price still inside the prior range: waiting for the "
              "first close beyond the prior high (low) — the nearer side, or the EMA-stack side",
        forming="—",
        armed_entry="entry ≈ the prior high (low), stop that level ∓ tol",
    )

    def _detect(self, f: Features, idx: np.ndarray) -> Signals:
        c, pdh, pdl = f.close[idx], f.pdh[idx], f.pdl[idx]
        ppdh, ppdl = f.ppdh[idx], f.ppdl[idx]
        prev_c = f.lag(f.close, idx, 1)
        tol = tolerance(f, idx)
        with np.errstate(invalid="ignore"):
            inside = (pdh <= ppdh) & (pdl >= ppdl)
            long_ = inside & (c > pdh) & (prev_c <= pdh)
            short = inside & (c < pdl) & (prev_c >= pdl)
            d = side(long_, short)
            stop = pick(d, np.minimum(pdh - tol, f.low[idx]), np.maximum(pdl + tol, f.high[idx]))
            conds = [f.stack[idx] == d, np.sign(c - f.vwap[idx]) == d, volume_ok(f, idx),
                     (pdh - pdl) <= 0.7 * (ppdh - ppdl)]
        return self._signals(idx, d != 0, d, c, stop, pick(d, pdh, pdl), conds,
                             levels={"pdh": pdh, "pdl": pdl})

    def _arm(self, f: Features, idx: np.ndarray) -> Arming:
        c, pdh, pdl = f.close[idx], f.pdh[idx], f.pdl[idx]
        ppdh, ppdl = f.ppdh[idx], f.ppdl[idx]
        tol = tolerance(f, idx)
        st = f.stack[idx]
        with np.errstate(invalid="ignore"):
            inside = (pdh <= ppdh) & (pdl >= ppdl)
            within = inside & (c <= pdh) & (c >= pdl)
            up = np.where(st != 0, st > 0, (pdh - c) <= (c - pdl))
            d = side(within & up, within & ~up)
            trigger = pick(d, pdh, pdl)
            stop = pick(d, pdh - tol, pdl + tol)
            conds = [st == d, np.sign(c - f.vwap[idx]) == d, volume_ok(f, idx),
                     (pdh - pdl) <= 0.7 * (ppdh - ppdl)]
            why = explain("price already beyond the prior day's range",
                          (~np.isfinite(ppdh), "fewer than two prior sessions in the data"),
                          (~inside, "prior session not inside the one before"))
        return Arming(d, trigger, stop, pick(d, pdh, pdl), conds, np.zeros(len(idx), dtype=bool), why,
                      ("a close above the prior day's high {trigger:.2f} (inside day)",
                       "a close below the prior day's low {trigger:.2f} (inside day)"), trigger.copy())
