"""Read a user's bar file (CSV or Parquet, the column layouts of common vendors) into `Bars`.

Layouts recognised: a timestamp column (bar_start_utc, bar_start_et, timestamp, datetime, time,
date, …) or a datetime index; open/high/low/close in any order and case; volume (or IB's
volume_lots100, converted to shares); an optional symbol column (long files hold many symbols)
and a futures contract_month column (the most traded contract of each day is kept). CSV files may
be comma-, semicolon-, tab- or pipe-separated (detected from the header), UTF-8/UTF-16/Latin-1.
Timestamps: ISO 8601 with or without a UTC offset, common date layouts (11/5/2019 9:30), epoch
seconds/milliseconds/micro/nanoseconds (UTC) and YYYYMMDD integers.

Files are read in bounded chunks (`BarFileReader`), so a 10-million-row file never sits in memory
whole; `read_bars_file` collects the chunks for callers that want one `Bars` frame.

Anything doubtful is an error naming the column and the file line (the header is line 1; for
Parquet, the row counted from 1), never a silent fix. Impossible bars (prices ≤ 0 or absurdly
large, open/close outside low–high, negative volume) are refused, or dropped and counted when the
caller passes drop_invalid=True.

Naive times are local to `tz` (default America/New_York). At the end of DST the repeated hour is
read by order: the first occurrence of a wall time is daylight time, the second standard time. A
time inside the spring-forward gap (2024-03-10 02:30) cannot be New York local time, so it is
refused with its line named and a hint to pass the file's real zone (--tz UTC).
"""

from __future__ import annotations

import gzip
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from core.errors import DataError, InputError
from core.market.bars import Bars
from core.market.calendar import calendar_for
from core.market.intervals import ALL, D1, Interval

TIME_COLUMNS = ("bar_start_utc", "bar_start_et", "timestamp", "datetime", "time", "ts", "date")
PRICE_COLUMNS = ("open", "high", "low", "close")
CHUNK_ROWS = 250_000
MAX_PRICE = 1e9          # above any traded instrument (BRK.A ~ 7e5); 1e308 is a broken file
MAX_VOLUME = 1e15
FIRST_YEAR, LAST_YEAR = 1900, 2100
_SEPARATORS = (",", ";", "\t", "|")
_INDEX_TIME = "__index_time__"

Progress = Callable[[float, str], None]


@dataclass(frozen=True, slots=True)
class ImportedBars:
    symbol: str
    interval: Interval
    bars: Bars
    source: str
    notes: tuple[str, ...] = ()
    dropped: int = 0  # invalid rows dropped (drop_invalid=True)


# -- raw chunks ------------------------------------------------------------------------------------
@dataclass(slots=True)
class _RawChunk:
    frame: pd.DataFrame
    first_line: int    # file line (CSV) or row number (Parquet) of frame's first row
    fraction: float    # share of the file read so far


def _sniff_encoding(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    cut = head.rfind(b"\n")
    try:
        (head[: cut + 1] if cut >= 0 else head).decode("utf-8")
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8"


def _sniff_separator(first_line: str) -> str:
    counts = {sep: first_line.count(sep) for sep in _SEPARATORS}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ","


class _CsvSource:
    """A CSV (optionally gzipped) read in chunks; blank lines kept so row i is file line i + 2."""

    def __init__(self, path: Path, chunk_rows: int) -> None:
        self.path = path
        self.chunk_rows = chunk_rows
        self.size = max(path.stat().st_size, 1)
        self.gz = path.suffix.lower() == ".gz"
        raw, fh = self._open()
        try:
            head = fh.read(65536)
        except (OSError, EOFError) as exc:
            raise DataError(f"file: cannot read {path.name}: {exc}") from exc
        finally:
            fh.close()
            raw.close()
        if not head.strip():
            raise DataError(f"file: {path.name} is empty")
        self.encoding = _sniff_encoding(head)
        text = head.decode(self.encoding, errors="replace")
        lines = text.lstrip("\ufeff").splitlines()
        self.separator = _sniff_separator(lines[0] if lines else "")
        self.notes: list[str] = []
        if self.separator != ",":
            self.notes.append(f"columns separated by {self.separator!r}")
        # Spreadsheets in many European locales write "101,25" with ";" between columns.
        self.decimal = "."
        fields = [f.strip() for line in lines[1:20] for f in line.split(self.separator)]
        commas = sum(bool(re.fullmatch(r"-?\d+,\d+", f)) for f in fields)
        points = sum(bool(re.fullmatch(r"-?\d+\.\d+(?:[eE][-+]?\d+)?", f)) for f in fields)
        if self.separator != "," and commas > points:
            self.decimal = ","
            self.notes.append("decimal commas (101,25) read as decimal points")
        if self.encoding in ("latin-1", "utf-16"):
            self.notes.append(f"text encoding {self.encoding}")

    def _open(self) -> tuple[BinaryIO, BinaryIO]:
        raw = open(self.path, "rb")  # closed by the caller, with the gzip stream over it
        return raw, (gzip.GzipFile(fileobj=raw) if self.gz else raw)  # type: ignore[return-value]

    def chunks(self) -> Iterator[_RawChunk]:
        raw, fh = self._open()
        line = 2
        try:
            reader = pd.read_csv(fh, sep=self.separator, decimal=self.decimal, encoding=self.encoding,
                                 chunksize=self.chunk_rows, skip_blank_lines=False, low_memory=False)
            for df in reader:
                yield _RawChunk(df, line, min(raw.tell() / self.size, 1.0))
                line += len(df)
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError, EOFError, OSError) as exc:
            if isinstance(exc, DataError | InputError):
                raise
            raise DataError(f"file: cannot read {self.path.name} (the chunk from line {line}): {exc}") from exc
        finally:
            fh.close()
            raw.close()


class _ParquetSource:
    def __init__(self, path: Path, chunk_rows: int) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.path = path
        self.chunk_rows = chunk_rows
        try:
            self.file = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"file: cannot read {path.name}: {exc}") from exc
        self.notes: list[str] = []
        schema = self.file.schema_arrow
        meta = self.file.metadata
        self.rows = max(meta.num_rows, 1)
        self.types = {name: schema.field(name).type for name in schema.names}

    def chunks(self) -> Iterator[_RawChunk]:
        import pyarrow as pa

        row = 1
        try:
            for batch in self.file.iter_batches(batch_size=self.chunk_rows):
                df = batch.to_pandas()  # restores a pandas-written index from the file's metadata
                if isinstance(df.index, pd.DatetimeIndex):
                    df = df.reset_index(names=_INDEX_TIME)
                yield _RawChunk(df, row, min((row + len(df)) / self.rows, 1.0))
                row += len(df)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"file: cannot read {self.path.name} near row {row}: {exc}") from exc


# -- the reader ------------------------------------------------------------------------------------
@dataclass
class _TimeState:
    tz: ZoneInfo | None          # the zone of naive times
    text_format: str | None = None  # the strptime format found in the first chunk ("ISO8601" or guessed)
    epoch_unit: str | None = None
    seen_ambiguous: set[int] = field(default_factory=set)  # wall times of the repeated hour met so far
    ambiguous_repeats: int = 0


def _check_tz(tz: str | None) -> ZoneInfo | None:
    if tz is None:
        return None
    if not isinstance(tz, str) or not tz.strip():
        raise InputError("tz", "must be an IANA time zone name such as America/New_York or UTC")
    try:
        return ZoneInfo(tz.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError("tz", f"unknown time zone {tz!r}; use an IANA name such as America/New_York or UTC") from exc


class BarFileReader:
    """One bar file, read in chunks of `chunk_rows` rows. Iterate `chunks()` once.

    `interval` is known after the first chunk; `notes`, `dropped`, `rows` are complete after the last.
    """

    def __init__(self, path: str | Path, symbol: str, *, tz: str | None = None,
                 allow_missing_volume: bool = False, drop_invalid: bool = False,
                 chunk_rows: int = CHUNK_ROWS, progress: Progress | None = None) -> None:
        if not isinstance(symbol, str) or not symbol.strip():
            raise InputError("symbol", "is required")
        self.symbol = symbol.strip().upper()
        self.path = Path(path)
        self.zone = _check_tz(tz)
        self.allow_missing_volume = allow_missing_volume
        self.drop_invalid = drop_invalid
        self.progress = progress
        if not self.path.is_file():
            raise InputError("file", f"{self.path} does not exist")
        suffix = self.path.suffix.lower()
        if suffix in (".parquet", ".pq"):
            self._source: _CsvSource | _ParquetSource = _ParquetSource(self.path, chunk_rows)
            self.where = "row"
        elif suffix in (".csv", ".txt", ".gz", ".tsv"):
            self._source = _CsvSource(self.path, chunk_rows)
            self.where = "line"
        else:
            raise InputError("file", f"unsupported file type {suffix!r}; use .csv or .parquet")
        self.notes: list[str] = [f"from {self.path.name}", *self._source.notes]
        self.interval: Interval | None = None
        self.dropped = 0
        self.rows = 0
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        self._time = _TimeState(self.zone)
        self._missing_volume = 0
        self._symbols_seen: set[str] = set()
        self._symbol_rows = 0
        self._prev_ts: int | None = None
        self._prev_line = 0
        self._prev_stamp: int | None = None

    # -- layout --------------------------------------------------------------------------------
    def _layout(self, df: pd.DataFrame) -> None:
        lower = {str(c).strip().lower().lstrip("\ufeff"): c for c in df.columns}
        missing = [c for c in PRICE_COLUMNS if c not in lower]
        if missing:
            raise DataError(f"columns: missing {', '.join(missing)} (have {', '.join(map(str, df.columns))})")
        self.cols = {c: lower[c] for c in PRICE_COLUMNS}
        self.volume_col, self.volume_scale = None, 1.0
        if "volume" in lower:
            self.volume_col = lower["volume"]
        elif "volume_lots100" in lower:
            self.volume_col, self.volume_scale = lower["volume_lots100"], 100.0
            self.notes.append("volume_lots100 converted to shares (x100)")
        else:
            self.notes.append("no volume column: volume set to 0")
        self.symbol_col = lower.get("symbol")
        self.contract_col = lower.get("contract_month")
        if _INDEX_TIME in df.columns:
            self.tcol = _INDEX_TIME
        else:
            named = next((lower[n] for n in TIME_COLUMNS if n in lower), None)
            first = df.columns[0]
            if named is not None:
                self.tcol = named
            elif str(first).startswith("Unnamed") or str(first) == "":
                self.tcol = first  # a CSV written from a pandas index
            else:
                raise DataError(f"columns: no timestamp column; expected one of {', '.join(TIME_COLUMNS)}")
        self.tname = "index" if self.tcol == _INDEX_TIME else str(self.tcol)
        if isinstance(self._source, _ParquetSource):
            self._check_parquet_types()

    def _check_parquet_types(self) -> None:
        import pyarrow as pa

        assert isinstance(self._source, _ParquetSource)
        text_cols = []
        for name in (*PRICE_COLUMNS, "volume"):
            col = self.cols.get(name) if name != "volume" else self.volume_col
            if col is None:
                continue
            typ = self._source.types.get(str(col))
            if typ is None:
                continue
            if pa.types.is_boolean(typ):
                raise DataError(f"{name}: stored as true/false in {self.path.name}; numbers expected")
            if pa.types.is_string(typ) or pa.types.is_large_string(typ):
                text_cols.append(name)
        if text_cols:
            self.notes.append(f"{', '.join(text_cols)} stored as text in the file: converted to numbers")

    # -- chunks --------------------------------------------------------------------------------
    def chunks(self) -> Iterator[Bars]:
        """Validated bars, oldest first, chunk by chunk (UTC nanoseconds)."""
        pending: list[tuple[np.ndarray, ...]] = []
        raw_iter = self._source.chunks()
        first = True
        for raw in raw_iter:
            if first:
                self._layout(raw.frame)
                first = False
                if self.contract_col is not None:
                    # Choosing the front month needs whole days: such files are read whole.
                    frame = pd.concat([raw.frame, *(r.frame for r in raw_iter)], ignore_index=True)
                    raw = _RawChunk(frame, raw.first_line, 1.0)
            cols = self._process(raw)
            if self.interval is None:
                pending.append(cols)
                merged = tuple(np.concatenate(parts) for parts in zip(*pending, strict=True))
                if len(merged[0]) < 2:
                    continue
                self._check_order(merged[0], merged[-1])   # a duplicate is named as such, not as a 0 s spacing
                self._prev_ts = None
                self.interval = infer_interval(merged[0])
                pending.clear()
                cols = merged
            if len(cols[0]):
                yield self._finish(cols)
            self._report(raw.fraction)
        if first:
            raise DataError(f"file: {self.path.name} holds no rows")
        if self.symbol_col is not None and self._symbol_rows == 0:
            present = sorted(self._symbols_seen)
            raise InputError("symbol", f"{self.symbol} not in file; it holds {', '.join(present[:20])}")
        if self.interval is None:
            kept = sum(len(p[0]) for p in pending)
            raise DataError(f"{self.tname}: need at least two bars to infer the interval (have {kept})")
        self._final_notes()

    def _report(self, fraction: float) -> None:
        if self.progress is not None:
            self.progress(fraction, f"read {self.rows:,} bars ({fraction:.0%} of {self.path.name})")

    def _final_notes(self) -> None:
        t = self._time
        if t.epoch_unit:
            self.notes.append(f"timestamps read as epoch {t.epoch_unit} (UTC)")
        if t.ambiguous_repeats:
            self.notes.append(f"{t.ambiguous_repeats} wall times of the repeated hour at the end of DST appear twice: "
                              "read by order (first daylight time, second standard time)")
        if len(t.seen_ambiguous) > t.ambiguous_repeats:
            self.notes.append(f"{len(t.seen_ambiguous) - t.ambiguous_repeats} wall times of the repeated hour at "
                              "the end of DST appear once: read as daylight time (first occurrence)")
        if self._missing_volume:
            self.notes.append(f"{self._missing_volume} missing volumes set to 0")
        if self.contract_col is not None:
            self.notes.append("futures contracts: kept the most traded contract of each day")
        if self.dropped:
            self.notes.append(f"dropped {self.dropped} invalid rows (drop_invalid)")

    # -- one chunk -----------------------------------------------------------------------------
    def _process(self, raw: _RawChunk) -> tuple[np.ndarray, ...]:
        df = raw.frame
        lines = raw.first_line + np.arange(len(df), dtype=np.int64)
        if isinstance(self._source, _CsvSource) and len(df):
            blank = df.isna().all(axis=1).to_numpy()
            if blank.any():
                df, lines = df[~blank], lines[~blank]
        if self.symbol_col is not None:
            sym = df[self.symbol_col].astype(str).fillna("").str.strip().str.upper()
            if len(self._symbols_seen) < 1000:
                self._symbols_seen.update(x for x in sym.unique().tolist() if isinstance(x, str) and x)
            keep = (sym == self.symbol).to_numpy(dtype=bool, na_value=False)
            self._symbol_rows += int(keep.sum())
            df, lines = df[keep], lines[keep]
        if not len(df):
            empty = np.empty(0)
            return (np.empty(0, np.int64), empty, empty, empty, empty, empty, np.empty(0, np.int64))
        ts = self._times(df[self.tcol], lines)
        prices = [self._numbers(df[self.cols[c]], c, lines) for c in PRICE_COLUMNS]
        if self.volume_col is not None:
            volume = self._numbers(df[self.volume_col], "volume", lines) * self.volume_scale
        else:
            volume = np.zeros(len(df))
        if self.contract_col is not None:
            ts, prices, volume, lines = _front_month(ts, prices, volume, lines, df[self.contract_col].to_numpy())
        return (ts, *prices, volume, lines)

    def _where(self, line: int) -> str:
        return f"{self.where} {line}"

    def _numbers(self, col: pd.Series, name: str, lines: np.ndarray) -> np.ndarray:
        if pd.api.types.is_bool_dtype(col) or (
                col.dtype == object and pd.api.types.infer_dtype(col, skipna=True) == "boolean"):
            raise DataError(f"{name}: true/false values at {self._where(int(lines[0]))}; numbers expected")
        if pd.api.types.is_numeric_dtype(col):
            return col.to_numpy(dtype=np.float64, na_value=np.nan)
        return pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)

    def _invalid(self, o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray,
                 v: np.ndarray) -> list[tuple[np.ndarray, str, np.ndarray]]:
        """(mask, column, reason) per check, in the order they are reported."""
        checks: list[tuple[np.ndarray, str, np.ndarray]] = []
        with np.errstate(invalid="ignore"):
            for name, arr in zip(PRICE_COLUMNS, (o, h, lo, c), strict=True):
                checks.append((~np.isfinite(arr), f"{name}: NaN or non-numeric value", arr))
                checks.append((arr <= 0, f"{name}: price must be above 0, got", arr))
                checks.append((arr > MAX_PRICE, f"{name}: price above {MAX_PRICE:g}, got", arr))
            checks.append((h < lo, "high: below low, got", h))
            checks.append((o > h, "open: above high, got", o))
            checks.append((o < lo, "open: below low, got", o))
            checks.append((c > h, "close: above high, got", c))
            checks.append((c < lo, "close: below low, got", c))
            hint = "" if self.allow_missing_volume else " (use --allow-missing-volume to treat as 0)"
            checks.append((np.isnan(v), f"volume: NaN or non-numeric value{hint}", v))
            checks.append((np.isinf(v) | (v > MAX_VOLUME), f"volume: above {MAX_VOLUME:g}, got", v))
            checks.append((v < 0, "volume: negative, got", v))
        return checks

    def _finish(self, cols: tuple[np.ndarray, ...]) -> Bars:
        ts, o, h, lo, c, v, lines = cols
        if self.allow_missing_volume:
            miss = np.isnan(v)
            if miss.any():
                self._missing_volume += int(miss.sum())
                v = np.where(miss, 0.0, v)
        checks = self._invalid(o, h, lo, c, v)
        bad = np.zeros(len(ts), dtype=bool)
        for mask, _, _ in checks:
            bad |= mask
        if bad.any():
            if not self.drop_invalid:
                first = int(np.flatnonzero(bad)[0])
                mask, reason, arr = next(chk for chk in checks if chk[0][first])
                value = "" if reason.endswith(("value", "as 0)")) else f" {arr[first]:g}"
                raise DataError(f"{reason}{value} at {self._where(int(lines[first]))} "
                                f"({_when(ts[first])}); pass drop_invalid (--drop-invalid) "
                                "to drop such rows")
            self.dropped += int(bad.sum())
            keep = ~bad
            ts, o, h, lo, c, v, lines = (a[keep] for a in (ts, o, h, lo, c, v, lines))
        self._check_order(ts, lines)
        assert self.interval is not None
        if self.interval.is_daily and len(ts):
            ts = self._stamp_daily(ts, lines)
        if len(ts):
            self.first_ns = int(ts[0]) if self.first_ns is None else self.first_ns
            self.last_ns = int(ts[-1])
        self.rows += len(ts)
        return Bars.from_arrays(ts, o, h, lo, c, v)

    def _check_order(self, ts: np.ndarray, lines: np.ndarray) -> None:
        if not len(ts):
            return
        prev = np.concatenate(([self._prev_ts], ts[:-1])) if self._prev_ts is not None else None
        d = ts - prev if prev is not None else np.concatenate(([1], np.diff(ts)))
        prev_lines = np.concatenate(([self._prev_line], lines[:-1]))
        if (d == 0).any():
            r = int(np.flatnonzero(d == 0)[0])
            raise DataError(f"{self.tname}: duplicate timestamp {_when(ts[r])} at "
                            f"{self._where(int(lines[r]))} (same as {self._where(int(prev_lines[r]))})")
        if (d < 0).any():
            r = int(np.flatnonzero(d < 0)[0])
            raise DataError(f"{self.tname}: timestamps not sorted: {self._where(int(lines[r]))} "
                            f"({_when(ts[r])}) is before {self._where(int(prev_lines[r]))}")
        self._prev_ts, self._prev_line = int(ts[-1]), int(lines[-1])

    def _stamp_daily(self, ts: np.ndarray, lines: np.ndarray) -> np.ndarray:
        """Daily bars are stamped at their session's open, like resampled daily bars."""
        cal = calendar_for(self.symbol)
        if cal.is_futures:
            return ts  # futures daily files are already stamped at the Globex open (the evening before)
        days = np.asarray(pd.DatetimeIndex(ts, tz="UTC").tz_convert("America/New_York").date, dtype="datetime64[D]")
        idx = np.minimum(np.searchsorted(cal.session_dates, days), len(cal.session_dates) - 1)
        off = cal.session_dates[idx] != days
        if off.any():
            r = int(np.flatnonzero(off)[0])
            raise DataError(f"date: {days[r]} ({self._where(int(lines[r]))}) is not a trading session of {cal.code}")
        out = cal.opens_ns[idx]
        prev = np.concatenate(([self._prev_stamp], out[:-1])) if self._prev_stamp is not None else None
        d = out - prev if prev is not None else np.concatenate(([1], np.diff(out)))
        if (d <= 0).any():
            r = int(np.flatnonzero(d <= 0)[0])
            raise DataError(f"date: two rows map to the same session at {self._where(int(lines[r]))}")
        self._prev_stamp = int(out[-1])
        return out

    # -- timestamps ----------------------------------------------------------------------------
    def _times(self, col: pd.Series, lines: np.ndarray) -> np.ndarray:
        name, t = self.tname, self._time
        if pd.api.types.is_datetime64_any_dtype(col):
            idx = pd.DatetimeIndex(col)
        elif pd.api.types.is_bool_dtype(col):
            raise DataError(f"{name}: true/false values at {self._where(int(lines[0]))}; timestamps expected")
        elif pd.api.types.is_numeric_dtype(col) or t.epoch_unit or _all_digits(col):
            return self._epoch(col, lines)
        else:
            idx = self._parse_text(col.astype(str), lines)
        missing = idx.isna()
        if missing.any():
            r = int(np.flatnonzero(missing)[0])
            raise DataError(f"{name}: empty or invalid timestamp at {self._where(int(lines[r]))}")
        self._check_years(idx, col, lines)
        if idx.tz is None:
            idx = self._localize(idx, lines)
        elif t.tz is not None:
            raise InputError("tz", f"{name} already carries a UTC offset; --tz applies to naive times only")
        return np.asarray(idx.tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)

    def _check_years(self, idx: pd.DatetimeIndex, col: pd.Series, lines: np.ndarray) -> None:
        years = idx.year
        out = (years < FIRST_YEAR) | (years > LAST_YEAR)
        if out.any():
            r = int(np.flatnonzero(out)[0])
            raise DataError(f"{self.tname}: {col.iloc[r]!s} at {self._where(int(lines[r]))} is outside "
                            f"{FIRST_YEAR}–{LAST_YEAR}")

    def _parse_text(self, text: pd.Series, lines: np.ndarray) -> pd.DatetimeIndex:
        t = self._time
        if t.text_format is None:
            # The layout of the first rows decides: ISO 8601 (fast, offsets allowed) or a guessed strptime format.
            first = text.dropna().iloc[0] if text.notna().any() else ""
            try:
                pd.to_datetime(text.iloc[:1000], format="ISO8601", utc=True)
                t.text_format = "ISO8601"
            except (ValueError, TypeError):
                t.text_format = _guess_format(text.iloc[:1000], str(first))
        fmt = t.text_format
        try:
            return pd.DatetimeIndex(pd.to_datetime(text, format=fmt))
        except (ValueError, TypeError) as exc:
            failure: Exception = exc
        # Offsets that differ (daylight/standard time), times with and without an offset, or a bad value.
        has_offset = text.str.contains(r"(?:[+-]\d{2}:?\d{2}|Z)$", regex=True, na=False).to_numpy()
        if has_offset.any():
            if not has_offset.all():
                r = int(np.flatnonzero(~has_offset)[0])
                raise DataError(f"{self.tname}: {text.iloc[r]!r} at {self._where(int(lines[r]))} has no UTC "
                                "offset while other times do") from failure
            try:
                return pd.DatetimeIndex(pd.to_datetime(text, format=fmt, utc=True))
            except (ValueError, TypeError) as exc:
                failure = exc
        try:
            bad = pd.DatetimeIndex(pd.to_datetime(text, format=fmt, errors="coerce", utc=True)).isna()
        except (ValueError, TypeError):
            bad = np.ones(len(text), dtype=bool)
        r = int(np.flatnonzero(bad)[0]) if bad.any() else 0
        raise DataError(f"{self.tname}: cannot read timestamp {text.iloc[r]!r} at {self._where(int(lines[r]))} "
                        f"(expected the layout of the first rows, {fmt}; years {FIRST_YEAR}–{LAST_YEAR})"
                        ) from failure

    def _epoch(self, col: pd.Series, lines: np.ndarray) -> np.ndarray:
        t, name = self._time, self.tname
        values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(values)
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise DataError(f"{name}: empty or invalid timestamp {_show(col.iloc[r])} at {self._where(int(lines[r]))}")
        if t.epoch_unit is None:
            mag = float(np.median(np.abs(values)))
            if 1.9e7 <= mag < 2.2e7:
                t.epoch_unit = "YYYYMMDD"
            elif 3e8 <= mag < 1e11:
                t.epoch_unit = "s"
            elif 3e11 <= mag < 1e14:
                t.epoch_unit = "ms"
            elif 3e14 <= mag < 1e17:
                t.epoch_unit = "us"
            elif 3e17 <= mag < 1e20:
                t.epoch_unit = "ns"
            else:
                raise DataError(f"{name}: numbers like {values[0]:g} at {self._where(int(lines[0]))} are neither "
                                "epoch seconds/milliseconds nor YYYYMMDD dates")
        if t.epoch_unit == "YYYYMMDD":
            text = pd.Series(values.astype(np.int64).astype(str))
            idx = pd.DatetimeIndex(pd.to_datetime(text, format="%Y%m%d", errors="coerce"))
            if idx.isna().any():
                r = int(np.flatnonzero(idx.isna())[0])
                raise DataError(f"{name}: {col.iloc[r]!s} at {self._where(int(lines[r]))} is not a YYYYMMDD date")
            return np.asarray(self._localize(idx, lines).tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)
        if t.tz is not None:
            raise InputError("tz", f"{name} holds epoch {t.epoch_unit} (UTC already); --tz applies to naive times only")
        scale = {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0}[t.epoch_unit]
        lo = pd.Timestamp(f"{FIRST_YEAR}-01-01", tz="UTC").value / scale
        hi = pd.Timestamp(f"{LAST_YEAR}-12-31", tz="UTC").value / scale
        out = (values < lo) | (values > hi)
        if out.any():
            r = int(np.flatnonzero(out)[0])
            raise DataError(f"{name}: {col.iloc[r]!s} at {self._where(int(lines[r]))} is outside "
                            f"{FIRST_YEAR}–{LAST_YEAR} as epoch {t.epoch_unit}")
        return np.round(values * scale).astype(np.int64)

    def _localize(self, idx: pd.DatetimeIndex, lines: np.ndarray) -> pd.DatetimeIndex:
        """Naive wall times in the file's zone → aware; DST gap refused, the repeated hour read by order."""
        t = self._time
        zone = t.tz or ZoneInfo("America/New_York")
        out = idx.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
        odd = np.flatnonzero(out.isna())
        if not len(odd):
            return out
        fixed = out.as_unit("ns").asi8.copy()
        naive_ns = idx.as_unit("ns").asi8
        for i in odd:
            wall = pd.Timestamp(int(naive_ns[i]))
            dst = wall.tz_localize(zone, ambiguous=True, nonexistent="NaT")
            if dst is pd.NaT:
                raise DataError(
                    f"{self.tname}: {wall} at {self._where(int(lines[i]))} does not exist in {zone.key} (the clocks "
                    f"jump forward that night), so these are not {zone.key} times: pass the file's zone, "
                    "e.g. --tz UTC")
            key = int(naive_ns[i])
            if key in t.seen_ambiguous:   # second occurrence: standard time
                fixed[i] = wall.tz_localize(zone, ambiguous=False).value
                t.ambiguous_repeats += 1
            else:                         # first occurrence: daylight time
                t.seen_ambiguous.add(key)
                fixed[i] = dst.value
        return pd.DatetimeIndex(fixed, tz="UTC").tz_convert(zone)


def _guess_format(head: pd.Series, first: str) -> str:
    """The strptime layout of the first rows. Dotted dates (02.01.2024) are day-first, as everywhere
    they are written; otherwise month-first (US) unless only day-first parses the first rows."""
    dotted = bool(re.match(r"\d{1,2}\.\d{1,2}\.\d{4}", first))
    with warnings.catch_warnings():   # pandas warns when a guess ignores dayfirst; both guesses are tried anyway
        warnings.simplefilter("ignore", UserWarning)
        candidates = [guess_datetime_format(first, dayfirst=dotted),
                      guess_datetime_format(first, dayfirst=not dotted)]
    for fmt in candidates:
        if fmt is None:
            continue
        try:
            pd.to_datetime(head, format=fmt)
        except (ValueError, TypeError):
            continue
        return fmt
    return next((f for f in candidates if f), "mixed")


def _when(ns: np.integer | int) -> str:
    return pd.Timestamp(int(ns), tz="UTC").tz_convert("America/New_York").strftime("%Y-%m-%d %H:%M %Z")


def _show(value: object) -> str:
    return "(empty)" if value is None or (isinstance(value, float) and np.isnan(value)) else repr(str(value))


def _all_digits(col: pd.Series) -> bool:
    head = col.dropna().astype(str).head(50)
    return len(head) > 0 and bool(head.str.fullmatch(r"\d{8,20}(?:\.\d+)?").all())


def _front_month(ts: np.ndarray, prices: list[np.ndarray], volume: np.ndarray, lines: np.ndarray,
                 contract: np.ndarray) -> tuple[np.ndarray, list[np.ndarray], np.ndarray, np.ndarray]:
    day = pd.DatetimeIndex(ts, tz="UTC").tz_convert("America/New_York").date
    frame = pd.DataFrame({"day": day, "contract": contract, "volume": np.nan_to_num(volume)})
    vol = frame.groupby(["day", "contract"])["volume"].sum()
    best = vol.groupby(level=0).idxmax().map(lambda k: k[1])
    keep = frame["contract"].to_numpy() == best.reindex(day).to_numpy()
    order = np.argsort(ts[keep], kind="stable")
    return (ts[keep][order], [p[keep][order] for p in prices], volume[keep][order], lines[keep][order])


def infer_interval(ts_ns: np.ndarray) -> Interval:
    if len(ts_ns) < 2:
        raise DataError("ts: need at least two bars to infer the interval")
    step = float(np.median(np.diff(ts_ns))) / 1e9
    if step >= 20 * 3600:
        return D1
    best = min(ALL[:-1], key=lambda iv: abs(iv.seconds - step))
    if abs(best.seconds - step) > 0.25 * best.seconds:
        raise DataError(f"ts: bar spacing of {step:g} s matches no supported interval")
    return best


def read_bars_file(path: str | Path, symbol: str, *, tz: str | None = None,
                   allow_missing_volume: bool = False, drop_invalid: bool = False,
                   progress: Progress | None = None) -> ImportedBars:
    """Parse a bar file for `symbol` into one frame. Raises InputError/DataError naming the field and line."""
    reader = BarFileReader(path, symbol, tz=tz, allow_missing_volume=allow_missing_volume,
                           drop_invalid=drop_invalid, progress=progress)
    parts = list(reader.chunks())
    assert reader.interval is not None
    if reader.rows == 0:
        raise DataError(f"file: no valid bars for {reader.symbol} in {reader.path.name} "
                        f"({reader.dropped} invalid rows dropped)")
    bars = parts[0] if len(parts) == 1 else Bars.from_arrays(
        *(np.concatenate([getattr(p, c) for p in parts]) for c in ("ts", "open", "high", "low", "close", "volume")))
    return ImportedBars(reader.symbol, reader.interval, bars, source="import", notes=tuple(reader.notes),
                        dropped=reader.dropped)


__all__ = ["BarFileReader", "ImportedBars", "Progress", "infer_interval", "read_bars_file"]
