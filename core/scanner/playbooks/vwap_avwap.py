"""VWAP / anchored-VWAP cluster: anchored VWAPs from today's open and the prior session's high and
low bars agree within a small spread; price tests the cluster and bounces with the trend."""

from __future__ import annotations

import numpy as np

from core.market.sessions import SessionPhase as P
from core.scanner.features import Features
from core.scanner.playbooks.base import Playbook, PlaybookSpec, Signals, pick, row_max, row_min, side, volume_ok


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
