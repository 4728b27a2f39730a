"""Opening-range breakout retest: the OR (09:30–09:45) breaks, price comes back to it, holds, goes."""

from __future__ import annotations

import numpy as np

from core.market.sessions import SessionPhase as P
from core.scanner.features import Features
from core.scanner.playbooks.base import (
    Arming,
    Playbook,
    PlaybookSpec,
    Signals,
    bars_for,
    explain,
    pick,
    row_max,
    row_min,
    side,
    tolerance,
    volume_ok,
)
from core.scanner.playbooks.retest import RetestWindow


class OrbRetest(Playbook):
    spec = PlaybookSpec(
        name="orb_retest", title="Opening-range breakout retest",
        phases=(P.OPEN_DRIVE, P.MORNING, P.MIDDAY),
        inputs=("opening range 09:30–09:45", "ATR14", "EMA 9/20/50", "ADX14", "volume", "session VWAP"),
        trigger="a close beyond the OR high (low) after the breakout came back within "
                "tol = max(0.25·ATR, 0.15% price) of it in the last 3 bars, on a bar closing beyond the "
                "previous bar's high (low)",
        entry="the trigger bar's close", stop="retest extreme − 0.5·tol",
        targets="style base (ATR multiples of the style horizon: hourly intraday, daily swing) snapped to key levels",
        conditions=("ema_stack_aligned", "adx_ge_18", "volume_ge_median", "vwap_side"),
        invalidation="a close back inside the opening range",
        armed="the OR broke by tol this session and price holds beyond it: waiting for the pullback to "
              "the OR high (low) within tol and a close beyond the previous bar's high (low)",
        forming="the opening range is complete but has not broken by tol (or the close is back inside)",
        armed_entry="pullback pending: entry ≈ OR high + 0.5·tol, stop OR high − 0.5·tol; retest under way "
                    "(low of the last 3 bars within tol): entry this bar's high, stop retest low − 0.5·tol",
    )

    def _detect(self, f: Features, idx: np.ndarray) -> Signals:
        orh, orl = f.orh[idx], f.orl[idx]
        w = RetestWindow.at(f, idx)
        c, tol = w.close, w.tol
        with np.errstate(invalid="ignore"):
            long_, short = w.held(orh, orl, w.cmax > orh + tol, w.cmin < orl - tol)
            d = side(long_, short)
            stop = pick(d, w.lo3 - 0.5 * tol, w.hi3 + 0.5 * tol)
            conds = [f.stack[idx] == d, f.adx[idx] >= 18, volume_ok(f, idx), np.sign(c - f.vwap[idx]) == d]
        return self._signals(idx, d != 0, d, c, stop, pick(d, orh, orl), conds,
                             levels={"orh": orh, "orl": orl})

    def _arm(self, f: Features, idx: np.ndarray) -> Arming:
        c, orh, orl, hi, lo = f.close[idx], f.orh[idx], f.orl[idx], f.high[idx], f.low[idx]
        tol = tolerance(f, idx)
        hour = bars_for(f, 60)
        cmax = row_max(f.session_window(f.close, idx, hour))
        cmin = row_min(f.session_window(f.close, idx, hour))
        lo3, hi3 = row_min(f.session_window(f.low, idx, 3)), row_max(f.session_window(f.high, idx, 3))
        with np.errstate(invalid="ignore"):
            have = np.isfinite(orh) & np.isfinite(orl)
            d = side(have & (cmax > orh + tol) & (c > orh), have & (cmin < orl - tol) & (c < orl))
            in_long, in_short = lo3 <= orh + tol, hi3 >= orl - tol
            trigger = pick(d, np.where(in_long, np.maximum(hi, orh), orh + 0.5 * tol),
                           np.where(in_short, np.minimum(lo, orl), orl - 0.5 * tol))
            stop = pick(d, np.where(in_long, lo3, orh) - 0.5 * tol, np.where(in_short, hi3, orl) + 0.5 * tol)
            conds = [f.stack[idx] == d, f.adx[idx] >= 18, volume_ok(f, idx), np.sign(c - f.vwap[idx]) == d]
            why = explain("no breakout of the opening range by tol yet",
                          (~have, "opening range not known (before 09:45 or the session's first bars missing)"),
                          ((c > orh) | (c < orl), "beyond the opening range but not by tol on a close"))
        return Arming(d, trigger, stop, pick(d, orh, orl), conds, have & (d == 0), why,
                      ("pullback to the OR high {level:.2f} (within tol) that holds, then a close above the "
                       "previous bar's high (≈ {trigger:.2f})",
                       "pullback to the OR low {level:.2f} (within tol) that holds, then a close below the "
                       "previous bar's low (≈ {trigger:.2f})"), pick(d, orh, orl))
