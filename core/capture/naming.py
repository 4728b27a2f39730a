"""The seed's file names for captures, in exchange time (America/New_York):

    {symbol}_{type}_{YYYYMMDD}_{HHMMSS}.png              e.g. MNQ1!_manual_20261221_101502.png
    {symbol}_session_{YYYYMMDD}_{N}m_{HHMM}.png          e.g. MNQ1!_session_20261221_15m_1000.png

under `<data dir>/raw/`. Session-candle names carry the bar's start (its `bar_time`), so two
captures of the same bar share one name and a repeat replaces the file instead of adding one.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from core.errors import InputError

EXCHANGE_TZ = ZoneInfo("America/New_York")
RAW_DIR = "raw"
# Characters a file name may not hold on Windows or POSIX; '!' of continuous futures is fine.
_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


def safe_symbol(symbol: str) -> str:
    s = _UNSAFE.sub("_", symbol.strip().upper()).strip("_")
    if not s:
        raise InputError("symbol", "must not be empty")
    return s


def _et(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise InputError("timestamp", "must be timezone-aware (UTC)")
    return ts.astimezone(EXCHANGE_TZ)


def capture_name(symbol: str, snapshot_type: str, ts: datetime) -> str:
    et = _et(ts)
    return f"{safe_symbol(symbol)}_{snapshot_type}_{et:%Y%m%d}_{et:%H%M%S}.png"


def session_candle_name(symbol: str, session_date: date, interval_minutes: int, bar_time: datetime) -> str:
    if interval_minutes <= 0:
        raise InputError("interval_minutes", "must be positive")
    return f"{safe_symbol(symbol)}_session_{session_date:%Y%m%d}_{interval_minutes}m_{_et(bar_time):%H%M}.png"


def raw_dir(data_dir: Path) -> Path:
    return Path(data_dir) / RAW_DIR


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_from_ns(ns: int) -> datetime:
    """UTC datetime truncated to whole microseconds (the store's timestamp precision)."""
    return _EPOCH + timedelta(microseconds=int(ns) // 1000)
