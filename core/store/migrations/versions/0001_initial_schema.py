"""Initial schema: the DT tables (snapshots … user_notes) plus plans, iv_history, watchlists and
imported_bars.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Self-contained on purpose (no imports from core.store): a migration must keep meaning what it meant
when it was written, whatever the models become later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

UTC_TS = sa.DateTime(timezone=True)  # core.store.types.UTCDateTime renders to this
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")  # core.store.types.JSONType


def _id(table: str, name: str = "id") -> list[sa.SchemaItem]:
    return [sa.Column(name, sa.Integer(), nullable=False), sa.PrimaryKeyConstraint(name, name=f"pk_{table}")]


def _ohlcv() -> list[sa.Column]:
    return [sa.Column(c, sa.Double(), nullable=False) for c in ("open", "high", "low", "close", "volume")]


def upgrade() -> None:
    op.create_table(
        "snapshots",
        *_id("snapshots"),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("snapshot_type", sa.String(16), nullable=False),
        sa.Column("timestamp", UTC_TS, nullable=False),
        sa.Column("image_path", sa.String(1024), nullable=False),
        sa.Column("session_date", sa.Date(), nullable=True),
        sa.Column("interval_minutes", sa.Integer(), nullable=True),
        sa.Column("bar_time", UTC_TS, nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.CheckConstraint(
            "snapshot_type IN ('before', 'after', 'manual', 'session_candle')",
            name="ck_snapshots_snapshot_type",
        ),
    )
    op.create_index("ix_snapshots_symbol_timestamp", "snapshots", ["symbol", "timestamp"])

    op.create_table(
        "session_minute_bars",
        *_id("session_minute_bars"),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("session_date", sa.Date(), nullable=False),
        sa.Column("bar_time", UTC_TS, nullable=False),
        *_ohlcv(),
        sa.UniqueConstraint("symbol", "bar_time", name="uq_session_minute_bars_symbol_bar_time"),
    )
    op.create_index(
        "ix_session_minute_bars_symbol_session_date", "session_minute_bars", ["symbol", "session_date"]
    )

    op.create_table(
        "price_data",
        *_id("price_data"),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("timestamp", UTC_TS, nullable=False),
        *_ohlcv(),
        sa.ForeignKeyConstraint(
            ["snapshot_id"], ["snapshots.id"], name="fk_price_data_snapshot_id_snapshots", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("snapshot_id", "timestamp", name="uq_price_data_snapshot_id_timestamp"),
    )

    op.create_table(
        "training_samples",
        *_id("training_samples"),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=True),
        sa.Column("target_snapshot_id", sa.Integer(), nullable=True),
        sa.Column("session_date", sa.Date(), nullable=True),
        sa.Column("interval_minutes", sa.Integer(), nullable=True),
        sa.Column("image_path", sa.String(1024), nullable=True),
        sa.Column("anchor_time", UTC_TS, nullable=False),
        sa.Column("anchor_price", sa.Double(), nullable=False),
        sa.Column("horizon_end", UTC_TS, nullable=False),
        sa.Column("label_close", sa.Double(), nullable=False),
        sa.Column("label_high", sa.Double(), nullable=False),
        sa.Column("label_low", sa.Double(), nullable=False),
        sa.Column("features", JSON, nullable=False),
        sa.Column("split", sa.String(8), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["snapshot_id"], ["snapshots.id"],
            name="fk_training_samples_snapshot_id_snapshots", ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["target_snapshot_id"], ["snapshots.id"],
            name="fk_training_samples_target_snapshot_id_snapshots", ondelete="SET NULL",
        ),
    )
    op.create_index(
        "ix_training_samples_symbol_anchor_time", "training_samples", ["symbol", "anchor_time"]
    )

    op.create_table(
        "model_checkpoints",
        *_id("model_checkpoints"),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("val_loss", sa.Double(), nullable=False),
        sa.Column("train_loss", sa.Double(), nullable=True),
        sa.Column("metrics", JSON, nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
    )
    op.create_index("ix_model_checkpoints_run_id_epoch", "model_checkpoints", ["run_id", "epoch"])

    op.create_table(
        "learning_metrics",
        *_id("learning_metrics"),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("metric_type", sa.String(64), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("timestamp", UTC_TS, nullable=False),
        sa.UniqueConstraint(
            "run_id", "epoch", "metric_type", name="uq_learning_metrics_run_id_epoch_metric_type"
        ),
    )
    op.create_index(
        "ix_learning_metrics_metric_type_timestamp", "learning_metrics", ["metric_type", "timestamp"]
    )

    op.create_table(
        "predictions",
        *_id("predictions", "prediction_id"),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("user_expected_price", sa.Double(), nullable=True),
        sa.Column("model_predicted_price", sa.Double(), nullable=False),
        sa.Column("probability_hit", sa.Double(), nullable=True),
        sa.Column("model_confidence", sa.Double(), nullable=True),
        sa.Column("learning_score", sa.Double(), nullable=True),
        sa.Column("timestamp", UTC_TS, nullable=False),
        sa.Column("anchor_price", sa.Double(), nullable=False),
        sa.Column("anchor_time", UTC_TS, nullable=False),
        sa.Column("horizon_end", UTC_TS, nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("predicted_high", sa.Double(), nullable=True),
        sa.Column("predicted_low", sa.Double(), nullable=True),
        sa.Column("interval_minutes", sa.Integer(), nullable=True),
        sa.Column("image_path", sa.String(1024), nullable=True),
        sa.Column("actual_price", sa.Double(), nullable=True),
        sa.Column("actual_high", sa.Double(), nullable=True),
        sa.Column("actual_low", sa.Double(), nullable=True),
        sa.Column("was_hit", sa.Boolean(), nullable=True),
        sa.Column("resolved_at", UTC_TS, nullable=True),
    )
    op.create_index("ix_predictions_symbol_timestamp", "predictions", ["symbol", "timestamp"])
    op.create_index("ix_predictions_horizon_end", "predictions", ["horizon_end"])

    op.create_table(
        "user_notes",
        *_id("user_notes"),
        sa.Column("title", sa.String(200), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=True),
        sa.Column("prediction_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["prediction_id"], ["predictions.prediction_id"],
            name="fk_user_notes_prediction_id_predictions", ondelete="SET NULL",
        ),
    )
    op.create_index("ix_user_notes_created_at", "user_notes", ["created_at"])

    op.create_table(
        "plans",
        *_id("plans"),
        sa.Column("plan_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("playbook", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.CheckConstraint("direction IN ('long', 'short')", name="ck_plans_direction"),
        sa.UniqueConstraint("plan_id", "version", name="uq_plans_plan_id_version"),
    )
    op.create_index("ix_plans_symbol_created_at", "plans", ["symbol", "created_at"])

    op.create_table(
        "iv_history",
        *_id("iv_history"),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("atm_iv", sa.Double(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.UniqueConstraint("symbol", "date", name="uq_iv_history_symbol_date"),
    )

    op.create_table(
        "watchlists",
        *_id("watchlists"),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("symbols", JSON, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.UniqueConstraint("name", name="uq_watchlists_name"),
    )

    op.create_table(
        "imported_bars",
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("interval", sa.String(8), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),  # bar start, UTC ns since the epoch
        *_ohlcv(),
        sa.Column("source", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("symbol", "interval", "ts", name="pk_imported_bars"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    for table in (
        "imported_bars", "watchlists", "iv_history", "plans", "user_notes", "predictions",
        "learning_metrics", "model_checkpoints", "training_samples", "price_data",
        "session_minute_bars", "snapshots",
    ):
        op.drop_table(table)  # indexes go with their table
