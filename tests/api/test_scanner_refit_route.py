"""POST /api/v1/scanner/calibration/refit: the same service method as the window's button."""

from __future__ import annotations

from tests.api.conftest import Api


async def test_refit_route_starts_the_job_and_names_bad_fields(api: Api) -> None:
    token = api.add_token("ana")
    async with api.client(token) as c:
        r = await c.post("/api/v1/scanner/calibration/refit", json={"symbol": "NOPE", "interval": "5m"})
        assert r.status_code == 400 and r.json()["error"]["field"] == "symbol"   # no bars anywhere: no job
        assert "no imported 5m bars of NOPE" in r.json()["error"]["reason"], r.text
        r = await c.post("/api/v1/scanner/calibration/refit", json={"symbol": "IBM", "interval": "5m"})
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["kind"] == "scanner-calibration" and job["owner"] == "ana"
        assert job["params"] == {"symbol": "IBM", "interval": "5m", "style": "intraday"}
        done = await api.kernel.jobs.wait(job["job_id"], timeout=300)
        assert done.status.value == "failed" and "need ≥ 30 to fit" in (done.error or "")   # too few: said so
        for body, field in (({"symbol": "SPY", "style": "yolo"}, "style"),
                            ({"symbol": "SPY", "interval": "1d"}, "interval"),
                            ({"symbol": "SPY", "interval": "7x"}, "interval"),
                            ({"interval": "5m"}, "symbol")):
            r = await c.post("/api/v1/scanner/calibration/refit", json=body)
            assert r.status_code == 400 and r.json()["error"]["field"] == field, (body, r.text)
    async with api.client() as anonymous:
        r = await anonymous.post("/api/v1/scanner/calibration/refit", json={"symbol": "SPY"})
        assert r.status_code == 401
