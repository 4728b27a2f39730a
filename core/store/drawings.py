"""Chart drawings (horizontal line, trend line, rectangle, text) and price alerts, per symbol."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from core.errors import InputError
from core.store.engine import Store
from core.store.schema import DRAWING_KINDS, DrawingRecord, PriceAlertRecord
from core.store.validation import RecordNotFound, clean_symbol, finite, now_utc, optional_text

# How many (ts, price) points each kind takes.
POINTS_PER_KIND = {"hline": 1, "trend": 2, "rect": 2, "text": 1}
MAX_TEXT = 500
MAX_LABEL = 200


@dataclass(frozen=True, slots=True)
class Drawing:
    id: int
    symbol: str
    kind: str                                   # hline | trend | rect | text
    points: tuple[tuple[int, float], ...]       # (UTC ns, price)
    text: str | None
    color: str | None
    created_at: datetime
    updated_at: datetime

    def price_at(self, ts: int) -> float:
        """The drawing's price at time ts: its level (hline), the line extended (trend)."""
        if self.kind == "hline":
            return self.points[0][1]
        if self.kind == "trend":
            (t0, p0), (t1, p1) = self.points
            return p0 if t1 == t0 else p0 + (p1 - p0) * (ts - t0) / (t1 - t0)
        raise InputError("drawing_id", f"a {self.kind} drawing has no single price to alert on")

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "symbol": self.symbol, "kind": self.kind,
                "points": [[t, p] for t, p in self.points], "text": self.text, "color": self.color}


@dataclass(frozen=True, slots=True)
class PriceAlert:
    id: int
    symbol: str
    price: float                 # the level (for a drawing: its price when the alert was set)
    label: str
    drawing_id: int | None
    status: str                  # active | triggered
    created_at: datetime
    triggered_at: datetime | None
    triggered_price: float | None

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "symbol": self.symbol, "price": self.price, "label": self.label,
                "drawing_id": self.drawing_id, "status": self.status,
                "triggered_price": self.triggered_price}


def check_points(kind: str, points: Sequence[Sequence[float]]) -> tuple[tuple[int, float], ...]:
    """Validated (ts, price) points for a drawing of `kind`; errors name `points[i]`."""
    if kind not in DRAWING_KINDS:
        raise InputError("kind", f"must be one of {', '.join(DRAWING_KINDS)}, got {kind!r}")
    need = POINTS_PER_KIND[kind]
    if not isinstance(points, Sequence) or len(points) != need:
        raise InputError("points", f"a {kind} takes {need} (time, price) point(s)")
    out: list[tuple[int, float]] = []
    for k, pt in enumerate(points):
        if not isinstance(pt, Sequence) or len(pt) != 2:
            raise InputError(f"points[{k}]", "expected (ts_ns, price)")
        ts, price = pt
        if isinstance(ts, bool) or not isinstance(ts, int) or ts < 0:
            raise InputError(f"points[{k}].ts", f"must be UTC nanoseconds (int >= 0), got {ts!r}")
        out.append((ts, finite(price, f"points[{k}].price", positive=True)))
    return tuple(out)


def _drawing(r: DrawingRecord) -> Drawing:
    pts = tuple((int(t), float(p)) for t, p in r.points["points"])
    return Drawing(r.id, r.symbol, r.kind, pts, r.text, r.color, r.created_at, r.updated_at)


def _alert(r: PriceAlertRecord) -> PriceAlert:
    return PriceAlert(r.id, r.symbol, r.price, r.label, r.drawing_id, r.status, r.created_at,
                      r.triggered_at, r.triggered_price)


class DrawingsRepo:
    def __init__(self, store: Store) -> None:
        self._store = store

    # -- drawings ---------------------------------------------------------------------------------
    def add(self, symbol: str, kind: str, points: Sequence[Sequence[float]], *, text: str | None = None,
            color: str | None = None) -> Drawing:
        pts = check_points(kind, points)
        body = optional_text(text, "text", max_len=MAX_TEXT)
        if kind == "text" and not body:
            raise InputError("text", "a text drawing needs some text")
        row = DrawingRecord(symbol=clean_symbol(symbol), kind=kind, points={"points": [list(p) for p in pts]},
                            text=body, color=optional_text(color, "color", max_len=16))
        row.created_at = row.updated_at = now_utc()
        with self._store.session(write=True) as s:
            s.add(row)
            s.flush()
            return _drawing(row)

    def get(self, drawing_id: int) -> Drawing | None:
        with self._store.session() as s:
            row = s.get(DrawingRecord, drawing_id)
            return _drawing(row) if row else None

    def move(self, drawing_id: int, points: Sequence[Sequence[float]]) -> Drawing:
        with self._store.session(write=True) as s:
            row = s.get(DrawingRecord, drawing_id)
            if row is None:
                raise RecordNotFound("drawing_id", f"no drawing {drawing_id}")
            row.points = {"points": [list(p) for p in check_points(row.kind, points)]}
            row.updated_at = now_utc()
            s.flush()
            return _drawing(row)

    def delete(self, drawing_id: int) -> None:
        with self._store.session(write=True) as s:
            row = s.get(DrawingRecord, drawing_id)
            if row is None:
                raise RecordNotFound("drawing_id", f"no drawing {drawing_id}")
            # Explicitly, before the drawing: an SQLite file without foreign keys on has no CASCADE.
            s.execute(delete(PriceAlertRecord).where(PriceAlertRecord.drawing_id == drawing_id))
            s.delete(row)

    def for_symbol(self, symbol: str) -> list[Drawing]:
        q = select(DrawingRecord).where(DrawingRecord.symbol == clean_symbol(symbol)).order_by(DrawingRecord.id)
        with self._store.session() as s:
            return [_drawing(r) for r in s.scalars(q)]

    # -- alerts -----------------------------------------------------------------------------------
    def add_alert(self, symbol: str, price: float, label: str, drawing_id: int | None = None) -> PriceAlert:
        row = PriceAlertRecord(symbol=clean_symbol(symbol), price=finite(price, "price", positive=True),
                               label=(optional_text(label, "label", max_len=MAX_LABEL) or f"{price:.2f}"),
                               drawing_id=drawing_id, status="active")
        row.created_at = now_utc()
        with self._store.session(write=True) as s:
            if drawing_id is not None and s.get(DrawingRecord, drawing_id) is None:
                raise RecordNotFound("drawing_id", f"no drawing {drawing_id}")
            s.add(row)
            s.flush()
            return _alert(row)

    def alerts(self, symbol: str | None = None, *, active_only: bool = False) -> list[PriceAlert]:
        q = select(PriceAlertRecord).order_by(PriceAlertRecord.id)
        if symbol is not None:
            q = q.where(PriceAlertRecord.symbol == clean_symbol(symbol))
        if active_only:
            q = q.where(PriceAlertRecord.status == "active")
        with self._store.session() as s:
            return [_alert(r) for r in s.scalars(q)]

    def mark_triggered(self, alert_id: int, price: float) -> PriceAlert | None:
        """Active → triggered; None when it was already triggered or deleted (fire once)."""
        with self._store.session(write=True) as s:
            row = s.get(PriceAlertRecord, alert_id)
            if row is None or row.status != "active":
                return None
            row.status, row.triggered_at, row.triggered_price = "triggered", now_utc(), float(price)
            s.flush()
            return _alert(row)

    def delete_alert(self, alert_id: int) -> None:
        with self._store.session(write=True) as s:
            row = s.get(PriceAlertRecord, alert_id)
            if row is None:
                raise RecordNotFound("alert_id", f"no alert {alert_id}")
            s.delete(row)
