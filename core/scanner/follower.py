"""Plan follower: planned → entered → scaled → trailing → exited, driven by bars.

Rules: entry when a bar trades through the entry price; a close beyond the invalidation level before
entry voids the plan; a stop warning once price comes within `warn_fraction` of the risk from the
stop; TP1 moves the stop to breakeven (scaled); TP2 starts an ATR trail from the best close
(trailing); the stop, TP3 or the time stop exits. A bar that reaches both the stop and a target is
read as the stop (no intra-bar order is known). Events go to the bus when one is given; `replan`,
when set, is asked for a new plan after an exit (auto-replan).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from enum import StrEnum

from core.bus import Bus
from core.market.bars import Bar
from core.scanner.events import FollowerEvent, PlanIssued
from core.scanner.plan import Plan

log = logging.getLogger(__name__)


class FollowState(StrEnum):
    PLANNED = "planned"
    ENTERED = "entered"
    SCALED = "scaled"
    TRAILING = "trailing"
    EXITED = "exited"


class PlanFollower:
    def __init__(self, plan: Plan, *, bus: Bus | None = None, atr_trail: float = 1.0,
                 warn_fraction: float = 0.25, close_ns: int | None = None,
                 replan: Callable[[Plan, str], Plan | None] | None = None) -> None:
        self._bus = bus
        self._trail = atr_trail
        self._warn = warn_fraction
        self._close_ns = close_ns
        self._replan = replan
        self._reset(plan)

    def _reset(self, plan: Plan) -> None:
        self.plan = plan
        self.state = FollowState.PLANNED
        self.stop = plan.stop
        self.exit_reason: str | None = None
        self.exit_price: float | None = None
        self._warned = False
        self._best = plan.entry

    # -- helpers -----------------------------------------------------------------------------
    def _emit(self, out: list[FollowerEvent], kind: str, bar: Bar, price: float, detail: str = "",
              target: int = 0) -> None:
        ev = FollowerEvent(self.plan.plan_id, kind, self.state.value, bar.ts, price, detail, target)
        out.append(ev)
        if self._bus is not None:
            self._bus.publish(ev)

    def _exit(self, out: list[FollowerEvent], bar: Bar, price: float, reason: str) -> None:
        self.state = FollowState.EXITED
        self.exit_reason, self.exit_price = reason, price
        self._emit(out, "exited", bar, price, reason)
        if self._replan is not None:
            new = self._replan(self.plan, reason)
            if new is not None:
                if new.plan_id == self.plan.plan_id:
                    new = replace(new, version=self.plan.version + 1)
                if self._bus is not None:
                    self._bus.publish(PlanIssued(new, f"replan after {reason}"))
                log.info("plan %s replanned after %s", self.plan.plan_id, reason)
                self._reset(new)

    # -- the machine -------------------------------------------------------------------------
    def on_bar(self, bar: Bar) -> list[FollowerEvent]:
        out: list[FollowerEvent] = []
        if self.state == FollowState.EXITED:
            return out
        p, s = self.plan, self.plan.sign
        fav = bar.high if s > 0 else bar.low      # favourable extreme
        adv = bar.low if s > 0 else bar.high      # adverse extreme
        if self.state == FollowState.PLANNED:
            if (bar.close - p.invalidation) * s < 0 and not (bar.low <= p.entry <= bar.high):
                self._emit(out, "invalidated", bar, bar.close, f"close beyond {p.invalidation:g}")
                self._exit(out, bar, bar.close, "invalidated")
                return out
            if bar.low <= p.entry <= bar.high:
                self.state = FollowState.ENTERED
                self._emit(out, "entered", bar, p.entry)
            else:
                return out
        # In a position: stop first (conservative when one bar reaches both).
        if (adv - self.stop) * s <= 0:
            self._emit(out, "stop", bar, self.stop)
            self._exit(out, bar, self.stop, "stop")
            return out
        risk = p.risk
        if not self._warned and abs(adv - self.stop) <= self._warn * risk:
            self._warned = True
            self._emit(out, "stop_warning", bar, adv, f"within {self._warn:.0%} of the risk from the stop")
        for k, t in enumerate(p.targets, start=1):
            reached = (fav - t) * s >= 0
            if not reached:
                continue
            if k == 1 and self.state == FollowState.ENTERED:
                self.state = FollowState.SCALED
                self._emit(out, "tp_hit", bar, t, "scale out; stop to breakeven", 1)
                self.stop = p.entry
                self._emit(out, "trail_adjusted", bar, self.stop, "breakeven")
            elif k == 2 and self.state == FollowState.SCALED:
                self.state = FollowState.TRAILING
                self._emit(out, "tp_hit", bar, t, "ATR trail starts", 2)
            elif k == 3 and self.state == FollowState.TRAILING:
                self._emit(out, "tp_hit", bar, t, "final target", 3)
                self._exit(out, bar, t, "target")
                return out
        if self.state == FollowState.TRAILING:
            self._best = max(self._best * s, bar.close * s) * s
            trail = self._best - s * self._trail * p.atr
            if (trail - self.stop) * s > 0:
                self.stop = trail
                self._emit(out, "trail_adjusted", bar, trail, f"{self._trail:g}×ATR from the best close")
        if self._close_ns is not None and bar.ts >= self._close_ns:
            self._exit(out, bar, bar.close, "time")
        return out
