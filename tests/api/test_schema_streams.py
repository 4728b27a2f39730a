"""The GPT schema against ChatGPT's Actions rules; streams (WebSocket, SSE, plan updates)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from core.api.settings import ApiOptions
from tests.api.conftest import Api, start_api


async def test_gpt_schema_follows_the_actions_rules(isolated_dirs: Path) -> None:
    kernel, server, url = await start_api(ApiOptions(public_base_url="https://coach.example.com"))
    try:
        api = Api(kernel, server, url)
        async with api.client() as c:
            gpt = (await c.get("/openapi-gpt.json")).json()
            full = (await c.get("/openapi.json")).json()
    finally:
        await server.stop()
        await kernel.stop()
    assert gpt["servers"] == [{"url": "https://coach.example.com"}] == full["servers"]
    ops = [(p, m, op) for p, item in gpt["paths"].items() for m, op in item.items()]
    assert 0 < len(ops) <= 30
    ids = [op["operationId"] for _p, _m, op in ops]
    assert len(set(ids)) == len(ids) and all(i.isidentifier() for i in ids)
    for _path, method, op in ops:
        assert len(op.get("summary", "")) <= 300 and len(op.get("description", "")) <= 300
        for p in op.get("parameters", []):
            assert len(p.get("description", "")) <= 700
        assert op["x-openai-isConsequential"] is (method != "get" and op["operationId"] not in
                                                  ("scanSetups", "getMultiContext", "rankContracts", "chartUrl"))
    assert gpt["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http", "scheme": "bearer", "description": gpt["components"]["securitySchemes"]["HTTPBearer"].get(
            "description")}
    assert "multipart/form-data" in gpt["paths"]["/api/v1/predict"]["post"]["requestBody"]["content"]
    assert "openaiFileIdRefs" in json.dumps(gpt["paths"]["/api/v1/predict"]["post"]["requestBody"])
    assert len(json.dumps(gpt)) < 100_000
    assert set(ids) < {op["operationId"] for item in full["paths"].values() for op in item.values()}


async def test_streams(api: Api) -> None:
    token = api.add_token("alice")
    async with api.client(token) as c:
        plan = (await c.post("/gpt/plan", json={"symbol": "SPY", "direction": "long", "entry": 169.5,
                                                "stop": 169.0, "targets": [170.5]})).json()
        r = await c.get("/stream/SPY", params={"max_events": 1})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        assert r.text.startswith("event: heartbeat\ndata: ")
        link = (await c.post("/gpt/chart-url", json={"symbol": "SPY", "direction": "long", "entry": 169.5,
                                                     "stop": 169.0, "targets": [170.5]})).json()["interactive"]
    ws_url = api.url.replace("http://", "ws://")
    # bearer header
    async with connect(f"{ws_url}/stream/SPY?interval=1m",
                       additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        first = json.loads(await ws.recv())
        assert first["type"] == "heartbeat" and first["replayed"] is True
    # a chart link's signature (what the /tv page uses) — for that symbol only
    query = link.split("?", 1)[1]
    async with connect(f"{ws_url}/stream/SPY?{query}") as ws:
        assert json.loads(await ws.recv())["type"] == "heartbeat"
    async with connect(f"{ws_url}/stream/QQQ?{query}") as ws:
        await ws.send(json.dumps({"token": "nope"}))
        with pytest.raises(Exception, match="1008"):
            await ws.recv()
    # plans: plan_full first; another user's plan is refused
    async with connect(f"{ws_url}/ws/plans/{plan['plan_id']}") as ws:
        await ws.send(json.dumps({"token": token}))
        msg = json.loads(await ws.recv())
        assert msg["type"] == "plan_full" and msg["plan"]["plan_id"] == plan["plan_id"] and msg["seq"] == 0
        # a follower step on the bus arrives as a plan_delta with the bus's sequence number
        from core.scanner.events import FollowerEvent

        for price in (169.5, 170.5):
            api.kernel.bus.publish(FollowerEvent(plan["plan_id"], "entered" if price < 170 else "tp_hit",
                                                 "entered" if price < 170 else "scaled", 0, price))
        deltas = []
        while len(deltas) < 2:
            m = json.loads(await ws.recv())
            if m["type"] == "plan_delta":
                deltas.append(m)
        assert [d["kind"] for d in deltas] == ["entered", "tp_hit"]
        assert 0 < deltas[0]["seq"] < deltas[1]["seq"] and deltas[0]["missed"] == 0
    bob = api.add_token("bob")
    async with connect(f"{ws_url}/ws/plans/{plan['plan_id']}",
                       additional_headers={"Authorization": f"Bearer {bob}"}) as ws:
        with pytest.raises(Exception, match="1008"):
            await ws.recv()
