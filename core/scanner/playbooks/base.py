"""What a playbook is: a declared spec and a vectorised, causal detector.

`detect(f, idx)` looks at the decision bars `idx` (array of bar indices in a Features frame) and
returns the rows where the setup triggers, with direction, entry, stop, optional structural
targets, the truth of each confidence condition and the key levels used. It reads only bars at or
before each decision bar.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from core.market.sessions import SessionPhase
from core.scanner.features import Features

MIN_BARS = 30  # bars of history before any detector runs (the seed's minimum)


@dataclass(frozen=True, slots=True)
class PlaybookSpec:
    """The declared contract of a playbook (shown to the trader and the GPT)."""

    name: str
    title: str
    phases: tuple[SessionPhase, ...]
    inputs: tuple[str, ...]
    trigger: str
    entry: str
    stop: str
    targets: str
    conditions: tuple[str, ...]       # names of the conditions behind the raw confidence
    invalidation: str
    min_bars: int = MIN_BARS

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "title": self.title, "phases": [p.label for p in self.phases],
                "inputs": list(self.inputs), "trigger": self.trigger, "entry": self.entry,
                "stop": self.stop, "targets": self.targets, "conditions": list(self.conditions),
                "invalidation": self.invalidation, "min_bars": self.min_bars}


@dataclass(frozen=True, slots=True)
class Signals:
    """Triggered decision bars of one playbook (all arrays have one entry per trigger)."""

    playbook: str
    idx: np.ndarray                  # bar index of the decision
    direction: np.ndarray            # +1 long, -1 short
    entry: np.ndarray
    stop: np.ndarray
    invalidation: np.ndarray         # price whose close beyond it voids the idea
    conditions: np.ndarray           # bool (k, len(spec.conditions))
    tp1: np.ndarray                  # structural target or NaN (then the style base is used)
    tp2: np.ndarray
    levels: dict[str, np.ndarray] = field(default_factory=dict)  # key levels used, by label
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.idx)


def _nan_like(k: int) -> np.ndarray:
    return np.full(k, np.nan)


class Playbook(ABC):
    spec: PlaybookSpec

    @property
    def name(self) -> str:
        return self.spec.name

    def eligible(self, f: Features, idx: np.ndarray) -> np.ndarray:
        """Decision bars in one of the playbook's phases, with enough history and a defined ATR."""
        phase_ok = np.isin(f.phase[idx], np.array([int(p) for p in self.spec.phases], dtype=np.uint8))
        return phase_ok & (f.bars_seen[idx] >= self.spec.min_bars) & np.isfinite(f.atr[idx])

    def detect(self, f: Features, idx: np.ndarray) -> Signals:
        idx = np.asarray(idx, dtype=np.int64)
        idx = idx[self.eligible(f, idx)]
        return self._detect(f, idx)

    @abstractmethod
    def _detect(self, f: Features, idx: np.ndarray) -> Signals:
        """Detector body on eligible decision bars."""

    def _signals(self, idx: np.ndarray, fire: np.ndarray, direction: np.ndarray, entry: np.ndarray,
                 stop: np.ndarray, invalidation: np.ndarray, conds: list[np.ndarray],
                 tp1: np.ndarray | None = None, tp2: np.ndarray | None = None,
                 levels: dict[str, np.ndarray] | None = None, notes: tuple[str, ...] = ()) -> Signals:
        """Select the firing rows; conditions are given in the order of spec.conditions."""
        if len(conds) != len(self.spec.conditions):
            raise ValueError(f"{self.name}: {len(conds)} conditions for {len(self.spec.conditions)} names")
        fire = fire & np.isfinite(entry) & np.isfinite(stop) & (direction != 0)
        k = int(fire.sum())
        cond = np.stack([np.asarray(c, dtype=bool) for c in conds], axis=1) if conds else np.zeros((len(idx), 0), bool)
        return Signals(
            playbook=self.name, idx=idx[fire], direction=direction[fire].astype(np.int8),
            entry=entry[fire], stop=stop[fire], invalidation=invalidation[fire],
            conditions=cond[fire],
            tp1=tp1[fire] if tp1 is not None else _nan_like(k),
            tp2=tp2[fire] if tp2 is not None else _nan_like(k),
            levels={name: v[fire] for name, v in (levels or {}).items()}, notes=notes,
        )


def tolerance(f: Features, idx: np.ndarray, atr_mult: float = 0.25, pct: float = 0.0015) -> np.ndarray:
    """The seed's retest tolerance: max(atr_mult·ATR, pct·price)."""
    return np.maximum(atr_mult * f.atr[idx], pct * f.close[idx])


def volume_ok(f: Features, idx: np.ndarray, mult: float = 1.0, w: int = 20) -> np.ndarray:
    """This bar's volume at least `mult` × the median of the last w bars (False without volume)."""
    med = np.nanmedian(f.window(f.volume, idx, w), axis=1) if len(idx) else np.empty(0)
    with np.errstate(invalid="ignore"):
        return (f.volume[idx] > 0) & (f.volume[idx] >= mult * med)


def side(cond_long: np.ndarray, cond_short: np.ndarray) -> np.ndarray:
    """+1 where only the long condition holds, -1 where only the short one does, else 0."""
    return cond_long.astype(np.int8) - cond_short.astype(np.int8)


def pick(direction: np.ndarray, long_value: np.ndarray, short_value: np.ndarray) -> np.ndarray:
    return np.where(direction > 0, long_value, short_value)


def row_min(a: np.ndarray) -> np.ndarray:
    """Row minimum ignoring NaN; NaN for rows with no value (no warning)."""
    m = np.min(np.where(np.isnan(a), np.inf, a), axis=1) if a.shape[1] else np.full(len(a), np.inf)
    return np.where(np.isinf(m), np.nan, m)


def row_max(a: np.ndarray) -> np.ndarray:
    m = np.max(np.where(np.isnan(a), -np.inf, a), axis=1) if a.shape[1] else np.full(len(a), -np.inf)
    return np.where(np.isinf(m), np.nan, m)


def bars_for(f: Features, minutes: int) -> int:
    """How many bars of this frame's interval cover `minutes` (at least 1)."""
    return max(1, minutes // max(1, f.interval.minutes))
