"""ORM tables. Column names follow the DT backend where one existed so exports stay familiar.

Every change here needs a new migration in `migrations/versions/` (the migration test compares the two).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.store.types import JSONType, UTCDateTime

# Named constraints make migrations reproducible on every dialect (SQLite needs names to alter them).
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SNAPSHOT_TYPES = ("before", "after", "manual", "session_candle")
DIRECTIONS = ("long", "short")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        float: Double(),
        dict[str, Any]: JSONType,
        list[str]: JSONType,
    }


# -- DT: screenshots and the bars around them ----------------------------------------------------
class Snapshot(Base):
    __tablename__ = "snapshots"
    __table_args__ = (
        CheckConstraint(
            "snapshot_type IN ('before', 'after', 'manual', 'session_candle')", name="snapshot_type"
        ),
        Index("ix_snapshots_symbol_timestamp", "symbol", "timestamp"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32))
    snapshot_type: Mapped[str] = mapped_column(String(16))
    timestamp: Mapped[datetime]
    image_path: Mapped[str] = mapped_column(String(1024))
    session_date: Mapped[date | None] = mapped_column(Date)
    interval_minutes: Mapped[int | None] = mapped_column(Integer)
    bar_time: Mapped[datetime | None]  # bar start, for session_candle shots
    created_at: Mapped[datetime]


class SessionMinuteBar(Base):
    """Minute bars of a session window (the DT labels for session_candle samples)."""

    __tablename__ = "session_minute_bars"
    __table_args__ = (
        UniqueConstraint("symbol", "bar_time"),
        Index("ix_session_minute_bars_symbol_session_date", "symbol", "session_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32))
    session_date: Mapped[date] = mapped_column(Date)
    bar_time: Mapped[datetime]  # bar start, UTC
    open: Mapped[float]
    high: Mapped[float]
    low: Mapped[float]
    close: Mapped[float]
    volume: Mapped[float]


class PriceData(Base):
    """OHLCV bars captured together with a snapshot."""

    __tablename__ = "price_data"
    __table_args__ = (UniqueConstraint("snapshot_id", "timestamp"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"))
    symbol: Mapped[str] = mapped_column(String(32))
    timestamp: Mapped[datetime]  # bar start, UTC
    open: Mapped[float]
    high: Mapped[float]
    low: Mapped[float]
    close: Mapped[float]
    volume: Mapped[float]


class TrainingSample(Base):
    """One labelled example: the input snapshot, the anchor it was taken at, and what happened next."""

    __tablename__ = "training_samples"
    __table_args__ = (Index("ix_training_samples_symbol_anchor_time", "symbol", "anchor_time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32))
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshots.id", ondelete="SET NULL"))
    target_snapshot_id: Mapped[int | None] = mapped_column(
        ForeignKey("snapshots.id", ondelete="SET NULL")
    )
    session_date: Mapped[date | None] = mapped_column(Date)
    interval_minutes: Mapped[int | None] = mapped_column(Integer)
    image_path: Mapped[str | None] = mapped_column(String(1024))
    anchor_time: Mapped[datetime]  # everything in `features` must be known at this instant
    anchor_price: Mapped[float]
    horizon_end: Mapped[datetime]
    label_close: Mapped[float]
    label_high: Mapped[float]
    label_low: Mapped[float]
    features: Mapped[dict[str, Any]]
    split: Mapped[str] = mapped_column(String(8))  # train | val | test (chosen by time, never random)
    created_at: Mapped[datetime]


# -- DT: model training ---------------------------------------------------------------------------
class ModelCheckpoint(Base):
    __tablename__ = "model_checkpoints"
    __table_args__ = (Index("ix_model_checkpoints_run_id_epoch", "run_id", "epoch"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(64))
    epoch: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(1024))
    val_loss: Mapped[float]
    train_loss: Mapped[float | None]
    metrics: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class LearningMetric(Base):
    """One metric value per epoch of a training run (e.g. val_loss)."""

    __tablename__ = "learning_metrics"
    __table_args__ = (
        UniqueConstraint("run_id", "epoch", "metric_type"),
        Index("ix_learning_metrics_metric_type_timestamp", "metric_type", "timestamp"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64))
    epoch: Mapped[int] = mapped_column(Integer)
    metric_type: Mapped[str] = mapped_column(String(64))
    value: Mapped[float]
    timestamp: Mapped[datetime]


class Prediction(Base):
    """A forecast and, once its horizon has passed, its outcome."""

    __tablename__ = "predictions"
    __table_args__ = (
        Index("ix_predictions_symbol_timestamp", "symbol", "timestamp"),
        Index("ix_predictions_horizon_end", "horizon_end"),
    )

    prediction_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32))
    user_expected_price: Mapped[float | None]
    model_predicted_price: Mapped[float]
    probability_hit: Mapped[float | None]
    model_confidence: Mapped[float | None]
    learning_score: Mapped[float | None]
    timestamp: Mapped[datetime]  # when the prediction was made
    # What is needed to resolve it later without guessing:
    anchor_price: Mapped[float]
    anchor_time: Mapped[datetime]
    horizon_end: Mapped[datetime]
    model_version: Mapped[str] = mapped_column(String(64))
    predicted_high: Mapped[float | None]  # upper quantile of the horizon's high
    predicted_low: Mapped[float | None]  # lower quantile of the horizon's low
    interval_minutes: Mapped[int | None] = mapped_column(Integer)
    image_path: Mapped[str | None] = mapped_column(String(1024))
    # Outcome:
    actual_price: Mapped[float | None]
    actual_high: Mapped[float | None]
    actual_low: Mapped[float | None]
    was_hit: Mapped[bool | None] = mapped_column(Boolean)
    resolved_at: Mapped[datetime | None]
    owner: Mapped[str] = mapped_column(String(64), server_default="local", default="local")  # API user (token)


class UserNote(Base):
    __tablename__ = "user_notes"
    __table_args__ = (
        Index("ix_user_notes_created_at", "created_at"),
        Index("ix_user_notes_symbol", "symbol"),
        Index("ix_user_notes_plan_id", "plan_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str | None] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    symbol: Mapped[str | None] = mapped_column(String(32))
    prediction_id: Mapped[int | None] = mapped_column(
        ForeignKey("predictions.prediction_id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    owner: Mapped[str] = mapped_column(String(64), server_default="local", default="local")  # API user (token)
    # A note links to at most one thing besides its symbol: a plan (a version, or the newest when
    # None), a prediction (prediction_id above) or a capture. Plans keep only their newest versions,
    # so the plan link is checked when written, not held by a foreign key.
    plan_id: Mapped[str | None] = mapped_column(String(64))
    plan_version: Mapped[int | None] = mapped_column(Integer)
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("snapshots.id", ondelete="SET NULL"))
    capture_path: Mapped[str | None] = mapped_column(String(1024))  # kept when the snapshot row goes


class NoteTag(Base):
    """A note's tags (many per note), lower-case; the note's owner scopes them."""

    __tablename__ = "note_tags"
    __table_args__ = (Index("ix_note_tags_tag", "tag"),)

    note_id: Mapped[int] = mapped_column(ForeignKey("user_notes.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(32), primary_key=True)


# -- TC: plans, volatility, watchlists, imported history ------------------------------------------
class PlanRecord(Base):
    """One version of a trade plan; the newest MAX_PLAN_VERSIONS versions of each plan are kept."""

    __tablename__ = "plans"
    __table_args__ = (
        UniqueConstraint("plan_id", "version"),
        CheckConstraint("direction IN ('long', 'short')", name="direction"),
        Index("ix_plans_symbol_created_at", "symbol", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    symbol: Mapped[str] = mapped_column(String(32))
    playbook: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(8))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    owner: Mapped[str] = mapped_column(String(64), server_default="local", default="local")  # API user (token)


class IVDay(Base):
    """At-the-money implied volatility of one symbol on one day (for IV rank / percentile)."""

    __tablename__ = "iv_history"
    __table_args__ = (UniqueConstraint("symbol", "date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32))
    date: Mapped[date] = mapped_column(Date)
    atm_iv: Mapped[float]
    source: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime]


class WatchlistRecord(Base):
    __tablename__ = "watchlists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    symbols: Mapped[list[str]]  # ordered as the trader arranged them
    updated_at: Mapped[datetime]
    owner: Mapped[str] = mapped_column(String(64), server_default="local", default="local")  # API user (token)


class ImportedBar(Base):
    """Bars imported from files or downloaded history. ts = bar start, UTC nanoseconds (as in Bars)."""

    __tablename__ = "imported_bars"
    # The key is (symbol, interval, ts); on SQLite the rows are clustered by it, so a range load is
    # one index walk.
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 - SQLAlchemy reads this class attribute

    symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    interval: Mapped[str] = mapped_column(String(8), primary_key=True)
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    open: Mapped[float]
    high: Mapped[float]
    low: Mapped[float]
    close: Mapped[float]
    volume: Mapped[float]
    source: Mapped[str] = mapped_column(String(32))


# -- the kernel's jobs ------------------------------------------------------------------------------
JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


class JobRecord(Base):
    """One long piece of work (training, evaluation, large scan, capture, collection run), kept so a
    restart shows what ran and what failed."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')", name="status"
        ),
        Index("ix_jobs_owner_created_at", "owner", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    owner: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[float]
    message: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]]
    result: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


# -- chart drawings and price alerts ---------------------------------------------------------------
DRAWING_KINDS = ("hline", "trend", "rect", "text")


class DrawingRecord(Base):
    """A drawing on a symbol's chart. Points are (UTC ns, price) pairs, so the drawing shows on every
    interval of the symbol."""

    __tablename__ = "chart_drawings"
    __table_args__ = (
        CheckConstraint("kind IN ('hline', 'trend', 'rect', 'text')", name="kind"),
        Index("ix_chart_drawings_symbol", "symbol"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(8))
    points: Mapped[dict[str, Any]]   # {"points": [[ts_ns, price], ...]}
    text: Mapped[str | None] = mapped_column(String(500))
    color: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PriceAlertRecord(Base):
    """Fire once when a live price crosses `price` (or the drawing's line at that moment)."""

    __tablename__ = "price_alerts"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'triggered')", name="status"),
        Index("ix_price_alerts_symbol_status", "symbol", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32))
    price: Mapped[float]
    label: Mapped[str] = mapped_column(String(200))
    drawing_id: Mapped[int | None] = mapped_column(ForeignKey("chart_drawings.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    triggered_at: Mapped[datetime | None]
    triggered_price: Mapped[float | None]


# -- API users ---------------------------------------------------------------------------------------
class ApiToken(Base):
    """A bearer token of one API user (the GPT's key). Only its SHA-256 is stored; `prefix` (the first
    characters) lets the trader tell tokens apart in `tokens list` without revealing them."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user", "user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
