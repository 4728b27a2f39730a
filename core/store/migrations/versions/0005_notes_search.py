"""Notes as a first-class tool: tags (many per note), a link to a plan or a capture (the prediction
link already exists), and full-text search — SQLite: an external-content FTS5 table kept in step by
triggers; PostgreSQL: a stored generated tsvector column (title weighted A, content B) with a GIN index.

The DDL below is written out in full (not imported from core.store.note_search) so this revision
stays what it was when later code changes.

Revision ID: 0005_notes_search
Revises: 0003_api_users
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005_notes_search"
down_revision: str | None = "0003_api_users"
branch_labels: str | None = None
depends_on: str | None = None

PG_VECTOR = ("(setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || "
             "setweight(to_tsvector('english'::regconfig, content), 'B'))")

SQLITE_FTS = [
    # External content: the text lives once, in user_notes; the FTS table holds only the index.
    "CREATE VIRTUAL TABLE user_notes_fts USING fts5(title, content, content='user_notes', "
    "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER user_notes_fts_ai AFTER INSERT ON user_notes BEGIN "
    "INSERT INTO user_notes_fts(rowid, title, content) VALUES (new.id, new.title, new.content); END",
    "CREATE TRIGGER user_notes_fts_ad AFTER DELETE ON user_notes BEGIN "
    "INSERT INTO user_notes_fts(user_notes_fts, rowid, title, content) "
    "VALUES ('delete', old.id, old.title, old.content); END",
    # Only a change of the indexed text re-indexes (tag or link edits leave the index alone).
    "CREATE TRIGGER user_notes_fts_au AFTER UPDATE OF title, content ON user_notes BEGIN "
    "INSERT INTO user_notes_fts(user_notes_fts, rowid, title, content) "
    "VALUES ('delete', old.id, old.title, old.content); "
    "INSERT INTO user_notes_fts(rowid, title, content) VALUES (new.id, new.title, new.content); END",
    # Index the notes written before this revision.
    "INSERT INTO user_notes_fts(user_notes_fts) VALUES ('rebuild')",
]
SQLITE_FTS_DROP = [
    "DROP TRIGGER IF EXISTS user_notes_fts_au",
    "DROP TRIGGER IF EXISTS user_notes_fts_ad",
    "DROP TRIGGER IF EXISTS user_notes_fts_ai",
    "DROP TABLE IF EXISTS user_notes_fts",
]


def upgrade() -> None:
    with op.batch_alter_table("user_notes") as batch:
        batch.add_column(sa.Column("plan_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("plan_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("capture_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("capture_path", sa.String(1024), nullable=True))
        batch.create_foreign_key("fk_user_notes_capture_id_snapshots", "snapshots", ["capture_id"], ["id"],
                                 ondelete="SET NULL")
        batch.create_index("ix_user_notes_symbol", ["symbol"])
        batch.create_index("ix_user_notes_plan_id", ["plan_id"])
    op.create_table(
        "note_tags",
        sa.Column("note_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["note_id"], ["user_notes.id"], name="fk_note_tags_note_id_user_notes",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("note_id", "tag", name="pk_note_tags"),
    )
    op.create_index("ix_note_tags_tag", "note_tags", ["tag"])
    if op.get_bind().dialect.name == "sqlite":
        for stmt in SQLITE_FTS:
            op.execute(stmt)
    else:
        op.execute(f"ALTER TABLE user_notes ADD COLUMN search_vector tsvector GENERATED ALWAYS AS {PG_VECTOR} STORED")
        op.execute("CREATE INDEX ix_user_notes_search ON user_notes USING gin (search_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for stmt in SQLITE_FTS_DROP:
            op.execute(stmt)
    else:
        op.execute("DROP INDEX IF EXISTS ix_user_notes_search")
        op.execute("ALTER TABLE user_notes DROP COLUMN IF EXISTS search_vector")
    op.drop_index("ix_note_tags_tag", table_name="note_tags")
    op.drop_table("note_tags")
    with op.batch_alter_table("user_notes") as batch:
        batch.drop_index("ix_user_notes_plan_id")
        batch.drop_index("ix_user_notes_symbol")
        batch.drop_constraint("fk_user_notes_capture_id_snapshots", type_="foreignkey")
        batch.drop_column("capture_path")
        batch.drop_column("capture_id")
        batch.drop_column("plan_version")
        batch.drop_column("plan_id")
