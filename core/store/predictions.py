"""Forecasts (DT `predictions`) and their outcomes once the horizon has passed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core.errors import InputError
from core.store.engine import Store
from core.store.schema import Prediction
from core.store.validation import (
    RecordNotFound,
    clean_symbol,
    clean_text,
    finite,
    now_utc,
    optional_finite,
    optional_symbol,
    optional_text,
    optional_utc,
    positive_int,
    probability,
    utc,
)


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    prediction_id: int
    symbol: str
    user_expected_price: float | None
    model_predicted_price: float
    probability_hit: float | None
    model_confidence: float | None
    learning_score: float | None
    timestamp: datetime
    anchor_price: float
    anchor_time: datetime
    horizon_end: datetime
    model_version: str
    predicted_high: float | None
    predicted_low: float | None
    interval_minutes: int | None
    image_path: str | None
    actual_price: float | None
    actual_high: float | None
    actual_low: float | None
    was_hit: bool | None
    resolved_at: datetime | None

    @property
    def resolved(self) -> bool:
        return self.resolved_at is not None


def _record(r: Prediction) -> PredictionRecord:
    return PredictionRecord(
        r.prediction_id, r.symbol, r.user_expected_price, r.model_predicted_price, r.probability_hit,
        r.model_confidence, r.learning_score, r.timestamp, r.anchor_price, r.anchor_time,
        r.horizon_end, r.model_version, r.predicted_high, r.predicted_low, r.interval_minutes,
        r.image_path, r.actual_price, r.actual_high, r.actual_low, r.was_hit, r.resolved_at,
    )


class PredictionsRepo:
    def __init__(self, store: Store) -> None:
        self._store = store

    def add(
        self,
        *,
        symbol: str,
        model_predicted_price: float,
        anchor_price: float,
        anchor_time: datetime,
        horizon_end: datetime,
        model_version: str,
        user_expected_price: float | None = None,
        probability_hit: float | None = None,
        model_confidence: float | None = None,
        learning_score: float | None = None,
        predicted_high: float | None = None,
        predicted_low: float | None = None,
        interval_minutes: int | None = None,
        image_path: str | None = None,
        timestamp: datetime | None = None,
        owner: str = "local",
    ) -> PredictionRecord:
        anchor = utc(anchor_time, "anchor_time")
        end = utc(horizon_end, "horizon_end")
        if end <= anchor:
            raise InputError("horizon_end", "must be after anchor_time")
        high = optional_finite(predicted_high, "predicted_high", positive=True)
        low = optional_finite(predicted_low, "predicted_low", positive=True)
        if high is not None and low is not None and low > high:
            raise InputError("predicted_low", "must not exceed predicted_high")
        row = Prediction(
            symbol=clean_symbol(symbol),
            model_predicted_price=finite(model_predicted_price, "model_predicted_price", positive=True),
            anchor_price=finite(anchor_price, "anchor_price", positive=True),
            anchor_time=anchor,
            horizon_end=end,
            model_version=clean_text(model_version, "model_version", max_len=64),
            user_expected_price=optional_finite(user_expected_price, "user_expected_price", positive=True),
            probability_hit=probability(probability_hit, "probability_hit"),
            model_confidence=probability(model_confidence, "model_confidence"),
            learning_score=optional_finite(learning_score, "learning_score"),
            predicted_high=high,
            predicted_low=low,
            interval_minutes=(None if interval_minutes is None
                              else positive_int(interval_minutes, "interval_minutes")),
            image_path=optional_text(image_path, "image_path", max_len=1024),
            timestamp=optional_utc(timestamp, "timestamp") or now_utc(),
            owner=clean_text(owner, "owner", max_len=64),
        )
        with self._store.session(write=True) as s:
            s.add(row)
            s.flush()
            return _record(row)

    def set_owner(self, prediction_id: int, owner: str) -> None:
        """Hand a just-recorded prediction to the API user who asked for it."""
        with self._store.session(write=True) as s:
            row = s.get(Prediction, prediction_id)
            if row is None:
                raise RecordNotFound("prediction_id", f"no prediction {prediction_id}")
            row.owner = clean_text(owner, "owner", max_len=64)

    def get(self, prediction_id: int) -> PredictionRecord | None:
        with self._store.session() as s:
            row = s.get(Prediction, prediction_id)
            return _record(row) if row else None

    def history(self, symbol: str | None = None, *, limit: int = 50,
                owner: str | None = None) -> list[PredictionRecord]:
        """Newest first, optionally for one symbol (DT `GET /predict/history`) or one user."""
        q = (select(Prediction).order_by(Prediction.timestamp.desc(), Prediction.prediction_id.desc())
             .limit(positive_int(limit, "limit")))
        if owner is not None:
            q = q.where(Prediction.owner == owner)
        if symbol is not None:
            q = q.where(Prediction.symbol == optional_symbol(symbol))
        with self._store.session() as s:
            return [_record(r) for r in s.scalars(q)]

    def due(self, now: datetime, *, limit: int = 500) -> list[PredictionRecord]:
        """Unresolved predictions whose horizon has ended by `now`, oldest horizon first."""
        q = (select(Prediction)
             .where(Prediction.resolved_at.is_(None), Prediction.horizon_end <= utc(now, "now"))
             .order_by(Prediction.horizon_end, Prediction.prediction_id)
             .limit(positive_int(limit, "limit")))
        with self._store.session() as s:
            return [_record(r) for r in s.scalars(q)]

    def resolve(
        self,
        prediction_id: int,
        *,
        actual_price: float,
        was_hit: bool | None,
        actual_high: float | None = None,
        actual_low: float | None = None,
        resolved_at: datetime | None = None,
    ) -> PredictionRecord:
        """Record the outcome once. A second resolve of the same prediction is refused."""
        if was_hit is not None and not isinstance(was_hit, bool):
            raise InputError("was_hit", "must be true, false or null")
        price = finite(actual_price, "actual_price", positive=True)
        high = optional_finite(actual_high, "actual_high", positive=True)
        low = optional_finite(actual_low, "actual_low", positive=True)
        if high is not None and low is not None and low > high:
            raise InputError("actual_low", "must not exceed actual_high")
        when = optional_utc(resolved_at, "resolved_at") or now_utc()
        with self._store.session(write=True) as s:
            row = s.get(Prediction, prediction_id, with_for_update=True)
            if row is None:
                raise RecordNotFound("prediction_id", f"no prediction {prediction_id}")
            if row.resolved_at is not None:
                raise InputError("prediction_id", f"prediction {prediction_id} is already resolved")
            if when < row.horizon_end:
                raise InputError("resolved_at", "the horizon has not ended yet")
            row.actual_price, row.actual_high, row.actual_low = price, high, low
            row.was_hit, row.resolved_at = was_hit, when
            s.flush()
            return _record(row)
