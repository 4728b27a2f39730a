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
_PHASE_TABLES: dict[tuple[SessionPhase, ...], np.ndarray] = {}
_LABELS = np.array([SessionPhase(c).label for c in range(8)], dtype=object)
_PHASE_WHY: dict[tuple[SessionPhase, ...], np.ndarray] = {}


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
    armed: str = ""                   # when the setup is armed: structure in place, trigger known
    forming: str = ""                 # what "part of the structure" means for this playbook
    armed_entry: str = ""             # how the would-be entry and stop of an armed setup are set
    min_bars: int = MIN_BARS

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "title": self.title, "phases": [p.label for p in self.phases],
                "inputs": list(self.inputs), "trigger": self.trigger, "entry": self.entry,
                "stop": self.stop, "targets": self.targets, "conditions": list(self.conditions),
                "invalidation": self.invalidation, "armed": self.armed, "forming": self.forming,
                "armed_entry": self.armed_entry, "min_bars": self.min_bars}


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


NONE, FORMING, ARMED = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Arming:
    """What a playbook's `_arm` returns for its eligible decision bars (one entry per row).

    `direction` ≠ 0 marks an armed row: the structure is in place and the next bars only need the
    trigger. `trigger` is the price the trigger needs (the would-be entry), `stop` the would-be stop
    if it triggered there. `forming` rows have part of the structure; `why` says what is missing
    (forming) or why there is nothing (neither). `templates` (long, short) describe the trigger in
    words; they may use {trigger} and {level} (the structure's level, e.g. the OR high).
    """

    direction: np.ndarray
    trigger: np.ndarray
    stop: np.ndarray
    invalidation: np.ndarray
    conditions: list[np.ndarray]
    forming: np.ndarray
    why: np.ndarray
    templates: tuple[str, str]
    level: np.ndarray
    tp1: np.ndarray | None = None
    tp2: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class Setups:
    """State of one playbook at every decision bar it was asked about (short of a trigger)."""

    playbook: str
    idx: np.ndarray
    state: np.ndarray                # NONE / FORMING / ARMED
    direction: np.ndarray            # +1 / -1 (0 where unknown)
    trigger: np.ndarray
    stop: np.ndarray
    invalidation: np.ndarray
    conditions: np.ndarray           # bool (n, len(spec.conditions))
    tp1: np.ndarray
    tp2: np.ndarray
    why: np.ndarray                  # str: missing part (forming) or reason (none)
    words: np.ndarray                # str: template of the trigger in words (armed)
    level: np.ndarray

    def describe(self, row: int) -> str:
        """The trigger condition of an armed row in words, with its prices."""
        return str(self.words[row]).format(trigger=float(self.trigger[row]), level=float(self.level[row]))

    def signals(self, rows: np.ndarray) -> Signals:
        """The armed rows as would-be Signals (entry = the trigger price) for `build_plan`."""
        return Signals(self.playbook, self.idx[rows], self.direction[rows].astype(np.int8),
                       self.trigger[rows], self.stop[rows], self.invalidation[rows],
                       self.conditions[rows], self.tp1[rows], self.tp2[rows])


def explain(default: str, *pairs: tuple[np.ndarray, str]) -> np.ndarray:
    """Per row, the message of the first true condition (pairs in priority order), else default."""
    if not pairs:
        raise ValueError("explain needs at least one condition")
    n = len(pairs[0][0])
    if not n:
        return np.empty(0, dtype=object)
    # The number of the first true condition per row (len(pairs): none), then one gather of the
    # messages: np.select's result, without its per-call cost (every playbook explains every scan).
    first = np.full(n, len(pairs), dtype=np.int64)
    for k in range(len(pairs) - 1, -1, -1):
        first[np.broadcast_to(np.asarray(pairs[k][0], dtype=bool), (n,))] = k
    return np.array([*(m for _, m in pairs), default], dtype=object)[first]


def _nan_like(k: int) -> np.ndarray:
    return np.full(k, np.nan)


class Playbook(ABC):
    spec: PlaybookSpec

    @property
    def name(self) -> str:
        return self.spec.name

    def eligible(self, f: Features, idx: np.ndarray) -> np.ndarray:
        """Decision bars in one of the playbook's phases, with enough history and a defined ATR."""
        phase_ok = self._phase_table()[f.phase[idx]]
        return phase_ok & (f.bars_seen[idx] >= self.spec.min_bars) & np.isfinite(f.atr[idx])

    def _phase_table(self) -> np.ndarray:
        """True at the SessionPhase codes the playbook runs in (a lookup instead of np.isin per call)."""
        table = _PHASE_TABLES.get(self.spec.phases)
        if table is None:
            table = np.zeros(256, dtype=bool)
            table[[int(p) for p in self.spec.phases]] = True
            _PHASE_TABLES[self.spec.phases] = table
        return table

    def _phase_why(self) -> np.ndarray:
        """By SessionPhase code: the reason the playbook does not run then (built once per spec)."""
        table = _PHASE_WHY.get(self.spec.phases)
        if table is None:
            runs_in = ", ".join(p.label for p in self.spec.phases)
            table = _PHASE_WHY[self.spec.phases] = "session phase " + _LABELS + "; runs in " + runs_in
        return table

    def detect(self, f: Features, idx: np.ndarray) -> Signals:
        idx = np.asarray(idx, dtype=np.int64)
        idx = idx[self.eligible(f, idx)]
        return self._detect(f, idx)

    @abstractmethod
    def _detect(self, f: Features, idx: np.ndarray) -> Signals:
        """Detector body on eligible decision bars."""

    @abstractmethod
    def _arm(self, f: Features, idx: np.ndarray) -> Arming:
        """Armed / forming / none on eligible decision bars (reads bars ≤ each decision bar)."""

    def setups(self, f: Features, idx: np.ndarray) -> Setups:
        """The state short of a trigger at each decision bar, with the reason when there is none:
        wrong session phase, not enough bars, ATR undefined, or the playbook's own reason."""
        idx = np.asarray(idx, dtype=np.int64)
        n, k = len(idx), len(self.spec.conditions)
        state = np.zeros(n, dtype=np.int8)
        direction = np.zeros(n, dtype=np.int8)
        nan = np.full(n, np.nan)
        trig, stop, inval, tp1, tp2, level = (nan.copy() for _ in range(6))
        conds = np.zeros((n, k), dtype=bool)
        words = np.full(n, "", dtype=object)
        phase = f.phase[idx]
        phase_ok = self._phase_table()[phase]
        enough = f.bars_seen[idx] >= self.spec.min_bars
        why = np.where(phase_ok, "", self._phase_why()[phase])
        why = np.where(phase_ok & ~enough, f"not enough bars (< {self.spec.min_bars})", why)
        ok = phase_ok & enough & np.isfinite(f.atr[idx])
        why = np.where(phase_ok & enough & ~ok, "ATR not defined yet", why).astype(object)
        rows = np.flatnonzero(ok)
        if len(rows):
            a = self._arm(f, idx[rows])
            armed = a.direction != 0
            armed &= np.isfinite(a.trigger) & np.isfinite(a.stop) & ((a.trigger - a.stop) * a.direction > 0)
            st = np.where(armed, ARMED, np.where(a.forming, FORMING, NONE)).astype(np.int8)
            state[rows] = st
            direction[rows] = a.direction
            trig[rows], stop[rows], inval[rows] = a.trigger, a.stop, a.invalidation
            if a.tp1 is not None:
                tp1[rows] = a.tp1
            if a.tp2 is not None:
                tp2[rows] = a.tp2
            if k:
                conds[rows] = np.stack([np.asarray(c, dtype=bool) for c in a.conditions], axis=1)
            why[rows] = np.where(armed, "", a.why)
            words[rows] = np.where(armed, np.where(a.direction > 0, *a.templates), "")
            level[rows] = a.level
        return Setups(self.name, idx, state, direction, trig, stop, inval, conds, tp1, tp2, why, words, level)

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
    """This bar's volume at least `mult` × the median of the last w bars (False without volume).
    Read-only: shared by the playbooks asking about the same bars (`Features.derived`)."""
    idx = np.asarray(idx, dtype=np.int64)
    return f.derived(("volume_ok", idx.tobytes(), mult, w), lambda: _volume_ok(f, idx, mult, w))


def _volume_ok(f: Features, idx: np.ndarray, mult: float, w: int) -> np.ndarray:
    med = row_nanmedian(f.window(f.volume, idx, w)) if len(idx) else np.empty(0)
    with np.errstate(invalid="ignore"):
        return (f.volume[idx] > 0) & (f.volume[idx] >= mult * med)


def row_nanmedian(a: np.ndarray) -> np.ndarray:
    """np.nanmedian(a, axis=1) without its masked-array path (a scan calls it per playbook):
    NaN sorts last, so the median of the k finite values sits at positions (k−1)//2 and k//2."""
    if not a.shape[1]:
        return np.full(len(a), np.nan)
    srt = np.sort(a, axis=1)
    k = np.isfinite(a).sum(axis=1)
    rows = np.arange(len(a))
    lo, hi = srt[rows, np.maximum((k - 1) // 2, 0)], srt[rows, k // 2 if a.shape[1] > 1 else 0]
    return np.where(k > 0, (lo + hi) / 2, np.nan)


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
