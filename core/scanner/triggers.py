"""The triggered path of a scan: which trigger of each series is the live plan of a playbook.

A trigger stays "triggered" for `LIVE_MINUTES` of its session while its plan is live (no stop,
TP1 or invalidation since). Plans come from the caller's plan memo when the trigger bar was
planned by an earlier scan, and the detectors run only on bars a live scanner's detection record
has not seen (core/scanner/incremental.py).
"""

from __future__ import annotations

import math
from collections.abc import MutableMapping
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from core.scanner.features import Features
from core.scanner.incremental import UNSEEN
from core.scanner.plan import Plan, PlanContext, Rejected, build_plan
from core.scanner.playbooks import Playbook
from core.scanner.playbooks.base import bars_for

LIVE_MINUTES = 30          # a triggered plan stays "triggered" this long while it is live
NY = ZoneInfo("America/New_York")


def _plan_state(f: Features, plan: Plan, i: int, last: int) -> str:
    """'live' or what ended the plan between the bar after its trigger i and `last` (inclusive)."""
    if last <= i:
        return "live"
    # ≤ LIVE_MINUTES bars: plain floats (numpy's per-call cost dominates on slices this short).
    # Comparisons instead of (x − level)·sign: the same truth for the finite stop, TP1 and
    # invalidation a plan has (a difference of doubles is 0 only when they are equal).
    stop, tp1, inv = plan.stop, plan.targets[0], plan.invalidation
    if plan.direction == "long":
        if any(a <= stop for a in f.low[i + 1:last + 1].tolist()):
            return "stopped out"
        if any(b >= tp1 for b in f.high[i + 1:last + 1].tolist()):
            return "TP1 reached"
        if math.isfinite(inv) and any(x < inv for x in f.close[i + 1:last + 1].tolist()):
            return "invalidated (" + plan.invalidation_note + ")"
        return "live"
    if any(a >= stop for a in f.high[i + 1:last + 1].tolist()):
        return "stopped out"
    if any(b <= tp1 for b in f.low[i + 1:last + 1].tolist()):
        return "TP1 reached"
    if math.isfinite(inv) and any(x > inv for x in f.close[i + 1:last + 1].tolist()):
        return "invalidated (" + plan.invalidation_note + ")"
    return "live"


@lru_cache(maxsize=4096)
def _ny_time(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=NY).strftime("%H:%M ET")


PlanMemo = MutableMapping[tuple, "Plan | Rejected"]   # (symbol, playbook, bar ts, direction, OHLCV)


def _live_window(f: Features, last_idx: np.ndarray) -> np.ndarray:
    """Bars of the last LIVE_MINUTES (+1 bar) of each series' current session, ascending; none for a
    series whose latest bar is outside regular hours. One bar more than the live window: a plan
    leaving the window is reported as ended (once)."""
    look = max(3, bars_for(f, LIVE_MINUTES))
    rows = f.row[last_idx]
    last = last_idx[rows >= 0]
    if not len(last):
        return np.empty(0, dtype=np.int64)
    first = np.maximum(f.sessions.first[rows[rows >= 0]], last - look)
    lens = last - first + 1
    return np.repeat(first - np.cumsum(lens) + lens, lens) + np.arange(int(lens.sum()))


def _triggered(f: Features, pb: Playbook, window: np.ndarray, ctx: PlanContext, memo: PlanMemo | None,
               record: np.ndarray | None = None, col: int = 0
               ) -> tuple[dict[int, tuple[Plan, int]], dict[int, str]]:
    """Per series number: the most recent live plan of `pb` in its last LIVE_MINUTES of this session,
    and the note for plans that ended.

    `record` (a live scanner's detection record of this frame, column `col` for `pb`) holds the
    direction detected at bars seen by earlier scans: only the bars it has not seen are detected."""
    look = max(3, bars_for(f, LIVE_MINUTES))
    live: dict[int, tuple[Plan, int]] = {}
    ended: dict[int, str] = {}
    if not len(window):
        return live, ended
    if record is None:
        sig = pb.detect(f, window)
        trig_idx, trig_dir = sig.idx, sig.direction
    else:
        need = window[record[window, col] == UNSEEN]
        sig = pb.detect(f, need)
        record[need, col] = 0
        record[sig.idx, col] = sig.direction
        w = record[window, col]
        trig_idx, trig_dir = window[w != 0], w[w != 0]
    sig_row = {int(i): k for k, i in enumerate(sig.idx)}
    seen: set[int] = set()
    for k in range(len(trig_idx) - 1, -1, -1):          # newest trigger of each series first
        i = int(trig_idx[k])
        s = int(f.series_of[i])
        if s in seen:
            continue
        # The trigger bar's prices are part of the key: a replay that maps another real day onto the
        # same timestamps must not get the plan built from the old bars.
        key = (f.symbols[s], pb.name, int(f.ts[i]), int(trig_dir[k]),
               float(f.open[i]), float(f.high[i]), float(f.low[i]), float(f.close[i]), float(f.volume[i]))
        out = memo.get(key) if memo is not None else None
        if out is None:
            row = sig_row.get(i)
            one = sig
            if row is None:                              # seen by an earlier scan, not in the memo
                one, row = pb.detect(f, np.array([i], dtype=np.int64)), 0
            out = build_plan(f, one, row, ctx, pb.spec.conditions, pb.spec.invalidation)
            if memo is not None:
                memo[key] = out
        if not isinstance(out, Plan):
            continue                                 # refused triggers never become plans
        seen.add(s)
        last = int(f.series_end[s]) - 1
        status = _plan_state(f, out, i, last)
        if status == "live" and last - i >= look:
            status = f"older than the {LIVE_MINUTES}-minute live window"
        if status == "live":
            live[s] = (out, i)
        else:
            ended[s] = f"triggered {out.direction} at {_ny_time(out.bar_ts)}, then {status}"
    return live, ended
