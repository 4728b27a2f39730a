"""Daily at-the-money implied volatility per symbol: the history behind IV rank and IV percentile.

(TC computed "IV rank" from historical volatility because it kept no IV history; this table fixes that.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from core.errors import InputError
from core.store.engine import Store
from core.store.schema import IVDay
from core.store.validation import clean_symbol, clean_text, finite, now_utc

MAX_ATM_IV = 20.0  # 2000 % annualised: anything above is a unit error (percent passed as fraction)


@dataclass(frozen=True, slots=True)
class IVPoint:
    date: date
    atm_iv: float  # annualised, as a fraction (0.25 = 25 %)
    source: str


class IVHistoryRepo:
    def __init__(self, store: Store) -> None:
        self._store = store

    def upsert(self, symbol: str, day: date, atm_iv: float, source: str) -> None:
        """Insert or replace the value for (symbol, day)."""
        if not isinstance(day, date) or isinstance(day, datetime):
            raise InputError("date", "must be a date (not a datetime)")
        iv = finite(atm_iv, "atm_iv", positive=True)
        if iv > MAX_ATM_IV:
            raise InputError("atm_iv", f"{iv} looks like a percentage; pass a fraction (0.25 = 25 %)")
        values = {"symbol": clean_symbol(symbol), "date": day, "atm_iv": iv,
                  "source": clean_text(source, "source", max_len=32), "updated_at": now_utc()}
        dialect = postgresql if self._store.dialect == "postgresql" else sqlite
        stmt = dialect.insert(IVDay).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["symbol", "date"],
            set_={"atm_iv": stmt.excluded.atm_iv, "source": stmt.excluded.source,
                  "updated_at": stmt.excluded.updated_at},
        )
        with self._store.session(write=True) as s:
            s.execute(stmt)

    def series(self, symbol: str, start: date | None = None, end: date | None = None) -> list[IVPoint]:
        """Oldest first; start and end are inclusive."""
        q = select(IVDay.date, IVDay.atm_iv, IVDay.source).where(IVDay.symbol == clean_symbol(symbol))
        if start is not None:
            q = q.where(IVDay.date >= start)
        if end is not None:
            q = q.where(IVDay.date <= end)
        with self._store.session() as s:
            return [IVPoint(d, v, src) for d, v, src in s.execute(q.order_by(IVDay.date))]
