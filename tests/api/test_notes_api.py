"""/api/v1/notes against the running server on SQLite and on PostgreSQL: tags, links (validated,
owner-scoped), full-text search with symbol/tag filters, bad query syntax as a 400 naming `q`, and
NoteChanged on the bus for every write (what keeps the window's panel live)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from core.services.notes import NoteChanged
from core.store.plans import PlansRepo
from tests.api.conftest import Api, start_api
from tests.store_helpers import PG_MISSING, pg_base_url, pg_isolated_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "sqlite":
        yield "sqlite"
        return
    base = pg_base_url()
    if base is None:
        if os.environ.get("CI"):
            pytest.fail(PG_MISSING)
        pytest.skip(PG_MISSING)
    with pg_isolated_url(base) as url:
        monkeypatch.setenv("DB_URL", url)
        yield "postgresql"


@pytest.fixture
async def notes_api(db: str) -> AsyncIterator[Api]:
    kernel, server, url = await start_api()
    assert kernel.store is not None and kernel.store.dialect == db
    try:
        yield Api(kernel, server, url)
    finally:
        await server.stop()
        await kernel.stop()


async def test_notes_tags_links_search(notes_api: Api) -> None:
    api = notes_api
    store = api.kernel.store
    assert store is not None
    await api.kernel.runtime.run_io(lambda: PlansRepo(store).save(
        "SPY-orb-7", symbol="SPY", playbook="orb_retest", direction="long", payload={"entry": 401.0}))
    events: list[NoteChanged] = []
    sub = api.kernel.bus.subscribe(NoteChanged, events.append, name="test-notes")
    try:
        async with api.client() as c:
            r = await c.post("/api/v1/notes", json={
                "content": "Reclaim of VWAP after the opening drive; waited for the retest.", "title": "ORB retest",
                "symbol": "spy", "tags": ["ORB", "#retest"], "plan_id": "SPY-orb-7", "plan_version": 1})
            assert r.status_code == 201, r.text
            first = r.json()
            assert first["tags"] == ["orb", "retest"] and first["symbol"] == "SPY"
            assert first["link"] == {"kind": "plan", "plan_id": "SPY-orb-7", "plan_version": 1}
            r = await c.post("/api/v1/notes", json={"content": "Faded the gap into the close", "symbol": "QQQ",
                                                    "tags": ["fade"]})
            second = r.json()
            assert second["link"] is None

            async def ids(**params: str) -> list[int]:
                r = await c.get("/api/v1/notes", params=params)
                assert r.status_code == 200, r.text
                return [n["id"] for n in r.json()["notes"]]

            assert await ids() == [second["id"], first["id"]]
            assert await ids(q="vwap reclaim") == [first["id"]]
            assert await ids(q="fad*") == [second["id"]]
            assert await ids(q='"opening drive" OR gap') in ([first["id"], second["id"]], [second["id"], first["id"]])
            assert await ids(q="the", tag="fade") in ([], [second["id"]])   # a stop word on PostgreSQL
            assert await ids(tag="orb") == [first["id"]]
            assert await ids(symbol="QQQ") == [second["id"]]
            assert await ids(q="close", symbol="SPY") == []

            for q, why in (('"unclosed', "closing quote"), ("OR x", "OR"), ("-gap", "excluded")):
                r = await c.get("/api/v1/notes", params={"q": q})
                assert r.status_code == 400 and r.json()["error"]["field"] == "q", r.text
                assert why in r.json()["error"]["reason"]
            r = await c.get("/api/v1/notes", params={"tag": "two words"})
            assert r.status_code == 400 and r.json()["error"]["field"] == "tag"

            # Links are checked: unknown targets are a 404 naming the field, not a dangling row.
            for body, status, field in (({"plan_id": "no-such-plan"}, 404, "plan_id"),
                                        ({"plan_id": "SPY-orb-7", "plan_version": 5}, 404, "plan_version"),
                                        ({"plan_version": 1}, 400, "plan_version"),
                                        ({"capture_id": 99}, 404, "capture_id"),
                                        ({"prediction_id": 99}, 404, "prediction_id"),
                                        ({"plan_id": "SPY-orb-7", "capture_id": 1}, 400, "capture_id"),
                                        ({"plan_id": "bad id!"}, 400, "plan_id"),
                                        ({"tags": ["two words"]}, 400, "tags")):
                r = await c.post("/api/v1/notes", json={"content": "x", **body})
                assert r.status_code == status, (body, r.text)
                assert field in str(r.json()["error"]["field"]), (body, r.text)

            # PATCH changes only what is sent: tags replaced, link replaced/cleared, title cleared.
            r = await c.patch(f"/api/v1/notes/{first['id']}", json={"tags": ["orb", "a+"]})
            assert r.status_code == 400 and r.json()["error"]["field"] == "tags"
            r = await c.patch(f"/api/v1/notes/{first['id']}", json={"tags": ["vwap"]})
            assert r.json()["tags"] == ["vwap"] and r.json()["link"]["plan_id"] == "SPY-orb-7"
            r = await c.patch(f"/api/v1/notes/{first['id']}", json={"plan_id": None, "title": None})
            assert r.status_code == 200 and r.json()["link"] is None and r.json()["title"] is None
            assert r.json()["content"].startswith("Reclaim of VWAP")
            r = await c.patch(f"/api/v1/notes/{first['id']}", json={"plan_id": "nope"})
            assert r.status_code == 404 and r.json()["error"]["field"] == "plan_id"
            r = await c.patch(f"/api/v1/notes/{first['id']}", json={"content": "Nothing about that anymore"})
            assert await ids(q="vwap") == [] and await ids(q="anymore") == [first["id"]]
            assert (await c.delete(f"/api/v1/notes/{second['id']}")).status_code == 204
        await api.kernel.bus.drain()
        for _ in range(50):
            if len(events) >= 6:
                break
            await asyncio.sleep(0.02)
        assert [(e.note_id, e.action) for e in events] == [
            (first["id"], "created"), (second["id"], "created"), (first["id"], "updated"),
            (first["id"], "updated"), (first["id"], "updated"), (second["id"], "deleted")]
    finally:
        sub.cancel()


async def test_notes_links_respect_owners(notes_api: Api) -> None:
    api = notes_api
    alice, bob = api.add_token("alice"), api.add_token("bob")
    async with api.client(alice) as a, api.client(bob) as b:
        r = await a.post("/gpt/plan", json={"symbol": "SPY", "direction": "long", "entry": 169.5, "stop": 169.0,
                                            "targets": [170.5, 171.0]})
        assert r.status_code == 200, r.text
        mine = r.json()["plan_id"]
        r = await a.post("/api/v1/notes", json={"content": "my plan", "plan_id": mine, "tags": ["mine"]})
        assert r.status_code == 201, r.text
        r = await b.post("/api/v1/notes", json={"content": "alice's plan", "plan_id": mine})
        assert r.status_code == 404 and r.json()["error"]["field"] == "plan_id"
        assert (await b.get("/api/v1/notes", params={"tag": "mine"})).json()["notes"] == []
        assert (await b.get("/api/v1/notes", params={"q": "plan"})).json()["notes"] == []
        assert len((await a.get("/api/v1/notes", params={"q": "plan", "tag": "mine"})).json()["notes"]) == 1
