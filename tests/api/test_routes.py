"""Every route against the running server: happy path and errors (no tokens configured: loopback)."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api


async def test_coach_routes(api: Api) -> None:
    async with api.client() as c:
        r = await c.get("/gpt/health")
        assert r.status_code == 200 and r.json()["feed"]["replayed"] is True

        r = await c.post("/gpt/scan", json={"universe": "SPY,QQQ,AAPL,ES", "limit": 2})
        assert r.status_code == 200, r.text
        scan = r.json()
        assert len(scan["candidates"]) <= 2 and scan["banner"].startswith("REPLAYED")
        assert all(c["state"] in ("triggered", "armed", "forming") for c in scan["candidates"])
        if scan["next_cursor"]:
            r2 = await c.post("/gpt/scan", json={"universe": "SPY,QQQ,AAPL,ES", "limit": 2,
                                                 "cursor": scan["next_cursor"]})
            assert r2.status_code == 200 and r2.json()["candidates"] != scan["candidates"]
        r = await c.post("/gpt/scan", json={"style": "yolo"})
        assert r.status_code == 400 and r.json()["error"]["field"] == "style"
        r = await c.post("/gpt/scan", json={"universe": ["SPY"], "filters": {"exclude": ["SPY"]}})
        assert r.status_code == 400 and r.json()["error"]["field"] == "universe"

        r = await c.get("/gpt/context/SPY", params={"interval": "5m", "lookback": 100})
        assert r.status_code == 200 and len(r.text) < 100_000
        ctx = r.json()
        assert ctx["symbol"] == "SPY" and "key_levels" in ctx and "snapshot" in ctx
        r = await c.get("/gpt/context/SPY", params={"interval": "7m"})
        assert r.status_code == 400 and r.json()["error"]["field"] == "interval"
        r = await c.get("/gpt/context/SPY", params={"lookback": 20})
        assert r.status_code == 400 and r.json()["error"]["field"] == "lookback"
        r = await c.get("/gpt/context/SPY", params={"interval": "1m", "lookback": 1000})
        assert r.status_code == 200 and len(r.text) < 100_000   # trimmed to fit, and says so

        r = await c.post("/gpt/multi-context", json={"symbol": "SPY", "intervals": ["5m", "1h", "5m"]})
        assert r.status_code == 200
        assert [s["interval"] for s in r.json()["snapshots"]] == ["5m", "1h"]   # duplicate ignored
        r = await c.post("/gpt/multi-context", json={"symbol": "SPY", "intervals": ["5m", "7m"]})
        assert r.status_code == 400 and r.json()["error"]["field"] == "intervals" and "7m" in r.text

        good = {"symbol": "SPY", "direction": "long", "entry": 169.5, "stop": 169.0, "targets": [170.5, 171.0]}
        r = await c.post("/gpt/chart-url", json=good)
        assert r.status_code == 200, r.text
        link = r.json()["interactive"]
        assert link.startswith(api.url + "/tv?") and "entry=169.5" in link and "sig=" in link
        r = await c.post("/gpt/chart-url", json={**good, "stop": 170.0})
        assert r.status_code == 400 and r.json()["error"]["field"] == "stop"
        r = await c.post("/gpt/chart-url", json={**good, "targets": [169.6]})
        assert r.status_code == 400 and r.json()["error"]["field"] in ("rr_t1", "tp1")

        r = await c.post("/gpt/plan", json=good)
        assert r.status_code == 200, r.text
        plan = r.json()
        assert plan["version"] == 1 and plan["plan_id"].startswith("u.")
        r = await c.post("/gpt/plan", json={"plan_id": plan["plan_id"], "stop": 168.9})
        assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["stop"] == 168.9
        r = await c.get(f"/idea/{plan['plan_id']}")
        assert r.status_code == 200 and r.json()["versions"] == [1, 2]
        r = await c.get(f"/idea/{plan['plan_id']}/1")
        assert r.status_code == 200 and r.json()["plan"]["stop"] == 169.0
        r = await c.get("/idea/no-such-plan")
        assert r.status_code == 404 and r.json()["error"]["field"] == "plan_id"
        r = await c.post("/gpt/plan", json={"symbol": "SPY"})
        assert r.status_code == 400 and r.json()["error"]["field"] == "direction"

        r = await c.post("/gpt/contracts", json={"plan_id": plan["plan_id"], "symbol": "SPY"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert {"best", "alternatives", "rejections"} <= set(body) and body["modelled"] is True
        r = await c.post("/gpt/contracts", json={"symbol": "SPY"})
        assert r.status_code == 400 and r.json()["error"]["field"] == "direction"


async def test_data_notes_jobs_routes(api: Api) -> None:
    async with api.client() as c:
        r = await c.get("/api/v1/live/prices", params={"symbols": "SPY,NOPE"})
        assert r.status_code == 200 and r.json()["prices"][0]["symbol"] == "SPY" and "NOPE" in r.json()["errors"]

        r = await c.post("/api/v1/notes", json={"content": "SPY held the VWAP retest", "symbol": "spy"})
        assert r.status_code == 201
        nid = r.json()["id"]
        await c.post("/api/v1/notes", json={"content": "QQQ faded", "title": "later"})
        r = await c.get("/api/v1/notes")
        assert [n["content"] for n in r.json()["notes"]] == ["QQQ faded", "SPY held the VWAP retest"]
        r = await c.get("/api/v1/notes", params={"q": "vwap retest"})
        assert [n["id"] for n in r.json()["notes"]] == [nid]
        r = await c.patch(f"/api/v1/notes/{nid}", json={"title": "ORB"})
        assert r.status_code == 200 and r.json()["title"] == "ORB"
        assert (await c.get(f"/api/v1/notes/{nid}")).json()["title"] == "ORB"
        assert (await c.delete(f"/api/v1/notes/{nid}")).status_code == 204
        r = await c.get(f"/api/v1/notes/{nid}")
        assert r.status_code == 404 and r.json()["error"]["field"] == "note_id"
        r = await c.post("/api/v1/notes", json={"content": ""})
        assert r.status_code == 400 and r.json()["error"]["field"] == "content"
        r = await c.post("/api/v1/notes", json={"content": "x", "prediction_id": 99})
        assert r.status_code == 404 and r.json()["error"]["field"] == "prediction_id"

        r = await c.get("/api/v1/collection/schedule")
        assert r.status_code == 200 and "planned" in r.json()
        r = await c.post("/api/v1/collection/capture-now", params={"symbol": "SPY", "interval": 7})
        assert r.status_code == 400 and r.json()["error"]["field"] == "interval"
        r = await c.post("/api/v1/collection/capture-now", params={"symbol": "SPY", "interval": 5})
        assert r.status_code == 202
        job_id = r.json()["job_id"]
        info = await api.kernel.jobs.wait(job_id, timeout=20)
        assert info.status.value in ("succeeded", "failed")
        r = await c.get(f"/api/v1/jobs/{job_id}")
        assert r.status_code == 200 and r.json()["kind"] == "capture"
        assert job_id in [j["job_id"] for j in (await c.get("/api/v1/jobs")).json()["jobs"]]
        r = await c.post(f"/api/v1/jobs/{job_id}/cancel")
        assert r.status_code == 400 and r.json()["error"]["field"] == "job_id"   # already finished
        assert (await c.get("/api/v1/jobs/999999")).status_code == 404

        r = await c.post("/api/v1/collection/run-session-candles", params={"symbol": "SPY", "interval": "15m"})
        assert r.status_code == 202, r.text
        info = await api.kernel.jobs.wait(r.json()["job_id"], timeout=60)
        assert info.status.value == "succeeded", info.error
        assert info.result["snapshots"] and info.result["interval"] == "15m"   # one capture per 15m close so far
        r = await c.post("/api/v1/collection/run-session-candles",
                         params={"symbol": "SPY", "session_date": "2026-11-28"})           # a Saturday
        assert r.status_code == 400 and r.json()["error"]["field"] == "session_date"
        r = await c.post("/api/v1/collection/process-training-data", params={"symbol": "SPY"})
        assert r.status_code == 202
        info = await api.kernel.jobs.wait(r.json()["job_id"], timeout=60)
        assert info.status.value == "succeeded" and "SPY" in info.result["samples"]
        r = await c.get("/api/v1/evaluation/best-model")
        assert r.status_code == 404 and "trained" in r.json()["error"]["reason"]
        r = await c.get("/api/v1/evaluation/learning-status")
        assert r.status_code == 200 and r.json()["trained"] is False
        r = await c.get("/api/v1/evaluation/learning-curve", params={"days_back": 0})
        assert r.status_code == 400 and r.json()["error"]["field"] == "days_back"
        r = await c.get("/api/v1/train/status")
        assert r.status_code == 200 and r.json()["running"] is False
        r = await c.get("/api/v1/predict/history")
        assert r.status_code == 200 and r.json()["predictions"] == []


@pytest.mark.parametrize("path", ["/tv", "/tv/tv.js", "/tv/vendor/NOTICE",
                                  "/tv/vendor/lightweight-charts.standalone.production.js"])
async def test_tv_files_are_served_offline(api: Api, path: str) -> None:
    async with api.client() as c:
        r = await c.get(path)
        assert r.status_code == 200 and len(r.content) > 200
        assert "cdn" not in r.text.lower() or path.endswith(".js")
        assert (await c.get("/tv/../core/config.py")).status_code == 404


async def test_slow_requests_answer_504_before_chatgpt_gives_up(isolated_dirs: object) -> None:
    from core.api.settings import ApiOptions
    from tests.api.conftest import start_api

    kernel, server, url = await start_api(ApiOptions(deadline_s=0.001, rate_per_s=100, burst=100))
    try:
        async with Api(kernel, server, url).client() as c:
            r = await c.post("/gpt/scan", json={})
            assert r.status_code == 504 and "job" in r.json()["error"]["reason"]
    finally:
        await server.stop()
        await kernel.stop()
