"""Helpers for the storage tests: real data, per-test PostgreSQL schemas, and the crash-test writer.

Run as a script (`python tests/store_helpers.py fork-server URL`) it forks, on request, the writer
processes that the durability test SIGKILLs: each commits one prediction + one note per transaction
and writes "<prediction_id> <note_id>" to a FIFO only after the commit has returned.
"""

from __future__ import annotations

import hashlib
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PG_ENV = "TRADECOACH_TEST_PG_URL"


def shared_data_dir() -> Path:
    env = os.environ.get("TRADECOACH_SHARED_DATA")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    if not path.is_dir():
        raise FileNotFoundError(f"shared data not found at {path}; set TRADECOACH_SHARED_DATA")
    return path


def pg_base_url() -> str | None:
    """The test server URL, or None when it is not configured (callers fail on CI, skip locally)."""
    return os.environ.get(PG_ENV) or None


PG_MISSING = (
    f"{PG_ENV} is not set: start the test server with `eval \"$(.ci/start-postgres)\"` "
    "(PostgreSQL tests are mandatory when CI is set)"
)


@contextmanager
def pg_isolated_url(base_url: str) -> Iterator[str]:
    """A URL whose connections work in a fresh schema (via search_path); the schema is dropped after."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base_url, poolclass=NullPool)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(base_url).update_query_dict(
            {"options": f"-csearch_path={schema}", "application_name": schema}
        )
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            # Sessions killed by the durability test may linger a moment; end them first.
            conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND application_name = :app"), {"app": schema})
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def note_text(prediction_id: int) -> str:
    """The note the writer stores for a prediction: a checksum shows a torn or mixed-up row."""
    digest = hashlib.sha256(str(prediction_id).encode()).hexdigest()
    return f"durability prediction {prediction_id} " + digest * 8


def _write_forever(url: str, out_path: str) -> None:
    """Commit one prediction + its note per transaction; report "<prediction_id> <note_id>" after commit."""
    from core.store.engine import open_store
    from core.store.schema import Prediction, UserNote

    with open(out_path, "w", buffering=1) as out:  # a FIFO the test reads
        store = open_store(url)
        store.migrate()
        while True:
            now = datetime.now(UTC)
            with store.session(write=True) as s:
                pred = Prediction(symbol="SPY", model_predicted_price=401.25, anchor_price=400.5,
                                  anchor_time=now, horizon_end=now + timedelta(hours=1),
                                  model_version="durability", timestamp=now)
                s.add(pred)
                s.flush()
                note = UserNote(content=note_text(pred.prediction_id), symbol="SPY",
                                prediction_id=pred.prediction_id, created_at=now, updated_at=now)
                s.add(note)
                s.flush()
                ids = (pred.prediction_id, note.id)
            # Only here has the commit returned.
            out.write(f"{ids[0]} {ids[1]}\n")
            out.flush()


def _fork_server(url: str) -> None:
    """Import once, then fork one writer per request: a kill round costs no interpreter start-up.

    Each stdin line names a FIFO; the reply line is the writer's pid. No engine exists before the
    fork, so every writer opens its own connections.
    """
    import signal
    import traceback

    import alembic.command  # noqa: F401 - warm the import for the forked writers
    from sqlalchemy import create_engine

    import core.store.engine
    import core.store.schema  # noqa: F401

    # Load the dialect and driver modules now; no connection is made, so forking stays safe.
    create_engine(url).dispose()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # writers are reaped automatically
    for line in sys.stdin:
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                _write_forever(url, line.strip())
            except BaseException:  # noqa: BLE001 - report and exit the forked child, never return to the loop
                traceback.print_exc()
                os._exit(1)
            os._exit(0)
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "fork-server":
        sys.exit("usage: store_helpers.py fork-server DB_URL")
    _fork_server(sys.argv[2])
