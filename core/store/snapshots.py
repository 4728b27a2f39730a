"""Chart screenshots (DT `snapshots`), the bars captured with them (`price_data`) and session
minute bars (`session_minute_bars`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlalchemy import Select, select
from sqlalchemy.dialects import postgresql, sqlite

from core.errors import InputError
from core.market.bars import Bars
from core.store.engine import Store
from core.store.schema import SNAPSHOT_TYPES, PriceData, SessionMinuteBar, Snapshot
from core.store.validation import (
    RecordNotFound,
    clean_symbol,
    clean_text,
    now_utc,
    optional_utc,
    positive_int,
    utc,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class SnapshotRecord:
    id: int
    symbol: str
    snapshot_type: str
    timestamp: datetime
    image_path: str
    session_date: date | None
    interval_minutes: int | None
    bar_time: datetime | None
    created_at: datetime


def _snapshot(r: Snapshot) -> SnapshotRecord:
    return SnapshotRecord(r.id, r.symbol, r.snapshot_type, r.timestamp, r.image_path, r.session_date,
                          r.interval_minutes, r.bar_time, r.created_at)


def ns_to_datetime(ns: int) -> datetime:
    """UTC datetime of a ns timestamp; timestamp columns hold microseconds, so ns must be whole µs."""
    if ns % 1000:
        raise InputError("ts", f"{ns} has sub-microsecond precision; timestamp columns keep µs")
    return _EPOCH + timedelta(microseconds=ns // 1000)


def datetime_to_ns(value: datetime) -> int:
    return (value - _EPOCH) // _US * 1000


def _bars_from_rows(rows: list[tuple[datetime, float, float, float, float, float]]) -> Bars:
    if not rows:
        return Bars.empty()
    t, o, h, lw, c, v = zip(*rows, strict=True)
    return Bars.from_arrays(np.array([datetime_to_ns(x) for x in t], dtype=np.int64), np.array(o),
                            np.array(h), np.array(lw), np.array(c), np.array(v))


class SnapshotsRepo:
    def __init__(self, store: Store) -> None:
        self._store = store

    # -- snapshots ----------------------------------------------------------------------------
    def add(
        self,
        *,
        symbol: str,
        snapshot_type: str,
        timestamp: datetime,
        image_path: str,
        session_date: date | None = None,
        interval_minutes: int | None = None,
        bar_time: datetime | None = None,
    ) -> SnapshotRecord:
        if snapshot_type not in SNAPSHOT_TYPES:
            raise InputError("snapshot_type", f"must be one of {', '.join(SNAPSHOT_TYPES)}")
        if snapshot_type == "session_candle" and (interval_minutes is None or bar_time is None):
            raise InputError("bar_time", "a session_candle snapshot needs interval_minutes and bar_time")
        row = Snapshot(
            symbol=clean_symbol(symbol),
            snapshot_type=snapshot_type,
            timestamp=utc(timestamp, "timestamp"),
            image_path=clean_text(image_path, "image_path", max_len=1024),
            session_date=session_date,
            interval_minutes=(None if interval_minutes is None
                              else positive_int(interval_minutes, "interval_minutes")),
            bar_time=optional_utc(bar_time, "bar_time"),
            created_at=now_utc(),
        )
        with self._store.session(write=True) as s:
            s.add(row)
            s.flush()
            return _snapshot(row)

    def get(self, snapshot_id: int) -> SnapshotRecord | None:
        with self._store.session() as s:
            row = s.get(Snapshot, snapshot_id)
            return _snapshot(row) if row else None

    def list_snapshots(
        self,
        *,
        symbol: str | None = None,
        snapshot_type: str | None = None,
        session_date: date | None = None,
        limit: int = 100,
    ) -> list[SnapshotRecord]:
        """Newest first."""
        q = select(Snapshot).order_by(Snapshot.timestamp.desc(), Snapshot.id.desc())
        if symbol is not None:
            q = q.where(Snapshot.symbol == clean_symbol(symbol))
        if snapshot_type is not None:
            q = q.where(Snapshot.snapshot_type == snapshot_type)
        if session_date is not None:
            q = q.where(Snapshot.session_date == session_date)
        with self._store.session() as s:
            return [_snapshot(r) for r in s.scalars(q.limit(positive_int(limit, "limit")))]

    def delete(self, snapshot_id: int) -> None:
        """Delete a snapshot and its price_data (the image file is the caller's)."""
        with self._store.session(write=True) as s:
            row = s.get(Snapshot, snapshot_id)
            if row is None:
                raise RecordNotFound("snapshot_id", f"no snapshot {snapshot_id}")
            s.delete(row)

    # -- price_data ---------------------------------------------------------------------------
    def add_price_data(self, snapshot_id: int, bars: Bars) -> int:
        """Attach bars to a snapshot (same ts replaces); returns the number of bars written."""
        bars.validate()
        with self._store.session(write=True) as s:
            snap = s.get(Snapshot, snapshot_id)
            if snap is None:
                raise RecordNotFound("snapshot_id", f"no snapshot {snapshot_id}")
            rows = [{"snapshot_id": snapshot_id, "symbol": snap.symbol, "timestamp": ns_to_datetime(b.ts),
                     "open": b.open, "high": b.high, "low": b.low, "close": b.close, "volume": b.volume}
                    for b in bars]
            if rows:
                dialect = postgresql if self._store.dialect == "postgresql" else sqlite
                stmt = dialect.insert(PriceData)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["snapshot_id", "timestamp"],
                    set_={c: stmt.excluded[c] for c in ("open", "high", "low", "close", "volume")},
                )
                s.execute(stmt, rows)
        return len(bars)

    def price_data(self, snapshot_id: int) -> Bars:
        q: Select[tuple[datetime, float, float, float, float, float]] = (
            select(PriceData.timestamp, PriceData.open, PriceData.high, PriceData.low, PriceData.close,
                   PriceData.volume)
            .where(PriceData.snapshot_id == snapshot_id).order_by(PriceData.timestamp))
        with self._store.session() as s:
            return _bars_from_rows([tuple(r) for r in s.execute(q)])  # type: ignore[misc]

    # -- session minute bars ------------------------------------------------------------------
    def save_session_bars(self, symbol: str, session_date: date, bars: Bars) -> int:
        """Store a session's minute bars (same bar_time replaces); returns the number written."""
        sym = clean_symbol(symbol)
        bars.validate()
        rows = [{"symbol": sym, "session_date": session_date, "bar_time": ns_to_datetime(b.ts),
                 "open": b.open, "high": b.high, "low": b.low, "close": b.close, "volume": b.volume}
                for b in bars]
        if rows:
            dialect = postgresql if self._store.dialect == "postgresql" else sqlite
            stmt = dialect.insert(SessionMinuteBar)
            stmt = stmt.on_conflict_do_update(
                index_elements=["symbol", "bar_time"],
                set_={c: stmt.excluded[c] for c in ("session_date", "open", "high", "low", "close",
                                                     "volume")},
            )
            with self._store.session(write=True) as s:
                s.execute(stmt, rows)
        return len(rows)

    def session_bars(self, symbol: str, session_date: date) -> Bars:
        q: Select[tuple[datetime, float, float, float, float, float]] = (
            select(SessionMinuteBar.bar_time, SessionMinuteBar.open, SessionMinuteBar.high,
                   SessionMinuteBar.low, SessionMinuteBar.close, SessionMinuteBar.volume)
            .where(SessionMinuteBar.symbol == clean_symbol(symbol),
                   SessionMinuteBar.session_date == session_date)
            .order_by(SessionMinuteBar.bar_time))
        with self._store.session() as s:
            return _bars_from_rows([tuple(r) for r in s.execute(q)])  # type: ignore[misc]
