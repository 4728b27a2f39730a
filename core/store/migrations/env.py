"""Alembic environment. Run through `Store.migrate()`, which hands over an open connection."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from core.store.note_search import include_object
from core.store.schema import Base

config = context.config
target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # The notes' search objects (FTS5 tables, the tsvector index) are raw DDL, not models.
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if context.is_offline_mode() or connection is None:
    raise RuntimeError("run migrations through core.store.Store.migrate(), not the alembic CLI")
run_migrations(connection)
