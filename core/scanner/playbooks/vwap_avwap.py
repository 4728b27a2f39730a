"""VWAP / anchored-VWAP cluster: anchored VWAPs from today's open and the prior session's high and
low bars agree within a small spread; price tests the cluster and bounces with the trend."""

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


class VwapAvwapCluster(Playbook):
    spec = PlaybookSpec(
        name="vwap_avwap", title="VWAP / anchored-VWAP cluster bounce",
        phases=(P.MORNING, P.MIDDAY, P.AFTERNOON),
        inputs=("session VWAP", "AVWAP from today's open", "AVWAP from prior high bar",
                "AVWAP from prior low bar", "ATR14", "EMA 9/20/50"),
        trigger="≥ 2 anchored VWAPs within spread ≤ max(0.2·ATR, 0.1% price); the bar tags the cluster "
                "(within tol) and closes beyond it on the VWAP side",
        entry="the trigger bar's close", stop="far side of the cluster − tol (tol = max(0.2·ATR, 0.1%))",
        targets="style base (ATR multiples of the style horizon: hourly intraday, daily swing) snapped to key levels",
        conditions=("ema_stack_aligned", "three_anchors_in_cluster", "volume_ge_median", "adx_ge_18"),
        invalidation="a close through the far side of the cluster",
        armed="≥ 2 anchored VWAPs in a tight cluster and the close beyond it on the VWAP side: waiting for "
              "a bar to tag the cluster and close beyond it",
        forming="≥ 2 anchored VWAPs known but spread wider than tol, or price inside the cluster",
        armed_entry="entry ≈ the cluster edge ± 0.5·tol, stop the far side ∓ tol",
    )

    def _detect(self, f: Features, idx: np.ndarray) -> Signals:
        c, lo, hi, vw = f.close[idx], f.low[idx], f.high[idx], f.vwap[idx]
        av = f.avwaps(idx)
        lines = np.stack([av["avwap_open"], av["avwap_pdh"], av["avwap_pdl"]], axis=1)
        count = np.isfinite(lines).sum(axis=1)
        c_lo, c_hi = row_min(lines), row_max(lines)
        tol = np.maximum(0.2 * f.atr[idx], 0.001 * c)
        with np.errstate(invalid="ignore"):
            tight = (count >= 2) & (c_hi - c_lo <= tol)
            long_ = tight & (lo <= c_hi + tol) & (c > c_hi) & (c > vw) & (c > f.open[idx])
            short = tight & (hi >= c_lo - tol) & (c < c_lo) & (c < vw) & (c < f.open[idx])
            d = side(long_, short)
            stop = pick(d, c_lo - tol, c_hi + tol)
            conds = [f.stack[idx] == d, count == 3, volume_ok(f, idx), f.adx[idx] >= 18]
        return self._signals(idx, d != 0, d, c, stop, pick(d, c_lo, c_hi), conds,
                             levels={"vwap": vw, **av})

    def _arm(self, f: Features, idx: np.ndarray) -> Arming:
        c, vw = f.close[idx], f.vwap[idx]
        av = f.avwaps(idx)
        lines = np.stack([av["avwap_open"], av["avwap_pdh"], av["avwap_pdl"]], axis=1)
        count = np.isfinite(lines).sum(axis=1)
        c_lo, c_hi = row_min(lines), row_max(lines)
        tol = np.maximum(0.2 * f.atr[idx], 0.001 * c)
        with np.errstate(invalid="ignore"):
            tight = (count >= 2) & (c_hi - c_lo <= tol)
            d = side(tight & (c > c_hi) & (c > vw), tight & (c < c_lo) & (c < vw))
            trigger = pick(d, c_hi + 0.5 * tol, c_lo - 0.5 * tol)
            stop = pick(d, c_lo - tol, c_hi + tol)
            conds = [f.stack[idx] == d, count == 3, volume_ok(f, idx), f.adx[idx] >= 18]
            why = explain("price beyond the cluster against the VWAP side",
                          (count < 2, "fewer than two anchored VWAPs (no prior session or volume)"),
                          (~tight, "anchored VWAPs spread wider than tol"),
                          ((c >= c_lo) & (c <= c_hi), "price inside the cluster"))
        return Arming(d, trigger, stop, pick(d, c_lo, c_hi), conds, (count >= 2) & (d == 0), why,
                      ("a dip to the AVWAP cluster {level:.2f} (within tol) and a close above it (≈ {trigger:.2f})",
                       "a rally to the AVWAP cluster {level:.2f} (within tol) and a close below it (≈ {trigger:.2f})"),
                      pick(d, c_hi, c_lo))
