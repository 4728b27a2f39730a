"""Training history: one metric value per epoch (the learning curve) and saved model checkpoints."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from core.store.engine import Store
from core.store.schema import LearningMetric, ModelCheckpoint
from core.store.validation import (
    RecordNotFound,
    clean_text,
    finite,
    json_payload,
    now_utc,
    optional_finite,
    optional_utc,
    positive_int,
)


@dataclass(frozen=True, slots=True)
class MetricPoint:
    run_id: str
    epoch: int
    metric_type: str
    value: float
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class Checkpoint:
    id: int
    run_id: str
    model_version: str
    epoch: int
    path: str
    val_loss: float
    train_loss: float | None
    metrics: dict[str, Any]
    created_at: datetime


def _checkpoint(r: ModelCheckpoint) -> Checkpoint:
    return Checkpoint(r.id, r.run_id, r.model_version, r.epoch, r.path, r.val_loss, r.train_loss,
                      r.metrics, r.created_at)


class TrainingRepo:
    def __init__(self, store: Store) -> None:
        self._store = store

    # -- learning metrics ---------------------------------------------------------------------
    def add_metrics(
        self, run_id: str, epoch: int, values: Mapping[str, float], *, timestamp: datetime | None = None
    ) -> None:
        """Record one epoch's metrics (e.g. {"train_loss": .., "val_loss": ..}); re-recording replaces."""
        run = clean_text(run_id, "run_id", max_len=64)
        ep = positive_int(epoch, "epoch", allow_zero=True)
        when = optional_utc(timestamp, "timestamp") or now_utc()
        rows = [{"run_id": run, "epoch": ep, "metric_type": clean_text(k, "metric_type", max_len=64),
                 "value": finite(v, f"values[{k}]"), "timestamp": when} for k, v in values.items()]
        if not rows:
            return
        dialect = postgresql if self._store.dialect == "postgresql" else sqlite
        stmt = dialect.insert(LearningMetric)
        stmt = stmt.on_conflict_do_update(
            index_elements=["run_id", "epoch", "metric_type"],
            set_={"value": stmt.excluded.value, "timestamp": stmt.excluded.timestamp},
        )
        with self._store.session(write=True) as s:
            s.execute(stmt, rows)

    def metrics(
        self,
        metric_type: str | None = None,
        *,
        run_id: str | None = None,
        since: datetime | None = None,
    ) -> list[MetricPoint]:
        """The learning curve, oldest first (DT `/learning-curve?metric_type=val_loss&days_back=N`)."""
        q = select(LearningMetric)
        if metric_type is not None:
            q = q.where(LearningMetric.metric_type == metric_type)
        if run_id is not None:
            q = q.where(LearningMetric.run_id == run_id)
        if since is not None:
            q = q.where(LearningMetric.timestamp >= optional_utc(since, "since"))
        q = q.order_by(LearningMetric.timestamp, LearningMetric.run_id, LearningMetric.epoch,
                       LearningMetric.metric_type)
        with self._store.session() as s:
            return [MetricPoint(r.run_id, r.epoch, r.metric_type, r.value, r.timestamp)
                    for r in s.scalars(q)]

    # -- checkpoints --------------------------------------------------------------------------
    def add_checkpoint(
        self,
        *,
        run_id: str,
        model_version: str,
        epoch: int,
        path: str,
        val_loss: float,
        train_loss: float | None = None,
        metrics: Mapping[str, Any] | None = None,
    ) -> Checkpoint:
        row = ModelCheckpoint(
            run_id=clean_text(run_id, "run_id", max_len=64),
            model_version=clean_text(model_version, "model_version", max_len=64),
            epoch=positive_int(epoch, "epoch", allow_zero=True),
            path=clean_text(path, "path", max_len=1024),
            val_loss=finite(val_loss, "val_loss"),
            train_loss=optional_finite(train_loss, "train_loss"),
            metrics=json_payload(metrics or {}, "metrics"),
            created_at=now_utc(),
        )
        with self._store.session(write=True) as s:
            s.add(row)
            s.flush()
            return _checkpoint(row)

    def checkpoints(self, run_id: str | None = None) -> list[Checkpoint]:
        """Newest first."""
        q = select(ModelCheckpoint).order_by(ModelCheckpoint.created_at.desc(), ModelCheckpoint.id.desc())
        if run_id is not None:
            q = q.where(ModelCheckpoint.run_id == run_id)
        with self._store.session() as s:
            return [_checkpoint(r) for r in s.scalars(q)]

    def best_checkpoint(self, run_id: str | None = None) -> Checkpoint | None:
        """Lowest validation loss (ties: the earlier checkpoint), overall or within one run."""
        q = select(ModelCheckpoint).order_by(ModelCheckpoint.val_loss, ModelCheckpoint.id).limit(1)
        if run_id is not None:
            q = q.where(ModelCheckpoint.run_id == run_id)
        with self._store.session() as s:
            row = s.scalar(q)
            return _checkpoint(row) if row else None

    def delete_checkpoint(self, checkpoint_id: int) -> Checkpoint:
        """Forget a checkpoint; returns it so the caller can delete the file at `path`."""
        with self._store.session(write=True) as s:
            row = s.get(ModelCheckpoint, checkpoint_id)
            if row is None:
                raise RecordNotFound("checkpoint_id", f"no checkpoint {checkpoint_id}")
            gone = _checkpoint(row)
            s.delete(row)
            return gone
