"""Crash durability: a writer process is SIGKILLed at random moments; every transaction it saw
commit must still be there, whole, and the database must stay consistent and at the newest migration.

Writers are forked from a pre-imported server process (tests/store_helpers.py) so that twenty kill
rounds cost seconds, not twenty interpreter start-ups; each writer is still its own process with its
own connections, killed with SIGKILL.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select, text

from core.store import open_store, sqlite_url
from core.store.schema import Prediction, UserNote
from tests.store_helpers import PG_MISSING, REPO, note_text, pg_base_url, pg_isolated_url

KILLS = 20
WRITER = Path(__file__).with_name("store_helpers.py")


@dataclass
class CrashStats:
    kills: int = 0
    kills_mid_stream: int = 0  # the writer had already reported commits when it died
    reported: set[int] = field(default_factory=set)  # prediction ids the writer saw committed
    rows_after: int = 0  # rows found after the last kill (≥ reported: a commit may beat its print)


def _read_lines(stream: object, sink: list[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        sink.append(line)


def _check(url: str, stats: CrashStats, note_ids: set[int]) -> None:
    store = open_store(url)
    try:
        with store.engine.connect() as conn:
            if store.dialect == "sqlite":
                assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
                assert conn.execute(text("PRAGMA foreign_key_check")).first() is None
        assert store.is_current(), f"schema at {store.current_revision()} after a kill"
        with store.session() as s:
            preds = set(s.scalars(select(Prediction.prediction_id)))
            notes = {nid: (pid, content) for nid, pid, content in
                     s.execute(select(UserNote.id, UserNote.prediction_id, UserNote.content))}
        missing = stats.reported - preds
        assert not missing, f"committed predictions lost after kill {stats.kills}: {sorted(missing)[:10]}"
        assert not note_ids - notes.keys(), "committed notes lost"
        # Atomicity: each transaction wrote a prediction and its note; never one without the other.
        assert {pid for pid, _ in notes.values()} == preds
        for pid, content in notes.values():
            assert content == note_text(pid), f"note of prediction {pid} is torn"
        stats.rows_after = len(preds)
    finally:
        store.close()


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.002)
    pytest.fail(f"writer {pid} still exists after SIGKILL")


def _crash_loop(url: str, seed: int, workdir: Path) -> CrashStats:
    rng = random.Random(seed)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    server = subprocess.Popen([sys.executable, str(WRITER), "fork-server", url], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)
    assert server.stdin is not None and server.stdout is not None
    stats = CrashStats()
    note_ids: set[int] = set()
    try:
        for round_no in range(KILLS):
            fifo = workdir / f"round{round_no}.fifo"
            os.mkfifo(fifo)
            server.stdin.write(f"{fifo}\n")
            server.stdin.flush()
            pid = int(server.stdout.readline())
            lines: list[str] = []
            # Opening the read end waits for the writer to open its end; EOF later means it is dead.
            reader = threading.Thread(target=_read_fifo, args=(fifo, lines), daemon=True)
            reader.start()
            # Most kills land while rows stream in; some land during start-up and the migration check.
            if round_no == 0 or rng.random() < 0.75:
                deadline = time.monotonic() + 30
                while not lines and time.monotonic() < deadline:
                    time.sleep(0.002)
                assert lines, f"writer {pid} reported nothing within 30 s"
                time.sleep(rng.uniform(0.0, 0.3))
            else:
                time.sleep(rng.uniform(0.0, 0.3))
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid)
            reader.join(timeout=10)
            assert not reader.is_alive(), "FIFO still open after the writer was killed"
            stats.kills += 1
            stats.kills_mid_stream += bool(lines)
            for line in lines:
                if line.endswith("\n"):  # a half-written last line proves nothing either way
                    p_id, n_id = line.split()
                    stats.reported.add(int(p_id))
                    note_ids.add(int(n_id))
            _check(url, stats, note_ids)
    finally:
        server.stdin.close()
        server.wait(timeout=10)
    return stats


def _read_fifo(path: Path, sink: list[str]) -> None:
    with open(path) as f:
        _read_lines(f, sink)


def test_sqlite_survives_sigkill(tmp_path: Path) -> None:
    stats = _crash_loop(sqlite_url(tmp_path / "crash.db"), seed=1, workdir=tmp_path)
    assert stats.kills == KILLS and stats.kills_mid_stream >= KILLS // 2
    assert len(stats.reported) > KILLS and stats.rows_after >= len(stats.reported)
    print(f"sqlite: {stats.kills} kills ({stats.kills_mid_stream} mid-stream), "
          f"{len(stats.reported)} reported commits, {stats.rows_after} rows, none lost")


@pytest.fixture
def pg_url() -> Iterator[str]:
    base = pg_base_url()
    if base is None:
        if os.environ.get("CI"):
            pytest.fail(PG_MISSING)
        pytest.skip(PG_MISSING)
    with pg_isolated_url(base) as url:
        yield url


@pytest.mark.postgres
def test_postgresql_survives_client_sigkill(pg_url: str, tmp_path: Path) -> None:
    stats = _crash_loop(pg_url, seed=2, workdir=tmp_path)
    assert stats.kills == KILLS and stats.kills_mid_stream >= KILLS // 2
    assert len(stats.reported) > KILLS and stats.rows_after >= len(stats.reported)
    print(f"postgresql: {stats.kills} kills ({stats.kills_mid_stream} mid-stream), "
          f"{len(stats.reported)} reported commits, {stats.rows_after} rows, none lost")
