"""Capture now: one object the kernel holds, with a method per source. Each grabs the pixels,
stores the PNG under `<data dir>/raw/` with the seed's name and adds the `snapshots` row.

Blocking methods (screen, region, tradingview) belong in a worker thread; `chart` is async because
it asks the feed for bars. Timestamps come from the injected clock, so replay captures carry the
replayed time."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from pathlib import Path

from core.capture.chart import BarsSource, chart_png
from core.capture.naming import utc_from_ns
from core.capture.region import Region, load_region, save_region
from core.capture.screen import grab_png
from core.capture.store import CaptureResult, save_png
from core.capture.tradingview import TradingViewConfig, capture_tradingview_png
from core.clock import Clock, LiveClock
from core.errors import InputError
from core.market.bars import Bars
from core.market.intervals import parse_interval
from core.store.engine import Store
from core.store.snapshots import SnapshotsRepo

MANUAL = "manual"


class CaptureService:
    def __init__(self, store: Store, data_dir: Path, *, clock: Clock | None = None,
                 bars: BarsSource | None = None, tradingview: TradingViewConfig | None = None) -> None:
        self.repo = SnapshotsRepo(store)
        self.data_dir = Path(data_dir)
        self.clock = clock or LiveClock()
        self.bars = bars
        self._tv = tradingview

    def _now(self) -> datetime:
        return utc_from_ns(self.clock.now_ns())

    # -- region persistence (the app's drag-a-rectangle) -------------------------------------------
    def saved_region(self) -> Region | None:
        return load_region(self.data_dir)

    def save_region(self, region: Region) -> Path:
        return save_region(self.data_dir, region)

    # -- sources ---------------------------------------------------------------------------------
    def screen(self, symbol: str, *, monitor: int | None = None, snapshot_type: str = MANUAL) -> CaptureResult:
        """All monitors (monitor=None) or one (1-based)."""
        ts = self._now()
        png, ms = grab_png(monitor=monitor)
        return save_png(self.repo, self.data_dir, png, symbol=symbol, snapshot_type=snapshot_type, timestamp=ts,
                        source="screen", grab_ms=ms)

    def region(self, symbol: str, *, region: Region | None = None, snapshot_type: str = MANUAL) -> CaptureResult:
        """The given region, else the saved one (InputError when none was saved)."""
        region = region or self.saved_region()
        if region is None:
            raise InputError("region", "no capture region saved; drag one in the app or pass one")
        ts = self._now()
        png, ms = grab_png(region=region)
        return save_png(self.repo, self.data_dir, png, symbol=symbol, snapshot_type=snapshot_type, timestamp=ts,
                        source="region", grab_ms=ms)

    def chart_from_bars(self, symbol: str, bars: Bars, *, snapshot_type: str = MANUAL,
                        timestamp: datetime | None = None, session_date: date | None = None,
                        interval_minutes: int | None = None, bar_time: datetime | None = None) -> CaptureResult:
        """The canonical render of `bars` (the chart as it stood: pass only bars known by then)."""
        png, ms = chart_png(bars)
        return save_png(self.repo, self.data_dir, png, symbol=symbol, snapshot_type=snapshot_type,
                        timestamp=timestamp or self._now(), source="chart", grab_ms=ms,
                        session_date=session_date, interval_minutes=interval_minutes, bar_time=bar_time)

    async def chart(self, symbol: str, interval: str = "5m", *, snapshot_type: str = MANUAL,
                    session_date: date | None = None, bar_time: datetime | None = None) -> CaptureResult:
        """The kernel's chart of symbol/interval now, from the bars source (closed bars only)."""
        if self.bars is None:
            raise InputError("bars", "no bars source attached to the capture service")
        iv = parse_interval(interval)
        now_ns = self.clock.now_ns()
        bars = await self.bars.history(symbol.upper(), iv, end_ns=now_ns - iv.ns + 1)
        if not len(bars):
            raise InputError("symbol", f"no {iv} bars for {symbol} before {utc_from_ns(now_ns).isoformat()}")
        return await asyncio.to_thread(
            self.chart_from_bars, symbol, bars, snapshot_type=snapshot_type, timestamp=utc_from_ns(now_ns),
            session_date=session_date, interval_minutes=iv.minutes if snapshot_type == "session_candle" else None,
            bar_time=bar_time)

    def tradingview(self, symbol: str, interval: str = "15m", *, snapshot_type: str = MANUAL) -> CaptureResult:
        """Headless Chromium capture of TradingView's chart (signing in when credentials are set;
        a failed sign-in raises LoginFailed with the reason)."""
        cfg = self._tv or TradingViewConfig.from_env()
        ts = self._now()
        png, ms, _ = capture_tradingview_png(cfg, symbol, interval)
        return save_png(self.repo, self.data_dir, png, symbol=symbol, snapshot_type=snapshot_type, timestamp=ts,
                        source="tradingview", grab_ms=ms)

    def save_app_png(self, png: bytes, symbol: str, *, snapshot_type: str = MANUAL,
                     timestamp: datetime | None = None) -> CaptureResult:
        """The app's own chart widget grab (Qt renders it; the kernel names and stores it)."""
        return save_png(self.repo, self.data_dir, png, symbol=symbol, snapshot_type=snapshot_type,
                        timestamp=timestamp or self._now(), source="app")
