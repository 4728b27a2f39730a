"""API users: hashed bearer tokens, and an `owner` on the user's own rows (notes, plans, predictions,
watchlists) so one token's user never sees another's. Existing rows belong to "local" (the window).

Revision ID: 0003_api_users
Revises: 0003_drawings
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_api_users"
down_revision: str | None = "0003_drawings"
branch_labels: str | None = None
depends_on: str | None = None

OWNED = ("user_notes", "plans", "predictions", "watchlists")


def upgrade() -> None:
    for table in OWNED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("owner", sa.String(64), server_default="local", nullable=False))
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(12), nullable=False),
        sa.Column("admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_index("ix_api_tokens_user", "api_tokens", ["user"])


def downgrade() -> None:
    op.drop_index("ix_api_tokens_user", table_name="api_tokens")
    op.drop_table("api_tokens")
    for table in OWNED:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("owner")
