"""Bar history imported from files or vendors, stored exactly as the `Bars` frame holds it.

ts is kept as int64 UTC nanoseconds (not a timestamp column) so a save/load round trip is exact and
range scans stay cheap; prices are float64 (REAL / double precision) and come back bit-identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Select, delete, func, select

from core.errors import InputError
from core.market.bars import Bars
from core.market.intervals import Interval, parse_interval
from core.store.engine import Store
from core.store.schema import ImportedBar
from core.store.validation import clean_symbol, clean_text

# Rows per executemany batch on SQLite: bounded memory for multi-million-row imports.
CHUNK_ROWS = 20_000


@dataclass(frozen=True, slots=True)
class Coverage:
    symbol: str
    interval: str
    first_ns: int
    last_ns: int
    count: int


class ImportedBarsRepo:
    def __init__(self, store: Store) -> None:
        self._store = store

    def upsert(self, symbol: str, interval: Interval | str, bars: Bars, source: str) -> int:
        """Insert or replace bars of (symbol, interval); rows with the same ts are overwritten.

        Returns the number of bars written. All chunks go in one transaction: an import is all or nothing.
        """
        sym = clean_symbol(symbol)
        iv = parse_interval(interval).name
        src = clean_text(source, "source", max_len=32)
        if not isinstance(bars, Bars):
            raise InputError("bars", "must be a Bars frame")
        bars.validate()
        # Plain Python ints/floats (tolist) bind exactly and fastest.
        cols = (bars.ts.tolist(), bars.open.tolist(), bars.high.tolist(), bars.low.tolist(),
                bars.close.tolist(), bars.volume.tolist())
        with self._store.session(write=True) as s:
            # Below the ORM on purpose: ORM/Core executemany costs ~5x more per row than the driver.
            raw = s.connection().connection.driver_connection
            if self._store.dialect == "postgresql":
                _upsert_postgresql(raw, sym, iv, src, cols)
            else:
                _upsert_sqlite(raw, sym, iv, src, cols)
        return len(bars)

    def load(
        self,
        symbol: str,
        interval: Interval | str,
        start_ns: int | None = None,
        end_ns: int | None = None,
        *,
        source: str | None = None,
    ) -> Bars:
        """Bars with start_ns <= ts < end_ns (either bound optional), oldest first."""
        q: Select[Any] = select(
            ImportedBar.ts, ImportedBar.open, ImportedBar.high, ImportedBar.low, ImportedBar.close,
            ImportedBar.volume,
        ).where(ImportedBar.symbol == clean_symbol(symbol),
                ImportedBar.interval == parse_interval(interval).name)
        if start_ns is not None:
            q = q.where(ImportedBar.ts >= _ns(start_ns, "start_ns"))
        if end_ns is not None:
            q = q.where(ImportedBar.ts < _ns(end_ns, "end_ns"))
        if source is not None:
            q = q.where(ImportedBar.source == source)
        with self._store.session() as s:
            rows = s.execute(q.order_by(ImportedBar.ts)).all()
        if not rows:
            return Bars.empty()
        ts, o, h, lw, c, v = zip(*rows, strict=True)
        return Bars.from_arrays(np.array(ts, dtype=np.int64), np.array(o, dtype=np.float64),
                                np.array(h, dtype=np.float64), np.array(lw, dtype=np.float64),
                                np.array(c, dtype=np.float64), np.array(v, dtype=np.float64))

    def coverage(self, symbol: str | None = None) -> list[Coverage]:
        """What is stored: first/last bar and count per (symbol, interval)."""
        q = select(ImportedBar.symbol, ImportedBar.interval, func.min(ImportedBar.ts),
                   func.max(ImportedBar.ts), func.count()).group_by(ImportedBar.symbol, ImportedBar.interval)
        if symbol is not None:
            q = q.where(ImportedBar.symbol == clean_symbol(symbol))
        with self._store.session() as s:
            return [Coverage(sym, iv, int(a), int(b), int(n))
                    for sym, iv, a, b, n in s.execute(q.order_by(ImportedBar.symbol, ImportedBar.interval))]

    def delete(self, symbol: str, interval: Interval | str, *, source: str | None = None) -> int:
        """Delete the bars of (symbol, interval[, source]); returns how many rows went."""
        q = delete(ImportedBar).where(ImportedBar.symbol == clean_symbol(symbol),
                                      ImportedBar.interval == parse_interval(interval).name)
        if source is not None:
            q = q.where(ImportedBar.source == source)
        with self._store.session(write=True) as s:
            return int(s.execute(q).rowcount or 0)  # type: ignore[attr-defined]


_COLS = '"symbol", "interval", "ts", "open", "high", "low", "close", "volume", "source"'
_ON_CONFLICT = (
    'ON CONFLICT ("symbol", "interval", "ts") DO UPDATE SET "open" = excluded."open", '
    '"high" = excluded."high", "low" = excluded."low", "close" = excluded."close", '
    '"volume" = excluded."volume", "source" = excluded."source"'
)


def _upsert_sqlite(raw: Any, sym: str, iv: str, src: str, cols: tuple[list[Any], ...]) -> None:
    sql = f"INSERT INTO imported_bars ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) {_ON_CONFLICT}"
    n = len(cols[0])
    cur = raw.cursor()
    try:
        for lo in range(0, n, CHUNK_ROWS):
            hi = lo + CHUNK_ROWS
            cur.executemany(sql, [(sym, iv, t, o, h, lw, c, v, src)
                                  for t, o, h, lw, c, v in zip(*(col[lo:hi] for col in cols), strict=True)])
    finally:
        cur.close()


def _upsert_postgresql(raw: Any, sym: str, iv: str, src: str, cols: tuple[list[Any], ...]) -> None:
    # COPY into a transaction-scoped temp table, then one INSERT ... SELECT ... ON CONFLICT.
    with raw.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS _bars_in (ts bigint, open float8, high float8, low float8, "
            "close float8, volume float8) ON COMMIT DELETE ROWS"
        )
        with cur.copy("COPY _bars_in (ts, open, high, low, close, volume) FROM STDIN (FORMAT BINARY)") as cp:
            cp.set_types(["int8", "float8", "float8", "float8", "float8", "float8"])
            for row in zip(*cols, strict=True):
                cp.write_row(row)
        cur.execute(
            f"INSERT INTO imported_bars ({_COLS}) "
            'SELECT %s, %s, ts, "open", high, low, "close", volume, %s FROM _bars_in '
            f"{_ON_CONFLICT}",
            (sym, iv, src),
        )
        cur.execute("TRUNCATE _bars_in")


def _ns(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(field, "must be an integer UTC nanosecond timestamp")
    return int(value)
