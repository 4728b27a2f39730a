"""Bus events of the scanner and the plan follower (typed, never strings)."""

from __future__ import annotations

from dataclasses import dataclass

from core.events import Event
from core.scanner.plan import Plan
from core.scanner.setups import SetupChange


@dataclass(frozen=True, slots=True)
class PlanIssued(Event):
    """A new plan (or a new version of one, e.g. an auto-replan)."""

    plan: Plan
    reason: str


@dataclass(frozen=True, slots=True)
class FollowerEvent(Event):
    """A state change of a followed plan: kind ∈ entered, stop_warning, stop, tp_hit,
    trail_adjusted, invalidated, exited; for a followed armed setup (`plan_id` = its would-be plan)
    also triggered (`next_plan_id` = the stored plan now followed) and disarmed (`detail` says why)."""

    plan_id: str
    kind: str
    state: str
    ts: int             # UTC ns of the bar that caused it
    price: float
    detail: str = ""
    target: int = 0     # 1-based target number for tp_hit
    next_plan_id: str = ""  # triggered: the plan the armed setup became (followed from then on)


@dataclass(frozen=True, slots=True)
class SetupChanged(Event):
    """A live rescan changed a setup (from `diff_reports`): armed, triggered, invalidated, disarmed."""

    change: SetupChange
    interval: str
