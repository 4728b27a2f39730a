"""The store under concurrency, with real processes: one holds a long write transaction (as a long
import does) while another opens + migrates the store and a third imports a file.

Before the fix, `migrate()` took the write lock even on a current schema, so the app could not start
while an import wrote ("database is locked"), and writers gave up after a fixed 10 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from core.store import ImportedBarsRepo, StoreBusyError, import_bars_file, open_ready_store, open_store, sqlite_url
from tests.store_helpers import PG_MISSING, REPO, pg_base_url, pg_isolated_url

HOLDER = """
import sys
from datetime import UTC, datetime
from core.store import open_ready_store
from core.store.schema import UserNote
store = open_ready_store(sys.argv[1])
now = datetime.now(UTC)
with store.session(write=True) as s:
    s.add(UserNote(content="held", created_at=now, updated_at=now))
    s.flush()
    print("held", flush=True)
    sys.stdin.readline()          # keep the write transaction open until the test says so
print("released", flush=True)
"""

IMPORTER = """
import logging, sys
from core.store import open_ready_store, import_bars_file
logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
store = open_ready_store(sys.argv[1])
res = import_bars_file(store, sys.argv[2], "SPY", progress=lambda f, m: print("progress", f, flush=True))
print("counts", res.inserted, res.replaced, res.left, flush=True)
"""


def _spawn(code: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=REPO, env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(proc: subprocess.Popen[str], prefix: str) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(prefix):
            return line
    raise AssertionError(f"process ended without {prefix!r}: {proc.stderr.read() if proc.stderr else ''}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "data" / "tradecoach.db")
        return
    base = pg_base_url()
    if base is None:
        if os.environ.get("CI"):
            pytest.fail(PG_MISSING)
        pytest.skip(PG_MISSING)
    with pg_isolated_url(base) as pg:
        yield pg


def _bars_csv(tmp: Path, n: int = 2000) -> Path:
    ts = pd.date_range("2024-01-02 09:30", periods=n, freq="1min")
    df = pd.DataFrame({"timestamp": ts.strftime("%Y-%m-%d %H:%M"), "open": 100.0, "high": 101.0, "low": 99.0,
                       "close": 100.5, "volume": 10})
    path = tmp / "bars.csv"
    df.to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_app_opens_and_importer_waits_while_another_process_writes(url: str, tmp_path: Path) -> None:
    open_ready_store(url).close()                     # the schema exists, as after a first start
    holder = _spawn(HOLDER, url)
    importer: subprocess.Popen[str] | None = None
    try:
        _wait_for(holder, "held")
        # The app starting now: opens and "migrates" a current store without waiting for the writer.
        store = open_ready_store(url)
        assert store.is_current()
        store.close()
        assert holder.poll() is None, "the writer still holds its transaction"
        importer = _spawn(IMPORTER, url, str(_bars_csv(tmp_path)))
        _wait_for(importer, "progress 1.0")            # file read and staged; now it waits for the lock
        if url.startswith("sqlite"):
            short = open_store(url, busy_timeout_s=0.3)
            with pytest.raises(StoreBusyError, match=r"longer than the 0.3 s busy timeout"):
                import_bars_file(short, _bars_csv(tmp_path, 10), "QQQ")
            short.close()
        time.sleep(1.3)
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        _wait_for(holder, "released")
        assert _wait_for(importer, "counts").split() == ["counts", "2000", "0", "0"]
        importer.wait(30)
        assert importer.returncode == 0
        if url.startswith("sqlite"):   # the wait was reported (PostgreSQL writers do not block each other here)
            assert importer.stderr is not None and "waited" in importer.stderr.read()
    finally:
        for proc in (holder, importer):
            if proc is not None and proc.poll() is None:
                proc.kill()
            if proc is not None:
                proc.wait(10)
    check = open_ready_store(url)
    assert len(ImportedBarsRepo(check).load("SPY", "1m")) == 2000
    check.close()


@pytest.mark.slow
def test_two_concurrent_imports_both_land(url: str, tmp_path: Path) -> None:
    open_ready_store(url).close()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    procs = [_spawn(IMPORTER, url, str(_bars_csv(tmp_path / d, 30_000))) for d in ("a", "b")]
    out = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in out]
    counts = sorted(next(line for line in o[0].splitlines() if line.startswith("counts")) for o in out)
    # Both import the same SPY range: the second one replaces what the first inserted.
    assert counts == ["counts 30000 0 0", "counts 30000 30000 0"]


def test_open_ready_store_makes_the_folder_and_migrates(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "tradecoach.db"
    store = open_ready_store(path)
    assert path.exists() and store.is_current()
    store.close()
    bare = open_ready_store(tmp_path / "c" / "x.db", migrate=False)
    assert bare.current_revision() is None
    bare.close()


def test_a_writer_reports_a_long_wait_and_names_the_timeout(tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    """Two engines on one file behave like two processes: SQLite locks the file, not the engine."""
    import threading
    from datetime import UTC, datetime

    from core.store import NotesRepo
    from core.store.schema import UserNote

    url = sqlite_url(tmp_path / "t.db")
    holder = open_ready_store(url)
    hold = holder.session(write=True)
    s = hold.__enter__()
    now = datetime.now(UTC)
    s.add(UserNote(content="held", created_at=now, updated_at=now))
    s.flush()
    impatient = open_store(url, busy_timeout_s=0.2)
    with pytest.raises(StoreBusyError, match=r"longer than the 0.2 s busy timeout"):
        NotesRepo(impatient).add("too early")
    patient = open_store(url, busy_timeout_s=10)
    threading.Timer(1.3, lambda: hold.__exit__(None, None, None)).start()
    with caplog.at_level("WARNING", logger="core.store.engine"):
        NotesRepo(patient).add("after the wait")
    assert any("waited" in r.getMessage() and "write lock" in r.getMessage() for r in caplog.records)
    assert {n.content for n in NotesRepo(patient).list_notes()} >= {"held", "after the wait"}
    for st in (holder, impatient, patient):
        st.close()
