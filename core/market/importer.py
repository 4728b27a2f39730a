"""Read a user's bar file (CSV or Parquet, the column layouts of common vendors) into `Bars`.

Layouts recognised: a timestamp column (bar_start_utc, bar_start_et, timestamp, datetime, time,
date, …) or a datetime index; open/high/low/close in any order and case; volume (or IB's
volume_lots100, converted to shares); an optional symbol column (long files hold many symbols)
and a futures contract_month column (the most traded contract of each day is kept). Anything
doubtful is an error naming the column and row, never a silent fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import DataError, InputError
from core.market.bars import Bars
from core.market.calendar import calendar_for
from core.market.intervals import ALL, D1, Interval

TIME_COLUMNS = ("bar_start_utc", "bar_start_et", "timestamp", "datetime", "time", "ts", "date")
PRICE_COLUMNS = ("open", "high", "low", "close")


@dataclass(frozen=True, slots=True)
class ImportedBars:
    symbol: str
    interval: Interval
    bars: Bars
    source: str
    notes: tuple[str, ...] = ()


def _read_frame(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise InputError("file", f"{path} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        elif suffix in (".csv", ".txt", ".gz"):
            df = pd.read_csv(path)
        else:
            raise InputError("file", f"unsupported file type {suffix!r}; use .csv or .parquet")
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(f"file: cannot read {path.name}: {exc}") from exc
    if isinstance(df.index, pd.DatetimeIndex):
        df = df.reset_index(names="__index_time__")
    return df


def _time_column(df: pd.DataFrame, lower: dict[str, str]) -> str:
    if "__index_time__" in df.columns:
        return "__index_time__"
    for name in TIME_COLUMNS:
        if name in lower:
            return lower[name]
    first = df.columns[0]
    if str(first).startswith("Unnamed") or str(first) == "":
        return first  # a CSV written from a pandas index
    raise DataError(f"columns: no timestamp column; expected one of {', '.join(TIME_COLUMNS)}")


def _parse_times(col: pd.Series, tz: str | None, name: str) -> pd.DatetimeIndex:
    if pd.api.types.is_datetime64_any_dtype(col):
        idx = pd.DatetimeIndex(col)
    else:
        text = col.astype(str)
        has_offset = text.str.contains(r"(?:[+-]\d{2}:?\d{2}|Z)$", regex=True)
        try:
            if has_offset.all():
                idx = pd.DatetimeIndex(pd.to_datetime(text, utc=True, format="ISO8601"))
            else:
                idx = pd.DatetimeIndex(pd.to_datetime(text, format="mixed"))
        except (ValueError, TypeError) as exc:
            raise DataError(f"{name}: cannot parse timestamps: {exc}") from exc
    if idx.isna().any():
        raise DataError(f"{name}: empty or invalid timestamp at row {int(np.flatnonzero(idx.isna())[0])}")
    if idx.tz is None:
        idx = idx.tz_localize(tz or "America/New_York", ambiguous="raise", nonexistent="raise")
    elif tz:
        raise InputError("tz", f"{name} already carries a UTC offset; --tz applies to naive times only")
    return idx.tz_convert("UTC").as_unit("ns")


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
                   allow_missing_volume: bool = False) -> ImportedBars:
    """Parse a bar file for `symbol`. Raises InputError/DataError naming the field and reason."""
    if not symbol or not symbol.strip():
        raise InputError("symbol", "is required")
    symbol = symbol.strip().upper()
    path = Path(path)
    df = _read_frame(path)
    lower = {str(c).strip().lower(): c for c in df.columns}
    notes: list[str] = []
    if "symbol" in lower:
        col = df[lower["symbol"]].astype(str).str.upper()
        present = sorted(col.unique())
        if symbol not in present:
            raise InputError("symbol", f"{symbol} not in file; it holds {', '.join(present[:20])}")
        df = df[col == symbol]
    missing = [c for c in PRICE_COLUMNS if c not in lower]
    if missing:
        raise DataError(f"columns: missing {', '.join(missing)} (have {', '.join(map(str, df.columns))})")
    tcol = _time_column(df, lower)
    times = _parse_times(df[tcol], tz, str(tcol))
    frame = pd.DataFrame({c: pd.to_numeric(df[lower[c]], errors="coerce").to_numpy() for c in PRICE_COLUMNS},
                         index=times)
    if "volume" in lower:
        frame["volume"] = pd.to_numeric(df[lower["volume"]], errors="coerce").to_numpy()
    elif "volume_lots100" in lower:
        frame["volume"] = pd.to_numeric(df[lower["volume_lots100"]], errors="coerce").to_numpy() * 100.0
        notes.append("volume_lots100 converted to shares (x100)")
    else:
        frame["volume"] = 0.0
        notes.append("no volume column: volume set to 0")
    if "contract_month" in lower:
        frame["contract"] = df[lower["contract_month"]].to_numpy()
        frame = _front_month(frame)
        notes.append("futures contracts: kept the most traded contract of each day")
    if allow_missing_volume and frame["volume"].isna().any():
        notes.append(f"{int(frame['volume'].isna().sum())} missing volumes set to 0")
        frame["volume"] = frame["volume"].fillna(0.0)
    for c in (*PRICE_COLUMNS, "volume"):
        bad = np.flatnonzero(~np.isfinite(frame[c].to_numpy(dtype=float)))
        if len(bad):
            hint = " (use --allow-missing-volume to treat as 0)" if c == "volume" else ""
            raise DataError(f"{c}: NaN or non-numeric value at row {int(bad[0])} ({frame.index[bad[0]]}){hint}")
    ts = frame.index.asi8
    d = np.diff(ts)
    if (d == 0).any():
        r = int(np.flatnonzero(d == 0)[0]) + 1
        raise DataError(f"{tcol}: duplicate timestamp {frame.index[r]} at row {r}")
    if (d < 0).any():
        r = int(np.flatnonzero(d < 0)[0]) + 1
        raise DataError(f"{tcol}: timestamps not sorted: row {r} ({frame.index[r]}) is before row {r - 1}")
    hi, lo = frame["high"].to_numpy(), frame["low"].to_numpy()
    if (hi < lo).any():
        r = int(np.flatnonzero(hi < lo)[0])
        raise DataError(f"high: below low at row {r} ({frame.index[r]})")
    interval = infer_interval(ts)
    bars = Bars.from_arrays(ts, *(frame[c].to_numpy() for c in PRICE_COLUMNS), frame["volume"].to_numpy())
    if interval.is_daily:
        bars = _stamp_daily_at_open(bars, symbol)
    notes.insert(0, f"from {path.name}")
    return ImportedBars(symbol, interval, bars, source="import", notes=tuple(notes))


def _front_month(frame: pd.DataFrame) -> pd.DataFrame:
    day = frame.index.tz_convert("America/New_York").date
    vol = frame.groupby([day, "contract"])["volume"].sum()
    best = vol.groupby(level=0).idxmax().map(lambda k: k[1])
    keep = frame["contract"].to_numpy() == best.reindex(day).to_numpy()
    return frame[keep].drop(columns="contract")


def _stamp_daily_at_open(bars: Bars, symbol: str) -> Bars:
    """Daily bars are stamped at their session's open, like resampled daily bars."""
    cal = calendar_for(symbol)
    if cal.is_futures:
        # Futures daily files are already stamped at the Globex open (the evening before).
        return bars
    days = np.asarray(bars.index.tz_convert("America/New_York").date, dtype="datetime64[D]")
    idx = np.searchsorted(cal.session_dates, days)
    idx = np.minimum(idx, len(cal.session_dates) - 1)
    off = cal.session_dates[idx] != days
    if off.any():
        r = int(np.flatnonzero(off)[0])
        raise DataError(f"date: {days[r]} (row {r}) is not a trading session of {cal.code}")
    ts = cal.opens_ns[idx]
    if (np.diff(ts) <= 0).any():
        r = int(np.flatnonzero(np.diff(ts) <= 0)[0]) + 1
        raise DataError(f"date: two rows map to the same session at row {r}")
    return Bars(ts, bars.open, bars.high, bars.low, bars.close, bars.volume)
