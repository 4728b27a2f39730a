"""Plan controller: the selected setup's plan (stored versions, follower state and its events),
arm/disarm (follow/unfollow on the live or replayed stream), "new note from this plan"."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from app.panels.formatting import candidate_markdown, plan_markdown
from app.panels.host import PanelHost, et_time, value
from core.errors import InputError
from core.scanner.events import FollowerEvent, PlanIssued
from core.scanner.plan import Plan
from core.scanner.setups import Candidate, SetupState
from core.store.validation import RecordNotFound
from widgets.panels.plan import PlanPanel

MAX_EVENTS = 200


def follower_line(ev: FollowerEvent) -> str:
    tp = f" TP{ev.target}" if ev.kind == "tp_hit" and ev.target else ""
    return f"{et_time(ev.ts)}  {ev.kind}{tp} @ {ev.price:,.2f} → {ev.state}" + (f"  ({ev.detail})" if ev.detail else "")


class PlanController(QObject):
    plan_shown = Signal(object)   # Plan (stored or would-be): the contracts panel ranks for it

    def __init__(self, host: PanelHost, panel: PlanPanel, new_note: Callable[[Plan], None]) -> None:
        super().__init__()
        self._host, self._panel, self._new_note = host, panel, new_note
        self.plan: Plan | None = None
        self.stored = False
        self.history: dict[str, list[str]] = {}
        self.watching: set[str] = set()     # armed setups followed (would-be plan ids)
        panel.arm_requested.connect(lambda on: host._spawn(self.arm(on), "arm"))
        panel.version_selected.connect(lambda v: host._spawn(self.show_stored(self.plan.plan_id, v), "plan")
                                       if self.plan else None)
        panel.note_requested.connect(self._note)

    def show_candidate(self, c: Candidate) -> None:
        if c.plan is not None and c.state is SetupState.TRIGGERED:
            self._host._spawn(self._show_triggered(c), "plan")
            return
        self._show_unstored(c)

    async def _show_triggered(self, c: Candidate) -> None:
        assert c.plan is not None
        try:
            await self.show_stored(c.plan.plan_id)
        except RecordNotFound:
            # Triggered before live rescans started (the baseline report is not stored; Scan now stores it).
            self._show_unstored(c)

    def _show_unstored(self, c: Candidate) -> None:
        self.plan, self.stored = c.plan, False
        armable = c.state is SetupState.ARMED and c.plan is not None
        self._panel.show_candidate(f"{c.symbol} · {c.playbook} · {c.state.value}", candidate_markdown(c),
                                   armable=armable)
        pid = c.plan.plan_id if c.plan is not None else ""
        self._panel.set_following("armed" if pid in self.watching else None)
        self._panel.set_events(self.history.get(pid, []))
        if c.plan is not None:
            self.plan_shown.emit(c.plan)

    async def show_stored(self, plan_id: str, version: int | None = None) -> None:
        plans = self._host.kernel.plans
        plan = await self._host.call(plans.get(plan_id, version))
        versions = await self._host.call(plans.versions(plan_id))
        following = await self._host.call(value(plans.following))
        self.plan, self.stored = plan, True
        self._panel.show_plan(f"{plan.symbol} · {plan.playbook} · plan {plan.plan_id[:8]}", plan_markdown(plan),
                              versions, plan.version)
        self._panel.set_following(following.get(plan_id))
        self._panel.set_events(self.history.get(plan_id, []))
        self.plan_shown.emit(plan)

    async def arm(self, on: bool) -> None:
        if self.plan is None:
            return
        plans, pid = self._host.kernel.plans, self.plan.plan_id
        if on and not self.stored:
            # An armed setup: the live rescans watch it until it triggers or disarms.
            try:
                await self._host.call(plans.follow_armed(self.plan))
            except InputError as exc:
                self._panel.set_following(None)
                self._panel.follow_state.setText(f"Cannot follow: {exc.field}: {exc.reason}")
                return
            self.watching.add(pid)
        elif on:
            await self._host.call(plans.follow(pid))
        else:
            await self._host.call(plans.unfollow(pid))
            self.watching.discard(pid)
        following = await self._host.call(value(plans.following))
        self._panel.set_following(following.get(pid))

    def on_follower_event(self, ev: FollowerEvent) -> None:
        lines = self.history.setdefault(ev.plan_id, [])
        lines.append(follower_line(ev))
        del lines[:-MAX_EVENTS]
        if ev.kind in ("triggered", "disarmed"):
            self.watching.discard(ev.plan_id)
            if ev.next_plan_id:   # the armed setup's plan carries its history on
                self.history[ev.next_plan_id] = list(lines)
        if self.plan is not None and ev.plan_id == self.plan.plan_id:
            if ev.kind == "triggered" and ev.next_plan_id:
                self._host._spawn(self.show_stored(ev.next_plan_id), "plan")
                return
            self._panel.set_events(lines)
            self._panel.set_following(None if ev.kind in ("exited", "disarmed") else ev.state)

    def on_plan_issued(self, ev: PlanIssued) -> None:
        if self.stored and self.plan is not None and ev.plan.plan_id == self.plan.plan_id \
                and ev.plan.version != self.plan.version:
            self._host._spawn(self.show_stored(ev.plan.plan_id), "plan")

    def _note(self) -> None:
        if self.plan is not None:
            self._new_note(self.plan)
