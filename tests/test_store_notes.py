"""Notes as a first-class tool, on SQLite (a real file) and PostgreSQL (own schema per test): tags,
links, full-text search (FTS5 / tsvector) with the same answers on both, and migration 0005."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, text

from core.errors import InputError
from core.store import NotesRepo, PlansRepo, RecordNotFound, SnapshotsRepo, Store, open_store
from core.store.note_search import PG_COLUMN, parse_query
from core.store.notes import MAX_TAGS, LinkIn
from tests.store_helpers import PG_MISSING, pg_base_url, pg_isolated_url
from tests.test_store import store_url  # noqa: F401 — the SQLite + PostgreSQL URL fixture

HEAD_BEFORE = "0003_api_users"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:  # noqa: F811
    st = open_store(store_url)
    st.migrate()
    yield st
    st.close()


def _plan(store: Store, plan_id: str = "SPY-orb-1", owner: str = "local", n: int = 1) -> None:
    for i in range(n):
        PlansRepo(store).save(plan_id, symbol="SPY", playbook="orb_retest", direction="long",
                              payload={"entry": 401.0 + i, "stop": 399.5}, owner=owner)


# -- tags -----------------------------------------------------------------------------------------
def test_tags_many_per_note_filter_and_counts(store: Store) -> None:
    notes = NotesRepo(store)
    a = notes.add("Faded the open", symbol="SPY", tags=["ORB", "#fade", "orb", " Fade "])
    assert a.tags == ("fade", "orb")                       # lower-cased, '#' dropped, unique, sorted
    b = notes.add("Waited", symbol="QQQ", tags="orb, patience")
    c = notes.add("No tags")
    assert c.tags == ()
    assert [n.id for n in notes.list_notes(tag="orb")] == [b.id, a.id]
    assert [n.id for n in notes.list_notes(tag="#ORB", symbol="SPY")] == [a.id]
    assert notes.tags() == [("orb", 2), ("fade", 1), ("patience", 1)]
    assert notes.tags(owner="someone") == []
    upd = notes.update(a.id, tags=["vwap"])
    assert upd.tags == ("vwap",) and notes.get(a.id).tags == ("vwap",)  # type: ignore[union-attr]
    assert notes.update(a.id, title="kept").tags == ("vwap",)            # tags left alone
    notes.delete(b.id)                                                  # its tags go with it
    assert notes.tags() == [("vwap", 1)]
    for bad in (["two words"], ["x" * 33], [""], [5], "a,b!"):
        with pytest.raises(InputError) as err:
            notes.add("x", tags=bad)  # type: ignore[arg-type]
        assert err.value.field == "tags", bad
    with pytest.raises(InputError) as err:
        notes.add("x", tags=[f"t{i}" for i in range(MAX_TAGS + 1)])
    assert err.value.field == "tags" and str(MAX_TAGS) in err.value.reason
    with pytest.raises(InputError) as err:
        notes.list_notes(tag="no spaces allowed")
    assert err.value.field == "tag"


# -- links ----------------------------------------------------------------------------------------
def test_links_to_plan_prediction_or_capture(store: Store) -> None:
    notes = NotesRepo(store)
    _plan(store, n=3)
    n1 = notes.add("my view on the ORB", plan_id="SPY-orb-1", plan_version=2)
    assert n1.link is not None and (n1.link.kind, n1.link.plan_id, n1.link.plan_version) == ("plan", "SPY-orb-1", 2)
    assert n1.link.label() == "plan SPY-orb-1 v2"
    assert [n.id for n in notes.list_notes(plan_id="SPY-orb-1")] == [n1.id]
    newest = notes.add("follows the newest", plan_id="SPY-orb-1")
    assert newest.link is not None and newest.link.plan_version is None
    for kwargs, field in (({"plan_id": "no-such-plan"}, "plan_id"),
                          ({"plan_id": "SPY-orb-1", "plan_version": 9}, "plan_version"),
                          ({"plan_version": 2}, "plan_version"),
                          ({"plan_id": "bad id!"}, "plan_id"),
                          ({"capture_id": 12345}, "capture_id"),
                          ({"prediction_id": 777}, "prediction_id")):
        with pytest.raises(InputError) as err:
            notes.add("dangling", **kwargs)  # type: ignore[arg-type]
        assert err.value.field == field, kwargs
    with pytest.raises(InputError) as err:
        notes.add("two links", plan_id="SPY-orb-1", capture_id=1)
    assert err.value.field == "capture_id" and "one thing" in err.value.reason
    # Another user's plan is not there for this user (the service passes whose plans are visible).
    _plan(store, "u.abc", owner="gpt")
    with pytest.raises(RecordNotFound):
        notes.add("not mine", plan_id="u.abc", owner="trader2", plan_owners=("trader2",))
    assert notes.add("mine", plan_id="u.abc", owner="gpt", plan_owners=("gpt",)).link is not None

    snap = SnapshotsRepo(store).add(symbol="SPY", snapshot_type="manual", timestamp=datetime.now(UTC),
                                    image_path="/data/captures/spy.png")
    n2 = notes.update(n1.id, link=LinkIn(capture_id=snap.id))
    assert n2.link is not None and n2.link.to_json() == {"kind": "capture", "capture_id": snap.id,
                                                         "capture_path": "/data/captures/spy.png"}
    assert [n.id for n in notes.list_notes(plan_id="SPY-orb-1")] == [newest.id]           # the plan link was replaced
    cleared = notes.update(n1.id, link=LinkIn())
    assert cleared.link is None and cleared.prediction_id is None


# -- search ---------------------------------------------------------------------------------------
def _corpus(notes: NotesRepo) -> dict[str, int]:
    ids = {}
    ids["title"] = notes.add("Price held the level all morning.", title="Reclaim of VWAP", symbol="SPY",
                             tags=["vwap"]).id
    ids["body"] = notes.add("Long after a VWAP reclaim; sized small because breadth was weak and "
                            "the tape was slow all day, then it ran.", symbol="QQQ").id
    ids["phrase"] = notes.add("The opening range held; waited for the retest of the opening range high.",
                              title="ORB retest", symbol="SPY", tags=["orb"]).id
    ids["fade"] = notes.add("Faded the gap at the open, covered at the prior close.", symbol="AAPL",
                            tags=["orb", "fade"]).id
    ids["other"] = notes.add("Reclaim of VWAP seen from another account", owner="gpt").id
    return ids


def test_search_ranked_filtered_and_in_step(store: Store) -> None:
    notes = NotesRepo(store)
    ids = _corpus(notes)

    def hits(q: str | None, **kw: object) -> list[int]:
        return [n.id for n in notes.search(q, owner="local", **kw)]  # type: ignore[arg-type]

    # A title hit ranks above the same words once in a long body; the other user's note is not seen.
    assert hits("vwap reclaim") == [ids["title"], ids["body"]]
    assert hits("reclaimed vwaps") == [ids["title"], ids["body"]]       # stemming on both engines
    assert hits('"opening range high"') == [ids["phrase"]]
    assert hits('"range opening"') == []
    assert hits("fad*") == [ids["fade"]]
    assert set(hits("gap OR retest")) == {ids["phrase"], ids["fade"]}
    assert hits("open* -gap") == [ids["phrase"]]
    assert hits("open* NOT gap") == [ids["phrase"]]
    assert hits("open*", tag="fade") == [ids["fade"]]
    assert hits("open*", symbol="spy") == [ids["phrase"]]
    assert hits("vwap", tag="orb") == []
    assert hits(None, tag="orb") == [ids["fade"], ids["phrase"]]       # no q: newest first
    assert hits("vwap reclaim", limit=1, offset=1) == [ids["body"]]
    assert len(notes.search("vwap reclaim")) == 3                       # no owner: everyone's
    # The index follows edits and deletes (SQLite: the triggers; PostgreSQL: the expression).
    notes.update(ids["title"], title="Morning hold", content="Nothing about that level.")
    assert hits("vwap reclaim") == [ids["body"]]
    assert hits("nothing level") == [ids["title"]]
    notes.update(ids["title"], tags=["x"])                              # tags only: text unchanged
    assert hits("nothing level") == [ids["title"]]
    notes.delete(ids["body"])
    assert hits("vwap") == []
    assert hits("covered — & prior-close") == [ids["fade"]]


@pytest.mark.parametrize("q, why", [
    ('"opening range', "closing quote"),
    ("OR gap", "OR needs"),
    ("gap OR", "OR at the end"),
    ("gap OR OR open", "OR needs"),
    ("-gap", "only excluded"),
    ("gap - open", "'-'"),
    ('""', "empty"),
    ("NOT", "NOT at the end"),
    ("*", "no letters"),
    ("   ", "at least one word"),
    (" ".join(f"w{i}" for i in range(40)), "more than"),
])
def test_bad_search_syntax_names_q(store: Store, q: str, why: str) -> None:
    with pytest.raises(InputError) as err:
        NotesRepo(store).search(q) if q.strip() else parse_query(q)
    assert err.value.field == "q" and why in err.value.reason


def test_query_renders_the_same_meaning_for_both_engines() -> None:
    q = parse_query('vwap "opening range" fad* -gap OR BRK.B')
    assert q.fts5() == '("vwap" AND "opening range" AND "fad"*) NOT "gap" OR ("brk b")'
    assert q.tsquery() == "('vwap' & ('opening' <-> 'range') & 'fad':* & !'gap') | (('brk' <-> 'b'))"
    # Quotes and operators typed by the user never reach either engine raw.
    assert parse_query("it's NEAR(a b) col:x").fts5() == '("it s" AND "near a" AND "b" AND "col x")'


# -- migration 0005 -------------------------------------------------------------------------------
def test_migration_indexes_existing_notes_and_downgrades_cleanly(store_url: str) -> None:  # noqa: F811
    st = open_store(store_url)
    try:
        st.migrate(HEAD_BEFORE)
        with st.engine.begin() as conn:
            conn.execute(text("INSERT INTO user_notes (content, title, created_at, updated_at, owner) "
                              "VALUES ('Bought the flush into support', 'old note', :t, :t, 'local')"),
                         {"t": datetime(2026, 11, 30, 15, tzinfo=UTC)})
        st.migrate()
        found = NotesRepo(st).search("flush support")
        assert [n.title for n in found] == ["old note"] and found[0].tags == () and found[0].link is None
        NotesRepo(st).update(found[0].id, tags=["flush"])
        st.downgrade(HEAD_BEFORE)
        names = set(inspect(st.engine).get_table_names())
        assert "note_tags" not in names and not any(n.startswith("user_notes_fts") for n in names)
        assert "ix_user_notes_search" not in {ix["name"] for ix in inspect(st.engine).get_indexes("user_notes")}
        assert "search_vector" not in {c["name"] for c in inspect(st.engine).get_columns("user_notes")}
        if st.dialect == "sqlite":
            with st.engine.connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'")).scalar() == 0
        with st.engine.connect() as conn:
            assert conn.execute(text("SELECT content FROM user_notes")).scalar() == "Bought the flush into support"
        st.migrate()
        assert [n.title for n in NotesRepo(st).search("flush")] == ["old note"]
    finally:
        st.close()


@pytest.mark.postgres
def test_postgres_search_uses_the_gin_index() -> None:
    base = pg_base_url()
    if base is None:
        if os.environ.get("CI"):
            pytest.fail(PG_MISSING)
        pytest.skip(PG_MISSING)
    with pg_isolated_url(base) as url:
        st = open_store(url)
        try:
            st.migrate()
            NotesRepo(st).add("Faded the gap", title="gap fade")
            with st.engine.begin() as conn:
                conn.execute(text("SET LOCAL enable_seqscan = off"))
                sql = f"EXPLAIN SELECT id FROM user_notes WHERE {PG_COLUMN} @@ to_tsquery('english'::regconfig, :q)"
                plan = "\n".join(r[0] for r in conn.execute(text(sql), {"q": parse_query("fade gap").tsquery()}))
        finally:
            st.close()
    assert "ix_user_notes_search" in plan, plan
