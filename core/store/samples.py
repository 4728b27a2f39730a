"""Labelled training examples (DT `training_samples`).

Each sample records its anchor time: features must be known at that instant and the labels come
from (anchor_time, horizon_end] only — the DT backend leaked the session into the 9:30 features.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from core.errors import InputError
from core.store.engine import Store
from core.store.schema import Snapshot, TrainingSample
from core.store.validation import (
    RecordNotFound,
    clean_symbol,
    finite,
    json_payload,
    now_utc,
    optional_text,
    positive_int,
    utc,
)

SPLITS = ("train", "val", "test")


@dataclass(frozen=True, slots=True)
class Sample:
    id: int
    symbol: str
    snapshot_id: int | None
    target_snapshot_id: int | None
    session_date: date | None
    interval_minutes: int | None
    image_path: str | None
    anchor_time: datetime
    anchor_price: float
    horizon_end: datetime
    label_close: float
    label_high: float
    label_low: float
    features: dict[str, Any]
    split: str
    created_at: datetime


def _sample(r: TrainingSample) -> Sample:
    return Sample(r.id, r.symbol, r.snapshot_id, r.target_snapshot_id, r.session_date,
                  r.interval_minutes, r.image_path, r.anchor_time, r.anchor_price, r.horizon_end,
                  r.label_close, r.label_high, r.label_low, r.features, r.split, r.created_at)


class TrainingSamplesRepo:
    def __init__(self, store: Store) -> None:
        self._store = store

    def add(
        self,
        *,
        symbol: str,
        anchor_time: datetime,
        anchor_price: float,
        horizon_end: datetime,
        label_close: float,
        label_high: float,
        label_low: float,
        features: Mapping[str, Any],
        split: str = "train",
        snapshot_id: int | None = None,
        target_snapshot_id: int | None = None,
        session_date: date | None = None,
        interval_minutes: int | None = None,
        image_path: str | None = None,
    ) -> Sample:
        anchor, end = utc(anchor_time, "anchor_time"), utc(horizon_end, "horizon_end")
        if end <= anchor:
            raise InputError("horizon_end", "must be after anchor_time")
        high = finite(label_high, "label_high", positive=True)
        low = finite(label_low, "label_low", positive=True)
        close = finite(label_close, "label_close", positive=True)
        if not low <= close <= high:
            raise InputError("label_close", "must lie between label_low and label_high")
        if split not in SPLITS:
            raise InputError("split", f"must be one of {', '.join(SPLITS)}")
        row = TrainingSample(
            symbol=clean_symbol(symbol), anchor_time=anchor, horizon_end=end,
            anchor_price=finite(anchor_price, "anchor_price", positive=True),
            label_close=close, label_high=high, label_low=low,
            features=json_payload(features, "features"), split=split,
            snapshot_id=snapshot_id, target_snapshot_id=target_snapshot_id, session_date=session_date,
            interval_minutes=(None if interval_minutes is None
                              else positive_int(interval_minutes, "interval_minutes")),
            image_path=optional_text(image_path, "image_path", max_len=1024), created_at=now_utc(),
        )
        with self._store.session(write=True) as s:
            for field, sid in (("snapshot_id", snapshot_id), ("target_snapshot_id", target_snapshot_id)):
                if sid is not None and s.get(Snapshot, sid) is None:
                    raise RecordNotFound(field, f"no snapshot {sid}")
            s.add(row)
            s.flush()
            return _sample(row)

    def list_samples(
        self, *, symbol: str | None = None, split: str | None = None, limit: int | None = None
    ) -> list[Sample]:
        """Oldest anchor first (the order a time-based split needs)."""
        q = select(TrainingSample).order_by(TrainingSample.anchor_time, TrainingSample.id)
        if symbol is not None:
            q = q.where(TrainingSample.symbol == clean_symbol(symbol))
        if split is not None:
            q = q.where(TrainingSample.split == split)
        if limit is not None:
            q = q.limit(positive_int(limit, "limit"))
        with self._store.session() as s:
            return [_sample(r) for r in s.scalars(q)]

    def count(self, *, symbol: str | None = None, split: str | None = None) -> int:
        q = select(func.count()).select_from(TrainingSample)
        if symbol is not None:
            q = q.where(TrainingSample.symbol == clean_symbol(symbol))
        if split is not None:
            q = q.where(TrainingSample.split == split)
        with self._store.session() as s:
            return int(s.scalar(q) or 0)
