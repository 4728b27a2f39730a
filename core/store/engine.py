"""Opening the database: SQLite (default, a file in the data dir) or PostgreSQL (DB_URL).

SQLite runs in WAL mode with synchronous=FULL: a transaction whose commit returned survives a
killed process *and* a power cut (NORMAL only survives the former). Transactions are begun
explicitly (pysqlite's implicit BEGIN is switched off) so DDL in migrations is transactional too.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core.errors import DataError, InputError, TradeCoachError

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 10_000   # WAL switch retries and plain statements
WRITE_BUSY_TIMEOUT_S = 60.0       # how long a writer waits for another process's write transaction
SLOW_LOCK_WAIT_S = 1.0            # a longer wait for the write lock is logged as a warning
WRITE_OPTION = _WRITE = "tradecoach_write"  # execution option marking a read-write transaction


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file (made absolute so a later chdir cannot move it)."""
    return f"sqlite+pysqlite:///{Path(path).expanduser().resolve()}"


class StoreBusyError(DataError):
    """Another process held the database's write lock for longer than the busy timeout."""


class StoreUnavailableError(TradeCoachError):
    """The database could not be opened: its server is down or unreachable, the login is refused,
    the file cannot be written. The message names db_url (without its password) and the reason."""


def _on_sqlite_connect(busy_timeout_s: float, dbapi_conn: Any, _record: Any) -> None:
    # Autocommit at the driver level; SQLAlchemy's "begin" event below issues BEGIN itself.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    try:
        cur.execute(f"PRAGMA busy_timeout = {int(max(busy_timeout_s * 1000, SQLITE_BUSY_TIMEOUT_MS))}")
        _enable_wal(cur)
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
    finally:
        cur.close()


def _enable_wal(cur: Any) -> None:
    """WAL is a property of the file, set once. Switching to it needs the database to itself and
    SQLite answers "database is locked" at once, without the busy handler, when two processes
    open a new file together — so retry for as long as the busy timeout would have waited."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _on_sqlite_begin(busy_timeout_s: float, conn: Any) -> None:
    # A writer takes the write lock up front: a deferred BEGIN that later upgrades from read to write
    # fails at once with "database is locked" when another writer got in between (busy_timeout
    # cannot help then), while BEGIN IMMEDIATE simply waits its turn — bounded, and reported.
    if not conn.get_execution_options().get(_WRITE):
        conn.exec_driver_sql("BEGIN")
        return
    started = time.monotonic()
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
        waited = time.monotonic() - started
        log.error("store: gave up waiting for the write lock after %.1f s", waited)
        raise StoreBusyError(
            f"database: busy — another process held the write lock longer than the {busy_timeout_s:g} s busy "
            f"timeout (waited {waited:.1f} s); retry when its import or migration has finished") from exc
    waited = time.monotonic() - started
    if waited > SLOW_LOCK_WAIT_S:
        log.warning("store: waited %.1f s for the write lock (another process was writing)", waited)


def _lock_schema(conn: Connection) -> None:
    """Two processes starting at once (app + API server) must not both run the same migration.

    SQLite is already serialised by BEGIN IMMEDIATE; PostgreSQL takes a transaction-scoped lock.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('tradecoach:migrate'))"))


class Store:
    """The database behind the kernel: one engine, sessions, and schema migrations."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(engine.execution_options(**{_WRITE: True}),
                                            expire_on_commit=False)

    @property
    def url(self) -> str:
        """The URL without its password (safe to log)."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises.

        Pass write=True when the block writes: on SQLite it then waits for the write lock at BEGIN
        instead of failing halfway; on PostgreSQL it makes no difference.
        """
        factory = self._write_sessions if write else self._sessions
        with factory() as session, session.begin():
            yield session

    # -- migrations ---------------------------------------------------------------------------
    def alembic_config(self) -> Config:
        """An Alembic config built in code (no alembic.ini): works from a wheel or a frozen app."""
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.set_main_option("path_separator", "os")
        return cfg

    def migrate(self, revision: str = "head") -> None:
        """Upgrade the schema to `revision` (default the newest); a no-op when already there.

        The revision is first read without the write lock, so opening a current store never waits for
        (or fails because of) another process's long write transaction.
        """
        from alembic import command

        if revision == "head" and self.is_current():
            return
        cfg = self.alembic_config()
        with self.engine.execution_options(**{_WRITE: True}).begin() as conn:
            _lock_schema(conn)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    def downgrade(self, revision: str) -> None:
        """Downgrade the schema (tests and manual recovery; "base" drops every table)."""
        from alembic import command

        cfg = self.alembic_config()
        with self.engine.execution_options(**{_WRITE: True}).begin() as conn:
            _lock_schema(conn)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, revision)

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        return _head_revision()

    def is_current(self) -> bool:
        """True when the database is at the newest migration."""
        return self.current_revision() == self.head_revision()

    def close(self) -> None:
        self.engine.dispose()


@functools.cache
def _head_revision() -> str | None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    return ScriptDirectory.from_config(cfg).get_current_head()


def open_ready_store(url: str | Path, *, migrate: bool = True, busy_timeout_s: float = WRITE_BUSY_TIMEOUT_S) -> Store:
    """The one way for an app, CLI or worker to open its database: a SQLite file path or any URL
    `open_store` takes; the SQLite folder is created, and the schema upgraded unless migrate=False
    (checked without the write lock when it is already current)."""
    url = sqlite_url(url) if isinstance(url, Path) else url
    store = open_store(url, busy_timeout_s=busy_timeout_s)
    if migrate:
        try:
            store.migrate()
        except OperationalError as exc:
            store.close()
            # the first contact with the database: say which one and why, not a driver traceback
            reason = str(exc.orig or exc).strip().splitlines()[0]
            shown = make_url(url).render_as_string(hide_password=True)
            raise StoreUnavailableError(f"db_url: cannot open the database {shown}: {reason}") from exc
        except BaseException:
            store.close()
            raise
    return store


def open_store(url: str, *, echo: bool = False, busy_timeout_s: float = WRITE_BUSY_TIMEOUT_S) -> Store:
    """Create the engine for `url` (sqlite+pysqlite:///path or postgresql+psycopg://...).

    Does not touch the schema: call `Store.migrate()` once at start-up (or use `open_ready_store`).
    A writer waits up to `busy_timeout_s` for another process's write transaction, then raises
    StoreBusyError naming the timeout.
    """
    if not busy_timeout_s > 0:
        raise InputError("busy_timeout_s", "must be a positive number of seconds")
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InputError("db_url", f"not a database URL: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise InputError("db_url", "SQLite needs a file path (an in-memory database is not durable)")
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # Pooled connections move between threads (API server, GUI executor), one user at a time.
        engine = create_engine(parsed, echo=echo, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", functools.partial(_on_sqlite_connect, busy_timeout_s))
        event.listen(engine, "begin", functools.partial(_on_sqlite_begin, busy_timeout_s))
    elif backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            raise InputError("db_url", "use the psycopg 3 driver: postgresql+psycopg://user@host/db")
        engine = create_engine(parsed, echo=echo, pool_pre_ping=True)
    else:
        raise InputError("db_url", f"unsupported database {backend!r}; use sqlite or postgresql")
    log.info("store: %s", engine.url.render_as_string(hide_password=True))
    return Store(engine)


def sqlite_pragma(store: Store, name: str) -> Any:
    """Read one PRAGMA (diagnostics and tests)."""
    if store.dialect != "sqlite":
        raise InputError("pragma", "only SQLite has PRAGMAs")
    if not name.replace("_", "").isalpha():
        raise InputError("pragma", f"{name!r} is not a PRAGMA name")
    with store.engine.connect() as conn:
        return conn.execute(text(f"PRAGMA {name}")).scalar()
