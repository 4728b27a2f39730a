"""Gap fill at the open: a real gap (≥ max(0.3·daily ATR, 0.3%)) that trades back through the open
is faded toward the prior close."""

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


class GapFillOpen(Playbook):
    spec = PlaybookSpec(
        name="gap_fill_open", title="Gap fill at the open",
        phases=(P.OPEN_DRIVE, P.MORNING),
        inputs=("prior regular close", "today's open", "daily ATR14", "ATR14", "session VWAP", "volume"),
        trigger="|open − prior close| ≥ max(0.3·daily ATR, 0.3% price) and, in the first hour, the first "
                "close back through the open (gap up → short, gap down → long), gap not yet filled",
        entry="the trigger bar's close", stop="max(open + 0.25·ATR, 3-bar high) for shorts (mirrored)",
        targets="TP1 the prior close (gap fill), TP2 0.6·ATR beyond it",
        conditions=("gap_ge_0.5pct", "volume_ge_median", "vwap_side", "gap_le_1.5_daily_atr"),
        invalidation="a close back beyond the open ± 0.25·ATR",
        armed="a real gap, first hour, gap not filled and price still on the gap side of the open: "
              "waiting for the first close back through the open",
        forming="a real gap in the first hour that already trades through the open (plan triggered earlier)",
        armed_entry="entry ≈ the open, stop max(open + 0.25·ATR, 3-bar high) for shorts (mirrored)",
    )

    def _detect(self, f: Features, idx: np.ndarray) -> Signals:
        c, so, pdc, a = f.close[idx], f.s_open[idx], f.pdc[idx], f.atr[idx]
        gap = so - pdc
        atr_d = np.where(np.isfinite(f.atr_d[idx]), f.atr_d[idx], 0.0)
        prev_c = f.lag(f.close, idx, 1)
        with np.errstate(invalid="ignore"):
            big = np.abs(gap) >= np.maximum(0.3 * atr_d, 0.003 * so)
            first_hour = f.mos[idx] < 60
            short = big & first_hour & (gap > 0) & (c < so) & (prev_c >= so) & (c > pdc)
            long_ = big & first_hour & (gap < 0) & (c > so) & (prev_c <= so) & (c < pdc)
            d = side(long_, short)
            hi3 = row_max(f.session_window(f.high, idx, 3))
            lo3 = row_min(f.session_window(f.low, idx, 3))
            stop = pick(d, np.minimum(so - 0.25 * a, lo3), np.maximum(so + 0.25 * a, hi3))
            conds = [np.abs(gap) >= 0.005 * so, volume_ok(f, idx), np.sign(c - f.vwap[idx]) == d,
                     (atr_d > 0) & (np.abs(gap) <= 1.5 * atr_d)]
        tp1 = pdc
        tp2 = pdc + d * 0.6 * a
        return self._signals(idx, d != 0, d, c, stop, pick(d, so - 0.25 * a, so + 0.25 * a), conds,
                             tp1=tp1, tp2=tp2, levels={"gap_fill": pdc, "open": so})

    def _arm(self, f: Features, idx: np.ndarray) -> Arming:
        c, so, pdc, a = f.close[idx], f.s_open[idx], f.pdc[idx], f.atr[idx]
        gap = so - pdc
        atr_d = np.where(np.isfinite(f.atr_d[idx]), f.atr_d[idx], 0.0)
        with np.errstate(invalid="ignore"):
            big = np.abs(gap) >= np.maximum(0.3 * atr_d, 0.003 * so)
            first_hour = f.mos[idx] < 60
            unfilled = np.where(gap > 0, f.s_low[idx] > pdc, f.s_high[idx] < pdc)
            live = big & first_hour & unfilled
            d = side(live & (gap < 0) & (c <= so), live & (gap > 0) & (c >= so))
            hi3 = row_max(f.session_window(f.high, idx, 3))
            lo3 = row_min(f.session_window(f.low, idx, 3))
            stop = pick(d, np.minimum(so - 0.25 * a, lo3), np.maximum(so + 0.25 * a, hi3))
            conds = [np.abs(gap) >= 0.005 * so, volume_ok(f, idx), np.sign(c - f.vwap[idx]) == d,
                     (atr_d > 0) & (np.abs(gap) <= 1.5 * atr_d)]
            why = explain("price already through the open",
                          (~np.isfinite(gap), "no prior close or today's open in the data"),
                          (~big, "no gap: |open − prior close| below max(0.3·daily ATR, 0.3%)"),
                          (~first_hour, "the first hour is over"),
                          (~unfilled, "gap already filled"))
        return Arming(d, so.copy(), stop, pick(d, so - 0.25 * a, so + 0.25 * a), conds,
                      live & (d == 0), why,
                      ("a close back above the open {level:.2f} (gap down fill toward the prior close)",
                       "a close back below the open {level:.2f} (gap up fill toward the prior close)"),
                      so.copy(), tp1=pdc.copy(), tp2=pdc + d * 0.6 * a)
