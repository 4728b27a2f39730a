"""Break and retest of a key level (prior day high, low or close): broken this session, retested
from the other side, held."""

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

LEVELS = ("pdh", "pdl", "pdc")  # in priority order


class BreakAndRetest(Playbook):
    spec = PlaybookSpec(
        name="break_and_retest", title="Break and retest of a key level",
        phases=(P.MORNING, P.MIDDAY, P.AFTERNOON),
        inputs=("prior day high/low/close", "today's open", "ATR14", "EMA 9/20/50", "ADX14", "volume"),
        trigger="the session opened on one side of the level, closed beyond it by 0.1·ATR in the hour "
                "before the retest, the last 3 bars came back within tol = max(0.25·ATR, 0.15%) of it "
                "without breaking it by more than tol, and this bar closes beyond the previous bar's "
                "extreme",
        entry="the trigger bar's close", stop="retest extreme ∓ 0.5·tol",
        targets="style base (ATR multiples of the style horizon: hourly intraday, daily swing) snapped to key levels",
        conditions=("ema_stack_aligned", "vwap_side", "volume_ge_median", "adx_ge_18"),
        invalidation="a close back through the level by more than tol",
        armed="a prior-day level (high, low, close) the session opened on one side of was closed beyond by "
              "0.1·ATR in the last hour and price still holds beyond it: waiting for the retest within tol and "
              "a close beyond the previous bar's extreme",
        forming="price within 1 ATR of a prior-day level it has not broken yet",
        armed_entry="retest pending: entry ≈ level + 0.5·tol, stop level − 0.5·tol; retest under way "
                    "(3-bar low within tol): entry this bar's high, stop retest low − 0.5·tol (mirrored)",
    )

    def _detect(self, f: Features, idx: np.ndarray) -> Signals:
        so, a = f.s_open[idx], f.atr[idx]
        w = RetestWindow.at(f, idx)
        c, tol = w.close, w.tol
        d = np.zeros(len(idx), dtype=np.int8)
        level = np.full(len(idx), np.nan)
        with np.errstate(invalid="ignore"):
            for name in LEVELS:
                lv = getattr(f, name)[idx]
                long_, short = w.held(lv, lv, (so < lv) & (w.cmax > lv + 0.1 * a), (so > lv) & (w.cmin < lv - 0.1 * a))
                dd = side(long_, short)
                new = (d == 0) & (dd != 0)
                d[new], level[new] = dd[new], lv[new]
            stop = pick(d, w.lo3 - 0.5 * tol, w.hi3 + 0.5 * tol)
            conds = [f.stack[idx] == d, np.sign(c - f.vwap[idx]) == d, volume_ok(f, idx), f.adx[idx] >= 18]
        return self._signals(idx, d != 0, d, c, stop, level - d * tol, conds, levels={"level": level})

    def _arm(self, f: Features, idx: np.ndarray) -> Arming:
        c, so, hi, lo = f.close[idx], f.s_open[idx], f.high[idx], f.low[idx]
        tol = tolerance(f, idx)
        a = f.atr[idx]
        lo3, hi3 = row_min(f.session_window(f.low, idx, 3)), row_max(f.session_window(f.high, idx, 3))
        hour = bars_for(f, 60)
        cmax = row_max(f.session_window(f.close, idx, hour))
        cmin = row_min(f.session_window(f.close, idx, hour))
        d = np.zeros(len(idx), dtype=np.int8)
        level = np.full(len(idx), np.nan)
        near = np.zeros(len(idx), dtype=bool)
        with np.errstate(invalid="ignore"):
            for name in LEVELS:
                lv = getattr(f, name)[idx]
                dd = side((so < lv) & (cmax > lv + 0.1 * a) & (c > lv) & (lo3 >= lv - tol),
                          (so > lv) & (cmin < lv - 0.1 * a) & (c < lv) & (hi3 <= lv + tol))
                new = (d == 0) & (dd != 0)
                d[new], level[new] = dd[new], lv[new]
                near |= np.abs(c - lv) <= a
            in_l, in_s = lo3 <= level + tol, hi3 >= level - tol
            trigger = pick(d, np.where(in_l, np.maximum(hi, level), level + 0.5 * tol),
                           np.where(in_s, np.minimum(lo, level), level - 0.5 * tol))
            stop = pick(d, np.where(in_l, lo3, level) - 0.5 * tol, np.where(in_s, hi3, level) + 0.5 * tol)
            conds = [f.stack[idx] == d, np.sign(c - f.vwap[idx]) == d, volume_ok(f, idx), f.adx[idx] >= 18]
            why = explain("no prior-day level broken this session and none within 1 ATR",
                          (~np.isfinite(f.pdh[idx]) | ~np.isfinite(so), "no prior session or open in the data"),
                          (near, "near a prior-day level that has not broken by 0.1·ATR"))
        return Arming(d, trigger, stop, level - d * tol, conds, near & (d == 0), why,
                      ("a retest of the broken level {level:.2f} (within tol) that holds, then a close above "
                       "the previous bar's high (≈ {trigger:.2f})",
                       "a retest of the broken level {level:.2f} (within tol) that holds, then a close below "
                       "the previous bar's low (≈ {trigger:.2f})"), level)
