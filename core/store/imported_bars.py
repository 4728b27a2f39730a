"""Bar history imported from files or vendors, stored exactly as the `Bars` frame holds it.

ts is kept as int64 UTC nanoseconds (not a timestamp column) so a save/load round trip is exact and
range scans stay cheap; prices are float64 (REAL / double precision) and come back bit-identical.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Select, delete, func, select

from core.errors import DataError, InputError
from core.market.bars import Bars
from core.market.importer import CHUNK_ROWS as FILE_CHUNK_ROWS
from core.market.importer import BarFileReader, Progress
from core.market.intervals import Interval, parse_interval
from core.store.engine import WRITE_OPTION, Store
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


log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did: the file's bars replace the stored ones between its first and last bar."""

    symbol: str
    interval: Interval
    source: str
    inserted: int        # bars of the file now stored
    replaced: int        # stored bars inside [first, last] that were removed (overwritten or stale)
    left: int            # stored bars of the symbol+interval outside that range, kept as they were
    first_ns: int
    last_ns: int
    dropped: int         # invalid rows dropped (drop_invalid)
    notes: tuple[str, ...]
    seconds: float

    def to_dict(self) -> dict[str, object]:
        import pandas as pd

        return {"symbol": self.symbol, "interval": self.interval.name, "source": self.source,
                "inserted": self.inserted, "replaced": self.replaced, "left": self.left,
                "first": pd.Timestamp(self.first_ns, tz="UTC").isoformat(),
                "last": pd.Timestamp(self.last_ns, tz="UTC").isoformat(),
                "dropped": self.dropped, "notes": list(self.notes), "seconds": round(self.seconds, 3)}


def import_bars_file(store: Store, path: str | Path, symbol: str, *, tz: str | None = None,
                     allow_missing_volume: bool = False, drop_invalid: bool = False, source: str = "import",
                     progress: Progress | None = None, chunk_rows: int = FILE_CHUNK_ROWS) -> ImportResult:
    """Stream a bar file into the store in bounded chunks; see `ImportedBarsRepo.replace_from_file`."""
    reader = BarFileReader(path, symbol, tz=tz, allow_missing_volume=allow_missing_volume,
                           drop_invalid=drop_invalid, chunk_rows=chunk_rows, progress=progress)
    return ImportedBarsRepo(store).replace_from_file(reader, source=source, progress=progress)


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

    def replace_from_file(self, reader: BarFileReader, *, source: str = "import",
                          progress: Progress | None = None) -> ImportResult:
        """The file's bars replace every stored bar of (symbol, interval) between its first and last bar.

        Chunks are staged in a temporary table as they are read (bounded memory, and on SQLite no write
        lock while the file is parsed); then ONE transaction deletes the range and inserts the staged
        bars, so a re-import with another time zone leaves no stale rows and a failure leaves nothing.
        """
        src = clean_text(source, "source", max_len=32)
        sym = clean_symbol(reader.symbol)
        started = time.monotonic()
        if self._store.dialect == "postgresql":
            counts = self._replace_postgresql(reader, sym, src)
        else:
            counts = self._replace_sqlite(reader, sym, src)
        assert reader.interval is not None and reader.first_ns is not None and reader.last_ns is not None
        result = ImportResult(sym, reader.interval, src, *counts, first_ns=reader.first_ns, last_ns=reader.last_ns,
                              dropped=reader.dropped, notes=tuple(reader.notes),
                              seconds=time.monotonic() - started)
        if progress is not None:
            progress(1.0, f"stored {result.inserted:,} bars ({result.replaced:,} replaced, {result.left:,} left)")
        log.info("import %s %s: %d inserted, %d replaced, %d left in %.1f s", sym, result.interval.name,
                 result.inserted, result.replaced, result.left, result.seconds)
        return result

    def _replace_sqlite(self, reader: BarFileReader, sym: str, src: str) -> tuple[int, int, int]:
        with self._store.engine.connect() as conn:
            raw = conn.connection.driver_connection
            cur = raw.cursor()
            try:
                cur.execute("CREATE TEMP TABLE IF NOT EXISTS _bars_in (ts INTEGER, open REAL, high REAL, "
                            "low REAL, close REAL, volume REAL)")
                cur.execute("DELETE FROM temp._bars_in")
                for bars in reader.chunks():
                    # Only the connection's temp database is written here: other processes keep writing.
                    cur.execute("BEGIN")
                    _stage_sqlite(cur, bars)
                    cur.execute("COMMIT")
                iv = _file_interval(reader)
                with conn.execution_options(**{WRITE_OPTION: True}).begin():
                    key = (sym, iv, reader.first_ns, reader.last_ns)
                    replaced = cur.execute('DELETE FROM imported_bars WHERE symbol = ? AND "interval" = ? '
                                           "AND ts BETWEEN ? AND ?", key).rowcount
                    left = cur.execute('SELECT count(*) FROM imported_bars WHERE symbol = ? AND "interval" = ?',
                                       key[:2]).fetchone()[0]
                    inserted = cur.execute(
                        f"INSERT INTO imported_bars ({_COLS}) SELECT ?, ?, ts, open, high, low, close, volume, ? "
                        "FROM temp._bars_in", (sym, iv, src)).rowcount  # rowid order = file order = ts order
            finally:
                if raw.in_transaction:
                    cur.execute("ROLLBACK")
                cur.execute("DROP TABLE IF EXISTS temp._bars_in")
                cur.close()
        return int(inserted), int(replaced), int(left)

    def _replace_postgresql(self, reader: BarFileReader, sym: str, src: str) -> tuple[int, int, int]:
        # PostgreSQL locks rows, not the database: stage and replace in one transaction.
        with self._store.session(write=True) as s:
            raw = s.connection().connection.driver_connection
            with raw.cursor() as cur:
                cur.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS _bars_in (ts bigint, open float8, high float8, low float8, "
                    "close float8, volume float8) ON COMMIT DELETE ROWS"
                )
                cur.execute("TRUNCATE _bars_in")
                for bars in reader.chunks():
                    with cur.copy("COPY _bars_in (ts, open, high, low, close, volume) FROM STDIN (FORMAT BINARY)"
                                  ) as cp:
                        cp.set_types(["int8", "float8", "float8", "float8", "float8", "float8"])
                        for row in zip(bars.ts.tolist(), bars.open.tolist(), bars.high.tolist(), bars.low.tolist(),
                                       bars.close.tolist(), bars.volume.tolist(), strict=True):
                            cp.write_row(row)
                iv = _file_interval(reader)
                # Two imports of the same series must not interleave their delete and insert (the
                # second would hit the first's rows): one transaction-scoped lock per series.
                cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"imported_bars:{sym}:{iv}",))
                cur.execute('DELETE FROM imported_bars WHERE symbol = %s AND "interval" = %s '
                            "AND ts BETWEEN %s AND %s", (sym, iv, reader.first_ns, reader.last_ns))
                replaced = cur.rowcount
                cur.execute('SELECT count(*) FROM imported_bars WHERE symbol = %s AND "interval" = %s', (sym, iv))
                row = cur.fetchone()
                left = int(row[0]) if row else 0
                cur.execute(f"INSERT INTO imported_bars ({_COLS}) "
                            'SELECT %s, %s, ts, "open", high, low, "close", volume, %s FROM _bars_in ORDER BY ts',
                            (sym, iv, src))
                inserted = cur.rowcount
                cur.execute("TRUNCATE _bars_in")
        return int(inserted), int(replaced), left

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


# Rows per multi-row INSERT when staging: 6 parameters each stays under SQLite's old 999-variable limit
# on any build; one statement per 150 rows binds about twice as fast as executemany row by row.
_STAGE_ROWS = 150


def _stage_sqlite(cur: Any, bars: Bars) -> None:
    n = len(bars)
    if not n:
        return
    table = np.empty((n, 6), dtype=object)   # ints stay ints (exact ts), floats stay floats
    for j, col in enumerate((bars.ts, bars.open, bars.high, bars.low, bars.close, bars.volume)):
        table[:, j] = col.tolist()
    flat = table.ravel().tolist()
    full = n - n % _STAGE_ROWS
    sql = "INSERT INTO temp._bars_in VALUES " + ",".join(["(?, ?, ?, ?, ?, ?)"] * _STAGE_ROWS)
    for lo in range(0, full * 6, _STAGE_ROWS * 6):
        cur.execute(sql, flat[lo:lo + _STAGE_ROWS * 6])
    if full < n:
        cur.execute("INSERT INTO temp._bars_in VALUES " + ",".join(["(?, ?, ?, ?, ?, ?)"] * (n - full)),
                    flat[full * 6:])


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


def _file_interval(reader: BarFileReader) -> str:
    if reader.interval is None or reader.rows == 0 or reader.first_ns is None or reader.last_ns is None:
        raise DataError(f"file: no valid bars for {reader.symbol} in {reader.path.name}"
                        + (f" ({reader.dropped} invalid rows dropped)" if reader.dropped else ""))
    return reader.interval.name


def _ns(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(field, "must be an integer UTC nanosecond timestamp")
    return int(value)
