"""POST /gpt/follow and DELETE /gpt/follow/{id}: the Plan panel's Arm/Disarm over HTTP — an armed
setup of the live watch by symbol + playbook, a stored plan by id; bad requests name the field."""

from __future__ import annotations

from core.scanner.setups import SetupState
from tests.api.conftest import Api

SYMBOLS = ["SPY", "IBM", "ES", "GOOG", "AAPL"]


async def test_follow_an_armed_setup_and_a_plan_over_http(api: Api) -> None:
    k = api.kernel
    await k.market.replay_pause()
    k.replay.jump_to_time(k.replay.start_time_ns("SPY") + 60 * 60 * 1_000_000_000)   # 10:30 ET
    await k.plans.start_live(SYMBOLS, "1m")
    report = k.plans.live_report
    assert report is not None
    armed = next(c for c in report.candidates if c.state is SetupState.ARMED)
    token = api.add_token("ana")
    async with api.client(token) as c:
        r = await c.post("/gpt/follow", json={"symbol": armed.symbol.lower(), "playbook": armed.playbook})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["following"] == "armed" and body["plan_id"] == armed.plan.plan_id   # type: ignore[union-attr]
        assert k.plans.following()[body["plan_id"]] == "armed"
        r = await c.delete(f"/gpt/follow/{body['plan_id']}")
        assert r.status_code == 200 and r.json()["following"] is None
        assert body["plan_id"] not in k.plans.following()
        # A triggered setup of the live watch is followed as its plan (stored by a scan).
        await k.plans.scan(SYMBOLS, "1m")
        trig = next((x for x in report.candidates if x.state is SetupState.TRIGGERED), None)
        if trig is not None:
            r = await c.post("/gpt/follow", json={"symbol": trig.symbol, "playbook": trig.playbook})
            assert r.status_code == 200 and r.json()["following"] == "planned", r.text
        for body_, field, code in (({}, "plan_id", 400),
                                   ({"symbol": "SPY"}, "playbook", 400),
                                   ({"playbook": "orb_retest"}, "symbol", 400),
                                   ({"plan_id": "x", "symbol": "SPY"}, "plan_id", 400),
                                   ({"symbol": "BAC", "playbook": armed.playbook}, "symbol", 400),
                                   ({"symbol": "SPY", "playbook": "no_such_playbook"}, "playbook", 400),
                                   ({"plan_id": "no-such-plan"}, "plan_id", 404)):
            r = await c.post("/gpt/follow", json=body_)
            assert r.status_code == code and r.json()["error"]["field"] == field, (body_, r.text)
        assert (await c.delete("/gpt/follow/no-such-plan")).status_code == 404
