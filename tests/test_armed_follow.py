"""Following an armed setup (issue 12: "armed and triggered plans are followed"): the live rescans
watch it; it either triggers — the stored plan is followed from then on — or disarms with the reason."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest

from core.config import load_settings
from core.errors import InputError
from core.scanner.events import FollowerEvent, SetupChanged
from core.scanner.setups import SetupState
from core.workstation import Workstation

SYMBOLS = ["SPY", "IBM", "ES", "GOOG", "AAPL"]


async def test_armed_setups_are_followed_until_they_trigger_or_disarm(isolated_dirs: Path) -> None:
    k = Workstation(load_settings(replay_speed=600), today=date(2026, 11, 22))
    await k.start()
    try:
        await k.market.replay_pause()
        k.replay.jump_to_time(k.replay.start_time_ns("SPY") + 60 * 60 * 1_000_000_000)   # 10:30 ET
        steps: list[FollowerEvent] = []
        changes: list[SetupChanged] = []
        k.bus.subscribe(FollowerEvent, steps.append)
        k.bus.subscribe(SetupChanged, changes.append)
        await k.plans.start_live(SYMBOLS, "1m")
        report = k.plans.live_report
        assert report is not None
        armed = [c for c in report.candidates if c.state is SetupState.ARMED and c.plan is not None]
        assert armed, "no armed setup on five symbols at 10:30 ET"
        watches = {}
        for c in armed:
            assert c.plan is not None
            wid = await k.plans.follow_armed(c.plan)
            assert wid == c.plan.plan_id and k.plans.following()[wid] == "armed"
            watches[wid] = c
        # Not armed now, or not in the live watch: refused with the field named.
        forming = next((c for c in report.candidates if c.state is SetupState.FORMING and c.plan is not None), None)
        if forming is not None and forming.plan is not None:
            with pytest.raises(InputError) as exc:
                await k.plans.follow_armed(forming.plan)
            assert exc.value.field == "playbook"
        from dataclasses import replace
        with pytest.raises(InputError) as exc:
            await k.plans.follow_armed(replace(armed[0].plan, symbol="BAC"))   # type: ignore[arg-type]
        assert exc.value.field == "symbol"

        await k.market.replay_resume()
        resolved: dict[str, FollowerEvent] = {}
        for _ in range(600):          # up to 60 s wall ≈ 10 replayed hours at 600×: the session ends first
            resolved = {e.plan_id: e for e in steps if e.plan_id in watches and e.kind in ("triggered", "disarmed")}
            if len(resolved) == len(watches):
                break
            await asyncio.sleep(0.1)
        await k.market.replay_pause()
        assert resolved, "no followed armed setup triggered or disarmed in the replayed session"
        for wid, ev in resolved.items():
            c = watches[wid]
            assert wid not in k.plans.following() or (ev.kind == "triggered" and ev.next_plan_id == wid)
            # Each resolution is the live rescan's own change for that setup.
            kinds = {ch.change.kind for ch in changes
                     if (ch.change.symbol, ch.change.playbook) == (c.symbol, c.playbook)}
            assert ev.kind in kinds
            if ev.kind == "triggered":
                stored = await k.plans.get(ev.next_plan_id)
                assert stored.symbol == c.symbol and stored.playbook == c.playbook
                assert ev.next_plan_id in k.plans.following() or any(
                    e.plan_id == ev.next_plan_id and e.kind == "exited" for e in steps)
            else:
                assert ev.detail and ev.state == "exited"
        # Disarming a watch still waiting is idempotent and ends it.
        for wid in watches:
            await k.plans.unfollow(wid)
            assert k.plans.following().get(wid) != "armed"
    finally:
        await k.stop()
