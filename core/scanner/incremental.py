"""What a live scanner carries from one bar close to the next so a rescan redoes only the new bar.

Every detector is causal: whether a playbook triggers at bar i depends on bars ≤ i only. So once a
symbol's bars up to i were scanned, the detections at those bars stay true as long as the next
series starts with exactly the same bars (timestamps and OHLCV, checked on every scan). A rescan
then runs the detectors only on the bars it has not seen — on a bar close, the one new bar — and
reads the older triggers of the live window from here (their plans come from the plan memo).

A symbol whose bars changed (a correction, another replay day, a cut history) loses its record and
is detected in full, so the report is the same as a scan from nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from core.market.bars import Bars

UNSEEN = -2   # detection record: bar not evaluated yet (else the direction: +1, -1, or 0 for none)


def extends(old: Bars, new: Bars) -> bool:
    """True when `new` starts with exactly the bars of `old` (same timestamps and OHLCV, bit for bit:
    a NaN equals the same NaN; -0.0 vs 0.0 counts as a change, which only costs a full detection)."""
    m = len(old)
    if len(new) < m:
        return False
    return all(getattr(old, c).tobytes() == getattr(new, c)[:m].tobytes()
               for c in ("ts", "close", "high", "low", "open", "volume"))


@dataclass
class DetectionRecord:
    """Per symbol: the bars last scanned, per bar and playbook the detected direction, and the
    per-bar session columns of the features (phase, session, minutes since the open)."""

    playbooks: tuple[str, ...]
    bars: dict[str, Bars] = field(default_factory=dict)
    dirs: dict[str, np.ndarray] = field(default_factory=dict)   # (bars, playbooks) int8, UNSEEN if not run
    calendar: dict[str, tuple[np.ndarray, ...]] = field(default_factory=dict)  # build_features' clock columns

    def frame(self, symbols: Sequence[str], series: Sequence[Bars]) -> np.ndarray:
        """The (bars, playbooks) record for a frame of these series in this order: a symbol whose
        new bars do not extend the recorded ones starts over (all UNSEEN)."""
        out = np.full((sum(len(b) for b in series), len(self.playbooks)), UNSEEN, dtype=np.int8)
        a = 0
        for sym, bars in zip(symbols, series, strict=True):
            old = self.bars.get(sym)
            rec = self.dirs.get(sym)
            if old is not None and rec is not None and extends(old, bars):
                out[a:a + len(rec)] = rec
            a += len(bars)
        return out

    def keep(self, symbols: Sequence[str], series: Sequence[Bars], starts: np.ndarray, ends: np.ndarray,
             record: np.ndarray) -> None:
        """Remember the frame's record after a scan."""
        for k, (sym, bars) in enumerate(zip(symbols, series, strict=True)):
            self.bars[sym] = bars
            self.dirs[sym] = record[int(starts[k]):int(ends[k])]

    def retain(self, symbols: Iterable[str]) -> None:
        """Forget symbols that left the watchlist."""
        want = set(symbols)
        for sym in [s for s in self.bars if s not in want]:
            self.bars.pop(sym, None)
            self.dirs.pop(sym, None)
        for sym in [s for s in self.calendar if s not in want]:
            self.calendar.pop(sym, None)
