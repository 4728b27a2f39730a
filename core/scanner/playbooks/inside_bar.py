"""Inside-bar breakout: a bar inside its mother bar, then a close beyond the mother bar with the trend."""

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
    volume_ok,
)


class InsideBarBreakout(Playbook):
    spec = PlaybookSpec(
        name="inside_bar_breakout", title="Inside-bar breakout",
        phases=(P.MORNING, P.MIDDAY, P.AFTERNOON),
        inputs=("last three bars", "ATR14", "EMA 9/20/50", "session VWAP", "volume"),
        trigger="bar i−1 inside bar i−2 (high ≤, low ≥, range ≤ 70% of it); bar i closes beyond the mother "
                "bar's high (long, EMA stack not bearish) or low (short, stack not bullish)",
        entry="the trigger bar's close", stop="the inside bar's low (high) ∓ 0.05·ATR",
        targets="style base (ATR multiples of the style horizon: hourly intraday, daily swing) snapped to key levels",
        conditions=("ema_stack_aligned", "vwap_side", "volume_ge_median", "mother_bar_ge_atr"),
        invalidation="a close back inside the mother bar",
        armed="this bar is inside the previous one (high ≤, low ≥, range ≤ 70%): waiting for a close beyond "
              "the mother bar's high (EMA stack not bearish) or low (stack not bullish)",
        forming="—",
        armed_entry="entry ≈ the mother bar's high (low), stop this bar's low (high) ∓ 0.05·ATR",
    )

    def _detect(self, f: Features, idx: np.ndarray) -> Signals:
        c, a, st = f.close[idx], f.atr[idx], f.stack[idx]
        h1, l1 = f.lag(f.high, idx, 1), f.lag(f.low, idx, 1)
        h2, l2 = f.lag(f.high, idx, 2), f.lag(f.low, idx, 2)
        with np.errstate(invalid="ignore"):
            inside = (h1 <= h2) & (l1 >= l2) & ((h1 - l1) <= 0.7 * (h2 - l2)) & (h2 > l2)
            long_ = inside & (c > h2) & (st >= 0)
            short = inside & (c < l2) & (st <= 0)
            d = side(long_, short)
            stop = pick(d, l1 - 0.05 * a, h1 + 0.05 * a)
            conds = [st == d, np.sign(c - f.vwap[idx]) == d, volume_ok(f, idx), (h2 - l2) >= a]
        return self._signals(idx, d != 0, d, c, stop, pick(d, l2, h2), conds,
                             levels={"mother_high": h2, "mother_low": l2})

    def _arm(self, f: Features, idx: np.ndarray) -> Arming:
        c, a, st, h, lo = f.close[idx], f.atr[idx], f.stack[idx], f.high[idx], f.low[idx]
        h1, l1 = f.lag(f.high, idx, 1), f.lag(f.low, idx, 1)
        with np.errstate(invalid="ignore"):
            inside = (h <= h1) & (lo >= l1) & ((h - lo) <= 0.7 * (h1 - l1)) & (h1 > l1)
            up = np.where(st != 0, st > 0, (h1 - c) <= (c - l1))
            d = side(inside & up, inside & ~up)
            stop = pick(d, lo - 0.05 * a, h + 0.05 * a)
            conds = [st == d, np.sign(c - f.vwap[idx]) == d, volume_ok(f, idx), (h1 - l1) >= a]
            why = explain("this bar is not inside the previous one", (~np.isfinite(h1), "no previous bar"))
        return Arming(d, pick(d, h1, l1), stop, pick(d, l1, h1), conds, np.zeros(len(idx), dtype=bool), why,
                      ("a close above the mother bar's high {trigger:.2f}", "a close below the mother bar's low "
                       "{trigger:.2f}"), pick(d, h1, l1))
