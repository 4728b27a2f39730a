"""Write a captured PNG under the data dir with the seed's name and record its `snapshots` row.

The one place every capture path ends (screen, region, kernel chart, TradingView, and the app's
own widget grab, which calls `save_png` with the bytes Qt produced)."""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path

from core.capture.naming import capture_name, raw_dir, session_candle_name
from core.errors import InputError
from core.store.snapshots import SnapshotRecord, SnapshotsRepo

log = logging.getLogger(__name__)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SOURCES = ("screen", "region", "chart", "tradingview", "app")


@dataclass(frozen=True, slots=True)
class CaptureResult:
    """A stored capture: where the file is, its snapshots row, and how long the grab took."""

    snapshot_id: int
    symbol: str
    snapshot_type: str
    source: str            # screen | region | chart | tradingview | app
    path: str
    timestamp: datetime    # UTC, when the pixels were taken
    width: int
    height: int
    grab_ms: float         # producing the pixels (excludes writing the file and the row)

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        d["timestamp"] = self.timestamp.isoformat()
        return d


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from the IHDR chunk; InputError when the bytes are not a PNG."""
    if len(png) < 24 or not png.startswith(PNG_MAGIC) or png[12:16] != b"IHDR":
        raise InputError("image", "not PNG data")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def save_png(
    repo: SnapshotsRepo,
    data_dir: Path,
    png: bytes,
    *,
    symbol: str,
    snapshot_type: str,
    timestamp: datetime,
    source: str,
    grab_ms: float = 0.0,
    session_date: date | None = None,
    interval_minutes: int | None = None,
    bar_time: datetime | None = None,
) -> CaptureResult:
    """Store PNG bytes as `raw/<seed name>` and add the snapshots row.

    A session candle (snapshot_type 'session_candle') needs session_date, interval_minutes and
    bar_time and gets the session-candle name; every other type gets `{symbol}_{type}_{date}_{HHMMSS}`."""
    if source not in SOURCES:
        raise InputError("source", f"must be one of {', '.join(SOURCES)}")
    width, height = png_size(png)
    if snapshot_type == "session_candle":
        if session_date is None or interval_minutes is None or bar_time is None:
            raise InputError("bar_time", "a session candle needs session_date, interval_minutes and bar_time")
        name = session_candle_name(symbol, session_date, interval_minutes, bar_time)
    else:
        name = capture_name(symbol, snapshot_type, timestamp)
    path = raw_dir(data_dir) / name
    if snapshot_type != "session_candle":
        # Two grabs in one second: keep both (the second gets _2, _3 …) rather than overwrite.
        n = 2
        while path.exists():
            path = path.with_name(f"{name[:-4]}_{n}.png")
            n += 1
    _write_atomic(path, png)
    try:
        rec: SnapshotRecord = repo.add(symbol=symbol, snapshot_type=snapshot_type, timestamp=timestamp,
                                       image_path=str(path), session_date=session_date,
                                       interval_minutes=interval_minutes, bar_time=bar_time)
    except Exception:
        # No row, no file: an orphan image would be mistaken for a capture later.
        log.exception("snapshot row for %s failed; removing the image", path)
        path.unlink(missing_ok=True)
        raise
    return CaptureResult(rec.id, rec.symbol, snapshot_type, source, str(path), rec.timestamp, width, height,
                         round(grab_ms, 2))
