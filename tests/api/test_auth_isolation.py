"""Tokens: every route but /gpt/health needs one once any exists; users never see each other's data;
429 with Retry-After per token; the server refuses to listen beyond loopback with no token."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from core.api.server import ApiServer
from core.api.settings import ApiOptions
from core.errors import InputError
from core.store.predictions import PredictionsRepo
from tests.api.conftest import Api, start_api


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path).replace("/1/1", "/1/1")


async def test_every_route_needs_a_token_and_users_are_isolated(isolated_dirs: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    kernel, server, url = await start_api(backend_key="seed-key-123", monkeypatch=monkeypatch)
    api = Api(kernel, server, url)
    try:
        alice, bob = api.add_token("alice"), api.add_token("bob")
        admin = api.add_token("ops", admin=True)
        async with api.client() as anon, api.client("wrong-token") as bad:
            # the schemas are public (the GPT builder imports them without a token) and hold no secret
            schema = await anon.get("/openapi.json")
            assert schema.status_code == 200 and "seed-key-123" not in schema.text and alice not in schema.text
            paths = schema.json()["paths"]
            r = await anon.get("/tv-data/SPY")
            assert r.status_code == 401 and r.json()["error"]["field"] == "sig"
            for path, item in paths.items():
                for method in item:
                    if path == "/gpt/health":
                        continue
                    for client in (anon, bad):
                        r = await client.request(method.upper(), _concrete(path))
                        assert r.status_code == 401, (method, path, r.status_code)
                        assert r.headers.get("www-authenticate") == "Bearer"
            assert (await anon.get("/gpt/health")).status_code == 200

        async with api.client(alice) as a, api.client(bob) as b, api.client("seed-key-123") as seed, \
                api.client(admin, **{"X-User-Id": "alice"}) as ops:
            note = (await a.post("/api/v1/notes", json={"content": "alice's secret level 601"})).json()
            await seed.post("/api/v1/notes", json={"content": "the window user's note"})
            assert (await b.get(f"/api/v1/notes/{note['id']}")).status_code == 404
            assert (await b.patch(f"/api/v1/notes/{note['id']}", json={"title": "x"})).status_code == 404
            assert (await b.delete(f"/api/v1/notes/{note['id']}")).status_code == 404
            assert (await b.get("/api/v1/notes")).json()["notes"] == []
            assert (await b.get("/api/v1/notes", params={"q": "secret"})).json()["notes"] == []
            assert [n["content"] for n in (await seed.get("/api/v1/notes")).json()["notes"]] == [
                "the window user's note"]
            assert [n["id"] for n in (await ops.get("/api/v1/notes")).json()["notes"]] == [note["id"]]

            plan = (await a.post("/gpt/plan", json={"symbol": "SPY", "direction": "long", "entry": 169.5,
                                                    "stop": 169.0, "targets": [170.5]})).json()
            assert (await a.get(f"/idea/{plan['plan_id']}")).status_code == 200
            assert (await b.get(f"/idea/{plan['plan_id']}")).status_code == 404
            assert (await b.post("/gpt/plan", json={"plan_id": plan["plan_id"], "stop": 168})).status_code == 404
            assert (await b.post("/gpt/contracts", json={"symbol": "SPY", "plan_id": plan["plan_id"]})
                    ).status_code == 404
            assert (await b.post("/gpt/follow", json={"plan_id": plan["plan_id"]})).status_code == 404
            assert (await b.delete(f"/gpt/follow/{plan['plan_id']}")).status_code == 404
            r = await a.post("/gpt/follow", json={"plan_id": plan["plan_id"]})
            assert r.status_code == 200 and r.json()["following"] == "planned", r.text
            assert (await b.delete(f"/gpt/follow/{plan['plan_id']}")).status_code == 404   # not bob's to stop
            assert kernel.plans.following().get(plan["plan_id"]) == "planned"
            assert (await a.delete(f"/gpt/follow/{plan['plan_id']}")).json()["following"] is None

            job = (await a.post("/api/v1/collection/capture-now", params={"symbol": "SPY", "interval": 5})).json()
            await kernel.jobs.wait(job["job_id"], timeout=20)
            assert (await b.get(f"/api/v1/jobs/{job['job_id']}")).status_code == 404
            assert (await b.post(f"/api/v1/jobs/{job['job_id']}/cancel")).status_code == 404
            assert (await b.get("/api/v1/jobs")).json()["jobs"] == []
            assert (await a.get(f"/api/v1/jobs/{job['job_id']}")).json()["owner"] == "alice"

            # predictions: the row the predictor recorded for alice is hers only
            repo = PredictionsRepo(kernel.store)  # type: ignore[arg-type]
            now = kernel.clock.now()
            from datetime import timedelta
            row = repo.add(symbol="SPY", model_predicted_price=170.0, anchor_price=169.5, anchor_time=now,
                           horizon_end=now + timedelta(hours=1), model_version="t")
            repo.set_owner(row.prediction_id, "alice")
            assert [p["prediction_id"] for p in (await a.get("/api/v1/predict/history")).json()["predictions"]] \
                == [row.prediction_id]
            assert (await b.get("/api/v1/predict/history")).json()["predictions"] == []
            r = await b.post("/api/v1/notes", json={"content": "x", "prediction_id": row.prediction_id})
            assert r.status_code == 404

        # a revoked token stops working (within the reload interval)
        from core.api.auth import TokensRepo

        assert TokensRepo(kernel.store).revoke("bob") == 1  # type: ignore[arg-type]
        import asyncio
        await asyncio.sleep(2.1)   # the server reloads its token list at most every 2 s
        async with api.client(bob) as b:
            assert (await b.get("/api/v1/notes")).status_code == 401
    finally:
        await server.stop()
        await kernel.stop()


async def test_rate_limit_answers_429_with_retry_after(isolated_dirs: Path) -> None:
    kernel, server, url = await start_api(ApiOptions(rate_per_s=1, burst=3))
    api = Api(kernel, server, url)
    try:
        alice, bob = api.add_token("alice"), api.add_token("bob")
        async with api.client(alice) as a, api.client(bob) as b:
            codes = [(await a.get("/api/v1/jobs")).status_code for _ in range(5)]
            assert codes[:3] == [200, 200, 200] and codes[-1] == 429
            r = await a.get("/api/v1/jobs")
            assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
            assert (await b.get("/api/v1/jobs")).status_code == 200   # per token
    finally:
        await server.stop()
        await kernel.stop()


async def test_no_token_means_loopback_only(isolated_dirs: Path) -> None:
    from core.config import load_settings
    from core.workstation import Workstation

    kernel = Workstation(load_settings())
    await kernel.start(feeds=False)
    try:
        with pytest.raises(InputError) as err:
            await ApiServer(kernel, "0.0.0.0", 0).start()
        assert err.value.field == "host"
    finally:
        await kernel.stop()


def test_public_base_url_must_be_https() -> None:
    with pytest.raises(InputError):
        ApiOptions(public_base_url="http://example.com")
    assert ApiOptions(public_base_url="https://abc.trycloudflare.com/").base_url == "https://abc.trycloudflare.com"


async def test_last_request_at_records_authenticated_calls_per_user(api: Api) -> None:
    """What the window's "Connect your GPT" pane shows: when each user last called (refused calls and
    the public health check do not count)."""
    alice, bob = api.add_token("alice"), api.add_token("bob")
    assert api.server.last_request_at is None and api.server.last_request_by_user() == {}
    async with api.client() as anon, api.client("wrong-token") as bad, api.client(alice) as a, \
            api.client(bob) as b:
        assert (await anon.get("/gpt/health")).status_code == 200
        assert (await bad.get("/api/v1/jobs")).status_code == 401
        assert api.server.last_request_at is None
        before = time.time()
        assert (await a.get("/api/v1/jobs")).status_code == 200
        first = api.server.last_request_by_user()
        assert set(first) == {"alice"} and before <= first["alice"] <= time.time()
        assert api.server.last_request_at == first["alice"]
        assert (await b.get("/api/v1/jobs")).status_code == 200
        both = api.server.last_request_by_user()
        assert set(both) == {"alice", "bob"} and both["bob"] >= both["alice"]
        assert api.server.last_request_at == both["bob"]
