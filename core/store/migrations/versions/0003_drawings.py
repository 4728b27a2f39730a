"""Chart drawings (per symbol, shown on every interval) and price alerts on levels and drawings.

Revision ID: 0003_drawings
Revises: 0002_jobs
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_drawings"
down_revision: str | None = "0002_jobs"
branch_labels: str | None = None
depends_on: str | None = None

UTC_TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "chart_drawings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("points", JSON, nullable=False),
        sa.Column("text", sa.String(500), nullable=True),
        sa.Column("color", sa.String(16), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chart_drawings"),
        sa.CheckConstraint("kind IN ('hline', 'trend', 'rect', 'text')", name="ck_chart_drawings_kind"),
    )
    op.create_index("ix_chart_drawings_symbol", "chart_drawings", ["symbol"])
    op.create_table(
        "price_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("price", sa.Double(), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("drawing_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("triggered_at", UTC_TS, nullable=True),
        sa.Column("triggered_price", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_price_alerts"),
        sa.ForeignKeyConstraint(["drawing_id"], ["chart_drawings.id"], ondelete="CASCADE",
                                name="fk_price_alerts_drawing_id_chart_drawings"),
        sa.CheckConstraint("status IN ('active', 'triggered')", name="ck_price_alerts_status"),
    )
    op.create_index("ix_price_alerts_symbol_status", "price_alerts", ["symbol", "status"])


def downgrade() -> None:
    op.drop_index("ix_price_alerts_symbol_status", table_name="price_alerts")
    op.drop_table("price_alerts")
    op.drop_index("ix_chart_drawings_symbol", table_name="chart_drawings")
    op.drop_table("chart_drawings")
