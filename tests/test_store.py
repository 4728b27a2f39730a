"""Storage tests: every repository on SQLite (a real file) and on PostgreSQL (own schema per test)."""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from core.errors import DataError, InputError
from core.market.bars import Bars
from core.store import (
    UNCHANGED,
    ImportedBarsRepo,
    IVHistoryRepo,
    NotesRepo,
    PlansRepo,
    PredictionsRepo,
    RecordNotFound,
    SnapshotsRepo,
    Store,
    TrainingRepo,
    TrainingSamplesRepo,
    WatchlistsRepo,
    open_store,
    sqlite_url,
)
from core.store.engine import MIGRATIONS_DIR, sqlite_pragma
from core.store.note_search import SEARCH_OBJECTS, include_object
from core.store.schema import Base
from tests.store_helpers import PG_MISSING, pg_base_url, pg_isolated_url, shared_data_dir

ET = ZoneInfo("America/New_York")
TABLES = {
    "snapshots", "session_minute_bars", "price_data", "training_samples", "model_checkpoints",
    "predictions", "learning_metrics", "user_notes", "plans", "iv_history", "watchlists", "imported_bars",
    "note_tags",
}


# -- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "tradecoach.db")
        return
    base = pg_base_url()
    if base is None:
        if os.environ.get("CI"):
            pytest.fail(PG_MISSING)
        pytest.skip(PG_MISSING)
    with pg_isolated_url(base) as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    st = open_store(store_url)
    st.migrate()
    yield st
    st.close()


@pytest.fixture(scope="module")
def spy_5min() -> Bars:
    """SPY RTH 5-minute bars 2018–2020 (Interactive Brokers), bar start in UTC."""
    df = pd.read_csv(shared_data_dir() / "intraday" / "SPY_5min_2018-2020_ib.csv")
    idx = pd.DatetimeIndex(pd.to_datetime(df["bar_start_et"], utc=True))
    return Bars.from_arrays(idx.as_unit("ns").asi8, df["open"].to_numpy(), df["high"].to_numpy(),
                            df["low"].to_numpy(), df["close"].to_numpy(),
                            df["volume_lots100"].to_numpy() * 100.0)


@pytest.fixture(scope="module")
def es_1min() -> Bars:
    """ES continuous 1-minute bars (naive UTC index in the file), first 600 rows."""
    df = pd.read_parquet(shared_data_dir() / "intraday" / "ES_continuous_1min_2025-07_to_2025-12_tradingview.parquet")
    df = df.iloc[:600]
    df.index = pd.DatetimeIndex(df.index).tz_localize("UTC")
    return Bars.from_pandas(df.rename(columns=str.lower))


# -- engine ---------------------------------------------------------------------------------------
def test_sqlite_runs_wal_full_sync_with_foreign_keys(tmp_path: Path) -> None:
    st = open_store(sqlite_url(tmp_path / "db" / "t.db"))
    try:
        assert sqlite_pragma(st, "journal_mode") == "wal"
        assert sqlite_pragma(st, "synchronous") == 2  # FULL
        assert sqlite_pragma(st, "foreign_keys") == 1
        assert sqlite_pragma(st, "busy_timeout") >= 1000
        assert (tmp_path / "db" / "t.db").exists()
    finally:
        st.close()


@pytest.mark.parametrize(
    "url", ["mysql://u@h/db", "sqlite://", "sqlite:///:memory:", "postgresql+psycopg2://u@h/db", "nonsense"]
)
def test_open_store_rejects_unsupported_urls(url: str) -> None:
    with pytest.raises(InputError) as err:
        open_store(url)
    assert err.value.field == "db_url"


def test_an_unreachable_database_is_named_without_its_password() -> None:
    from core.store import StoreUnavailableError, open_ready_store

    with pytest.raises(StoreUnavailableError) as err:   # nothing listens on port 1
        open_ready_store("postgresql+psycopg://trader:hunter2@127.0.0.1:1/coach")
    text = str(err.value)
    assert text.startswith("db_url: cannot open the database postgresql+psycopg://trader:***@127.0.0.1:1/coach: ")
    assert "refused" in text and "hunter2" not in text


def test_sqlite_url_is_absolute(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "a" / ".." / "b.db")
    assert url == f"sqlite+pysqlite:///{(tmp_path / 'b.db').resolve()}"


# -- migrations -----------------------------------------------------------------------------------
def _diff(st: Store) -> list[object]:
    """What differs between the migrated database and the models — with the same hook as the
    migrations' env.py, which leaves out only the notes' search objects (FTS5, tsvector index)."""
    with st.engine.connect() as conn:
        opts = {"compare_type": True, "include_object": include_object}
        return list(compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata))


def test_migrations_upgrade_downgrade_upgrade(store_url: str) -> None:
    st = open_store(store_url)
    try:
        assert st.current_revision() is None
        st.migrate()
        assert st.current_revision() == st.head_revision() and st.is_current()
        assert TABLES <= set(inspect(st.engine).get_table_names())
        st.migrate()  # idempotent
        assert st.is_current()
        st.downgrade("base")
        assert st.current_revision() is None
        assert not TABLES & set(inspect(st.engine).get_table_names())
        st.migrate()
        assert TABLES <= set(inspect(st.engine).get_table_names())
        assert NotesRepo(st).add("after re-upgrade").id >= 1
    finally:
        st.close()


def test_concurrent_first_migrations_do_not_collide(store_url: str) -> None:
    """The app and the API server may start together on an empty database."""
    stores = [open_store(store_url) for _ in range(3)]
    barrier = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def run(st: Store) -> None:
        try:
            barrier.wait()
            st.migrate()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread and asserted there
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(st,)) for st in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert all(st.is_current() for st in stores)
    finally:
        for st in stores:
            st.close()


def test_models_match_migrations(store: Store) -> None:
    assert _diff(store) == []
    # The comparison is not blind: a column the models lack shows up as a difference.
    with store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE user_notes ADD COLUMN mood INTEGER"))
        # A table or index the models lack is reported too, even one named like the search objects.
        conn.execute(text("CREATE TABLE user_notes_fts_extra (id INTEGER PRIMARY KEY)"))
        conn.execute(text("CREATE INDEX ix_user_notes_search2 ON user_notes (title)"))
        conn.execute(text("ALTER TABLE plans ADD COLUMN search_vector TEXT"))   # the name, elsewhere
    diffs = _diff(store)
    assert any(d[0] == "remove_column" and d[3].name == "mood" for d in diffs), diffs  # type: ignore[index]
    assert any(d[0] == "remove_table" and d[1].name == "user_notes_fts_extra" for d in diffs), diffs  # type: ignore[index]
    assert any(d[0] == "remove_index" and d[1].name == "ix_user_notes_search2" for d in diffs), diffs  # type: ignore[index]
    assert any(d[0] == "remove_column" and d[2] == "plans" and d[3].name == "search_vector" for d in diffs), diffs  # type: ignore[index]
    # Exactly the search objects are left out — and they exist.
    assert not any(getattr(d[1], "name", None) in SEARCH_OBJECTS for d in diffs if isinstance(d, tuple)), diffs
    names = set(inspect(store.engine).get_table_names())
    if store.dialect == "sqlite":
        assert {"user_notes_fts", "user_notes_fts_data", "user_notes_fts_idx"} <= names
    else:
        assert "ix_user_notes_search" in {ix["name"] for ix in inspect(store.engine).get_indexes("user_notes")}
        assert "search_vector" in {c["name"] for c in inspect(store.engine).get_columns("user_notes")}


def test_migrations_ship_inside_the_package() -> None:
    import core.store

    assert MIGRATIONS_DIR.parent == Path(core.store.__file__).parent
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert not (Path(core.store.__file__).parents[2] / "alembic.ini").exists()


# -- time handling --------------------------------------------------------------------------------
def test_timestamps_come_back_as_utc(store: Store) -> None:
    anchor = datetime(2024, 3, 8, 15, 55, tzinfo=ET)  # EST: 20:55 UTC
    end = datetime(2024, 3, 11, 9, 35, tzinfo=ET)  # after the DST switch (EDT)
    repo = PredictionsRepo(store)
    rec = repo.add(symbol="spy", model_predicted_price=512.3, anchor_price=511.0, anchor_time=anchor,
                   horizon_end=end, model_version="m1", timestamp=anchor)
    got = repo.get(rec.prediction_id)
    assert got is not None
    assert got.anchor_time == anchor and got.anchor_time.tzinfo == UTC
    assert got.anchor_time.hour == 20  # 15:55 EST
    assert got.horizon_end.hour == 13  # 09:35 EDT
    assert got.symbol == "SPY"
    with pytest.raises(InputError) as err:
        repo.add(symbol="SPY", model_predicted_price=1.0, anchor_price=1.0,
                 anchor_time=datetime(2024, 1, 2, 10, 0), horizon_end=end, model_version="m1")
    assert err.value.field == "anchor_time"


# -- notes ----------------------------------------------------------------------------------------
def test_notes_crud_newest_first(store: Store) -> None:
    notes = NotesRepo(store)
    a = notes.add("Opening drive faded at VWAP", title="Mon", symbol="spy")
    b = notes.add("Waited for the retest", symbol="QQQ")
    c = notes.add("  Sized down after two losers  ")
    assert c.content == "Sized down after two losers"
    assert [n.id for n in notes.list_notes()] == [c.id, b.id, a.id]
    assert [n.id for n in notes.list_notes(limit=2)] == [c.id, b.id]
    assert [n.id for n in notes.list_notes(limit=2, offset=2)] == [a.id]
    assert [n.id for n in notes.list_notes(symbol="SPY")] == [a.id]

    upd = notes.update(a.id, content="Faded at VWAP, then reclaimed", title=None)
    assert upd.title is None and upd.content == "Faded at VWAP, then reclaimed"
    assert upd.symbol == "SPY" and upd.updated_at >= upd.created_at == a.created_at
    same = notes.update(a.id, symbol=UNCHANGED)
    assert same.symbol == "SPY"
    got = notes.get(a.id)
    assert got is not None and got.content == upd.content

    notes.delete(b.id)
    assert notes.get(b.id) is None
    with pytest.raises(RecordNotFound) as err:
        notes.delete(b.id)
    assert err.value.field == "note_id"


NOTE_ERRORS: list[tuple[dict[str, object], str]] = [
    ({"content": ""}, "content"),
    ({"content": "   \n"}, "content"),
    ({"content": "x", "symbol": "not a symbol"}, "symbol"),
    ({"content": "x", "title": "t" * 201}, "title"),
]


def test_notes_reject_bad_input(store: Store) -> None:
    for kwargs, field in NOTE_ERRORS:
        with pytest.raises(InputError) as err:
            NotesRepo(store).add(**kwargs)  # type: ignore[arg-type]
        assert err.value.field == field, kwargs
    assert NotesRepo(store).list_notes() == []


def test_note_linked_to_prediction(store: Store) -> None:
    now = datetime.now(UTC)
    pred = PredictionsRepo(store).add(symbol="MNQ1!", model_predicted_price=18250.0, anchor_price=18200.0,
                                      anchor_time=now, horizon_end=now + timedelta(minutes=90),
                                      model_version="m1")
    notes = NotesRepo(store)
    n = notes.add("model too bullish", prediction_id=pred.prediction_id)
    notes.add("unrelated")
    assert [x.id for x in notes.list_notes(prediction_id=pred.prediction_id)] == [n.id]
    with pytest.raises(RecordNotFound) as err:
        notes.add("dangling", prediction_id=pred.prediction_id + 1000)
    assert err.value.field == "prediction_id"


# -- plans ----------------------------------------------------------------------------------------
def _plan_payload(i: int) -> dict[str, object]:
    return {"entry": 401.25 + i / 100, "stop": 399.8, "tps": [403.1, 404.75], "rr_t1": 1.27,
            "levels": {"vwap": 400.93, "orh": 401.2}, "notes": f"rev {i}", "ok": True, "none": None}


def test_plans_versioning_keeps_newest_20(store: Store) -> None:
    plans = PlansRepo(store)
    saved = [plans.save("SPY-orb-1", symbol="SPY", playbook="orb_retest", direction="long",
                        payload=_plan_payload(i)) for i in range(25)]
    assert [p.version for p in saved] == list(range(1, 26))
    assert plans.versions("SPY-orb-1") == list(range(6, 26))
    latest = plans.latest("SPY-orb-1")
    assert latest is not None and latest.version == 25 and latest.payload == _plan_payload(24)
    assert plans.get("SPY-orb-1", 5) is None
    v6 = plans.get("SPY-orb-1", 6)
    assert v6 is not None and v6.payload == _plan_payload(5)
    assert plans.latest("nope") is None

    plans.save("QQQ-gap-1", symbol="QQQ", playbook="gap_fill_open", direction="short", payload={"a": 1})
    recent = plans.recent()
    assert [(p.plan_id, p.version) for p in recent] == [("QQQ-gap-1", 1), ("SPY-orb-1", 25)]
    assert [p.plan_id for p in plans.recent(symbol="spy")] == ["SPY-orb-1"]
    assert plans.prune("SPY-orb-1", keep=3) == 17
    assert plans.versions("SPY-orb-1") == [23, 24, 25]


PLAN_ERRORS: list[tuple[dict[str, object], str]] = [
    ({"direction": "up"}, "direction"),
    ({"payload": {"x": math.nan}}, "payload"),
    ({"payload": {"x": object()}}, "payload"),
    ({"payload": [1, 2]}, "payload"),
    ({"symbol": ""}, "symbol"),
    ({"playbook": ""}, "playbook"),
]


def test_plans_reject_bad_input(store: Store) -> None:
    for kwargs, field in PLAN_ERRORS:
        args: dict[str, object] = {"symbol": "SPY", "playbook": "orb_retest", "direction": "long",
                                   "payload": {"entry": 1.0}} | kwargs
        with pytest.raises(InputError) as err:
            PlansRepo(store).save("p1", **args)  # type: ignore[arg-type]
        assert err.value.field == field, kwargs
    assert PlansRepo(store).latest("p1") is None
    with pytest.raises(InputError) as err:
        PlansRepo(store).save("bad id with spaces", symbol="SPY", playbook="x", direction="long", payload={})
    assert err.value.field == "plan_id"


def test_concurrent_plan_saves_get_distinct_versions(store: Store) -> None:
    plans = PlansRepo(store)
    errors: list[BaseException] = []

    def writer(tag: str) -> None:
        try:
            for i in range(8):
                plans.save("race", symbol="SPY", playbook="vwap_avwap", direction="long",
                           payload={"writer": tag, "i": i})
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread and re-raised there
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert plans.versions("race") == list(range(1, 17))
    payloads = [plans.get("race", v).payload for v in range(1, 17)]  # type: ignore[union-attr]
    assert sorted((p["writer"], p["i"]) for p in payloads) == sorted((t, i) for t in "ab" for i in range(8))


# -- predictions ----------------------------------------------------------------------------------
def test_predictions_history_due_and_resolve(store: Store) -> None:
    repo = PredictionsRepo(store)
    t0 = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)
    made = []
    for i, sym in enumerate(["MNQ1!", "MES1!", "MNQ1!", "MNQ1!"]):
        anchor = t0 + timedelta(days=i)
        made.append(repo.add(
            symbol=sym, model_predicted_price=100.0 + i, anchor_price=99.5 + i, anchor_time=anchor,
            horizon_end=anchor + timedelta(minutes=90), model_version="cnn-0.3", user_expected_price=101.0,
            probability_hit=0.42, model_confidence=0.61, predicted_high=102.0 + i, predicted_low=98.0 + i,
            interval_minutes=15, timestamp=anchor,
        ))
    hist = repo.history("MNQ1!", limit=2)
    assert [p.prediction_id for p in hist] == [made[3].prediction_id, made[2].prediction_id]
    assert [p.prediction_id for p in repo.history()] == [m.prediction_id for m in reversed(made)]
    assert hist[0].probability_hit == 0.42 and hist[0].predicted_high == 105.0

    now = t0 + timedelta(days=2, hours=3)  # horizons of the first three have ended
    assert [p.prediction_id for p in repo.due(now)] == [m.prediction_id for m in made[:3]]
    res = repo.resolve(made[0].prediction_id, actual_price=100.75, was_hit=True, actual_high=101.5,
                       actual_low=99.0, resolved_at=now)
    assert res.resolved and res.was_hit is True and res.actual_price == 100.75 and res.resolved_at == now
    assert [p.prediction_id for p in repo.due(now)] == [m.prediction_id for m in made[1:3]]

    with pytest.raises(InputError) as err:
        repo.resolve(made[0].prediction_id, actual_price=100.0, was_hit=False, resolved_at=now)
    assert err.value.field == "prediction_id"
    with pytest.raises(InputError) as err:
        repo.resolve(made[3].prediction_id, actual_price=100.0, was_hit=False, resolved_at=now)
    assert err.value.field == "resolved_at"
    with pytest.raises(RecordNotFound):
        repo.resolve(10_000, actual_price=1.0, was_hit=None, resolved_at=now)
    assert repo.get(made[3].prediction_id).resolved is False  # type: ignore[union-attr]


PREDICTION_ERRORS: list[tuple[dict[str, object], str]] = [
    ({"probability_hit": 1.5}, "probability_hit"),
    ({"model_predicted_price": math.inf}, "model_predicted_price"),
    ({"anchor_price": -1.0}, "anchor_price"),
    ({"horizon_end": datetime(2025, 1, 1, tzinfo=UTC)}, "horizon_end"),
    ({"predicted_low": 110.0, "predicted_high": 100.0}, "predicted_low"),
    ({"model_version": ""}, "model_version"),
]


def test_predictions_reject_bad_input(store: Store) -> None:
    anchor = datetime(2025, 1, 2, 15, 0, tzinfo=UTC)
    for kwargs, field in PREDICTION_ERRORS:
        args: dict[str, object] = {"symbol": "SPY", "model_predicted_price": 101.0, "anchor_price": 100.0,
                                   "anchor_time": anchor, "horizon_end": anchor + timedelta(hours=1),
                                   "model_version": "m"} | kwargs
        with pytest.raises(InputError) as err:
            PredictionsRepo(store).add(**args)  # type: ignore[arg-type]
        assert err.value.field == field, kwargs
    assert PredictionsRepo(store).history() == []


# -- IV history -----------------------------------------------------------------------------------
def test_iv_history_upsert_and_series(store: Store) -> None:
    """VIX closes stand in for SPX 30-day ATM IV (VIX is exactly that, in percent)."""
    vix = pd.read_csv(shared_data_dir() / "daily" / "VIX_daily_2014-2019_arch.csv")
    vix["vix"] = pd.to_numeric(vix["vix"], errors="coerce")  # the file marks missing days with "."
    vix = vix.dropna().iloc[:40]
    days = [pd.Timestamp(d).date() for d in vix["Date"]]
    ivs = [float(v) / 100 for v in vix["vix"]]
    repo = IVHistoryRepo(store)
    for d, iv in zip(days, ivs, strict=True):
        repo.upsert("^SPX", d, iv, "vix")
    series = repo.series("^SPX")
    assert [p.date for p in series] == sorted(days)
    assert [p.atm_iv for p in series] == [iv for _, iv in sorted(zip(days, ivs, strict=True))]

    repo.upsert("^SPX", days[5], 0.5, "tradier")  # same day again: replaced, not duplicated
    series = repo.series("^SPX")
    assert len(series) == len(days)
    assert [(p.atm_iv, p.source) for p in series if p.date == days[5]] == [(0.5, "tradier")]
    window = repo.series("^SPX", days[10], days[19])
    assert [p.date for p in window] == days[10:20]
    assert repo.series("QQQ") == []
    with pytest.raises(InputError) as err:
        repo.upsert("SPY", days[0], 25.0, "x")
    assert err.value.field == "atm_iv"
    with pytest.raises(InputError) as err:
        repo.upsert("SPY", datetime(2020, 1, 2, tzinfo=UTC), 0.2, "x")  # type: ignore[arg-type]
    assert err.value.field == "date"


# -- watchlists -----------------------------------------------------------------------------------
def test_watchlists_keep_order_and_replace(store: Store) -> None:
    repo = WatchlistsRepo(store)
    assert repo.get("Morning") is None
    assert repo.save("Morning", ["spy", "QQQ", "MNQ1!", "SPY", "es=f"]) == ["SPY", "QQQ", "MNQ1!", "ES=F"]
    assert repo.get("Morning") == ["SPY", "QQQ", "MNQ1!", "ES=F"]
    repo.save("Morning", ["IWM"])
    repo.save("Alpha", [])
    assert repo.get("Morning") == ["IWM"]
    assert repo.names() == ["Alpha", "Morning"]
    assert repo.delete("Alpha") is True and repo.delete("Alpha") is False
    with pytest.raises(InputError) as err:
        repo.save("Morning", ["SPY", "bad symbol"])
    assert err.value.field == "symbols[1]"
    assert repo.get("Morning") == ["IWM"]
    with pytest.raises(InputError) as err:
        repo.save("Morning", "SPY")  # a string is not a list of symbols
    assert err.value.field == "symbols"


# -- imported bars --------------------------------------------------------------------------------
def test_imported_bars_round_trip_exact(store: Store, spy_5min: Bars) -> None:
    repo = ImportedBarsRepo(store)
    assert repo.upsert("SPY", "5m", spy_5min, "ib") == len(spy_5min)
    back = repo.load("SPY", "5min")
    assert back.equals(spy_5min)  # every float bit-identical, every ns timestamp identical
    start = int(spy_5min.ts[1000]) + 1  # inside a bar: the bar itself is excluded
    end = int(spy_5min.ts[2500])
    window = repo.load("SPY", "5m", start, end)
    assert window.equals(spy_5min.between(start, end))
    assert len(window) == 1499
    cov = repo.coverage("SPY")
    assert [(c.interval, c.first_ns, c.last_ns, c.count) for c in cov] == [
        ("5m", int(spy_5min.ts[0]), int(spy_5min.ts[-1]), len(spy_5min))]
    assert len(repo.load("SPY", "1m")) == 0 and len(repo.load("QQQ", "5m")) == 0


def test_imported_bars_upsert_overwrites_same_ts(store: Store, spy_5min: Bars, es_1min: Bars) -> None:
    repo = ImportedBarsRepo(store)
    first = spy_5min[:300]
    repo.upsert("SPY", "5m", first, "ib")
    # Same timestamps, values from other real bars: the later import wins, no duplicates.
    other = Bars(first.ts[100:200], *(getattr(spy_5min, c)[5000:5100] for c in
                                       ("open", "high", "low", "close", "volume")))
    repo.upsert("SPY", "5m", other, "vendor2")
    back = repo.load("SPY", "5m")
    assert len(back) == 300
    assert back[100:200].equals(other)
    assert back[:100].equals(first[:100]) and back[200:].equals(first[200:])
    assert repo.load("SPY", "5m", source="vendor2").equals(other)
    # Another symbol and interval stay apart; zero volume (ES file has none) round-trips too.
    repo.upsert("ES1!", "1m", es_1min, "tradingview")
    assert repo.load("ES1!", "1m").equals(es_1min)
    assert len(repo.load("SPY", "5m")) == 300
    assert repo.delete("SPY", "5m", source="vendor2") == 100
    assert len(repo.load("SPY", "5m")) == 200


def test_imported_bars_reject_bad_input(store: Store, spy_5min: Bars) -> None:
    repo = ImportedBarsRepo(store)
    with pytest.raises(InputError) as err:
        repo.upsert("SPY", "7m", spy_5min[:10], "ib")
    assert err.value.field == "interval"
    unsorted = Bars(spy_5min.ts[:10][::-1].copy(), *(getattr(spy_5min, c)[:10] for c in
                                                     ("open", "high", "low", "close", "volume")))
    with pytest.raises(DataError):
        repo.upsert("SPY", "5m", unsorted, "ib")
    with pytest.raises(InputError) as err:
        repo.load("SPY", "5m", start_ns=1.5e18)  # type: ignore[arg-type]
    assert err.value.field == "start_ns"
    assert repo.coverage() == []


# -- training: metrics and checkpoints ------------------------------------------------------------
def test_learning_metrics_and_best_checkpoint(store: Store) -> None:
    repo = TrainingRepo(store)
    t0 = datetime(2025, 6, 1, tzinfo=UTC)
    val = {"r1": [0.9, 0.7, 0.65, 0.66], "r2": [0.8, 0.61, 0.62, 0.7]}
    for run, losses in val.items():
        for ep, v in enumerate(losses):
            when = t0 + timedelta(days=ep + (10 if run == "r2" else 0))
            repo.add_metrics(run, ep, {"val_loss": v, "train_loss": v * 1.1}, timestamp=when)
    curve = repo.metrics("val_loss")
    assert [(m.run_id, m.epoch, m.value) for m in curve] == [
        (r, e, v) for r in ("r1", "r2") for e, v in enumerate(val[r])]
    assert all(m.timestamp.tzinfo == UTC for m in curve)
    assert [m.epoch for m in repo.metrics("val_loss", since=t0 + timedelta(days=11))] == [1, 2, 3]
    assert {m.metric_type for m in repo.metrics(run_id="r1")} == {"val_loss", "train_loss"}
    repo.add_metrics("r1", 3, {"val_loss": 0.5}, timestamp=t0)  # re-recording an epoch replaces
    assert [m.value for m in repo.metrics("val_loss", run_id="r1") if m.epoch == 3] == [0.5]
    assert len(repo.metrics("val_loss", run_id="r1")) == 4

    assert repo.best_checkpoint() is None
    cps = [repo.add_checkpoint(run_id=r, model_version=f"{r}-e{e}", epoch=e, path=f"/m/{r}-{e}.pt",
                               val_loss=v, metrics={"mae": v / 2}) for r in val for e, v in enumerate(val[r])]
    best = repo.best_checkpoint()
    expected = min(cps, key=lambda c: c.val_loss)
    assert best is not None and best.id == expected.id and best.metrics == {"mae": expected.val_loss / 2}
    best_r1 = repo.best_checkpoint("r1")
    assert best_r1 is not None and best_r1.val_loss == min(val["r1"])
    assert [c.id for c in repo.checkpoints("r1")] == [c.id for c in reversed(cps[:4])]
    gone = repo.delete_checkpoint(expected.id)
    assert gone.path == expected.path
    assert repo.best_checkpoint().id != expected.id  # type: ignore[union-attr]
    with pytest.raises(RecordNotFound):
        repo.delete_checkpoint(expected.id)
    with pytest.raises(InputError) as err:
        repo.add_metrics("r1", 0, {"val_loss": math.nan})
    assert err.value.field == "values[val_loss]"


# -- snapshots, price_data, session bars, training samples ----------------------------------------
def test_snapshots_price_data_and_session_bars(store: Store, es_1min: Bars) -> None:
    repo = SnapshotsRepo(store)
    ts = datetime(2025, 7, 28, 13, 30, tzinfo=UTC)
    before = repo.add(symbol="ES1!", snapshot_type="before", timestamp=ts,
                      image_path="data/raw/ES1!_before_2025-07-28_063000.png", session_date=date(2025, 7, 28))
    candle = repo.add(symbol="ES1!", snapshot_type="session_candle", timestamp=ts + timedelta(minutes=15),
                      image_path="data/raw/ES1!_session_2025-07-28_15m_0645.png", interval_minutes=15,
                      bar_time=ts, session_date=date(2025, 7, 28))
    assert [s.id for s in repo.list_snapshots(symbol="ES1!")] == [candle.id, before.id]
    assert [s.id for s in repo.list_snapshots(snapshot_type="before")] == [before.id]
    got = repo.get(candle.id)
    assert got is not None and got.bar_time == ts and got.interval_minutes == 15

    bars = es_1min[:90]
    assert repo.add_price_data(before.id, bars) == 90
    assert repo.price_data(before.id).equals(bars)
    assert repo.save_session_bars("ES1!", date(2025, 7, 28), bars) == 90
    assert repo.save_session_bars("ES1!", date(2025, 7, 28), bars[80:]) == 10  # replaces, no duplicates
    assert repo.session_bars("es1!", date(2025, 7, 28)).equals(bars)
    assert len(repo.session_bars("ES1!", date(2025, 7, 29))) == 0

    samples = TrainingSamplesRepo(store)
    window = bars[30:]
    sample = samples.add(
        symbol="ES1!", anchor_time=window.bar(0).time, anchor_price=float(bars.close[29]),
        horizon_end=window.bar(len(window) - 1).time, label_close=float(window.close[-1]),
        label_high=float(window.high.max()), label_low=float(window.low.min()),
        features={"ret_30m": float(bars.close[29] / bars.open[0] - 1)}, snapshot_id=before.id,
        target_snapshot_id=candle.id, interval_minutes=15,
    )
    assert samples.count() == 1 and samples.count(split="val") == 0
    assert samples.list_samples(symbol="ES1!")[0].features == sample.features

    repo.delete(before.id)  # price_data goes with it (FK cascade), the sample keeps but unlinks
    assert len(repo.price_data(before.id)) == 0
    assert samples.list_samples()[0].snapshot_id is None
    assert samples.list_samples()[0].target_snapshot_id == candle.id


def test_snapshot_and_sample_validation(store: Store) -> None:
    repo = SnapshotsRepo(store)
    ts = datetime(2025, 7, 28, 13, 30, tzinfo=UTC)
    with pytest.raises(InputError) as err:
        repo.add(symbol="ES1!", snapshot_type="lunch", timestamp=ts, image_path="a.png")
    assert err.value.field == "snapshot_type"
    with pytest.raises(InputError) as err:
        repo.add(symbol="ES1!", snapshot_type="session_candle", timestamp=ts, image_path="a.png")
    assert err.value.field == "bar_time"
    with pytest.raises(RecordNotFound):
        repo.add_price_data(999, Bars.empty())
    samples = TrainingSamplesRepo(store)
    args: dict[str, object] = {"symbol": "ES1!", "anchor_time": ts, "anchor_price": 6400.0,
                               "horizon_end": ts + timedelta(hours=1), "label_close": 6410.0,
                               "label_high": 6405.0, "label_low": 6390.0, "features": {}}
    with pytest.raises(InputError) as err:
        samples.add(**args)  # type: ignore[arg-type]
    assert err.value.field == "label_close"
    with pytest.raises(RecordNotFound) as err:
        samples.add(**(args | {"label_close": 6400.0, "snapshot_id": 12345}))  # type: ignore[arg-type]
    assert err.value.field == "snapshot_id"
    assert samples.count() == 0
