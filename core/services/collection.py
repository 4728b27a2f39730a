"""Capture and scheduled collection as kernel services: "capture now" (screen, region, the app's
chart, TradingView) and the exchange-calendar scheduler, each run as a job. The window's button,
`python -m app capture|collect` and `/api/v1/collection/*` call these."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from pathlib import Path

from core.capture.service import CaptureResult, CaptureService
from core.collection.plan import PlannedRun
from core.collection.scheduler import CollectionConfig, Scheduler, ScheduleSnapshot, chart_capture
from core.errors import InputError
from core.jobs import JobContext, JobInfo, JobManager
from core.runtime import KernelRuntime
from core.services.market import MarketService
from core.store.engine import Store

log = logging.getLogger(__name__)

CAPTURE_KINDS = ("screen", "region", "chart", "tradingview")
COLLECT_KIND = "collection"


class CollectionService:
    def __init__(self, market: MarketService, store: Store, runtime: KernelRuntime, jobs: JobManager,
                 data_dir: Path, config: CollectionConfig | None = None) -> None:
        self._market, self._rt, self._jobs = market, runtime, jobs
        self.capture = CaptureService(store, data_dir, clock=market.clock, bars=market)
        self.scheduler = Scheduler(clock=market.clock, bars=market, store=store, data_dir=data_dir,
                                   capture=chart_capture(self.capture), config=config or CollectionConfig())

    async def capture_now(self, kind: str, symbol: str, interval: str = "5m") -> CaptureResult:
        """One capture, stored with a `snapshots` row (the chart is drawn from the kernel's bars)."""
        if kind not in CAPTURE_KINDS:
            raise InputError("kind", f"must be one of {', '.join(CAPTURE_KINDS)}")
        sym = (symbol or "").strip().upper()
        if not sym:
            raise InputError("symbol", "is required")
        if kind == "chart":
            return await self.capture.chart(sym, interval)
        if kind == "screen":
            return await self._rt.run_io(lambda: self.capture.screen(sym))
        if kind == "region":
            return await self._rt.run_io(lambda: self.capture.region(sym))
        return await self._rt.run_io(lambda: self.capture.tradingview(sym, interval))

    def schedule(self, start: date, end: date) -> list[PlannedRun]:
        """The planned runs between two days — the same plan the running scheduler follows."""
        if end < start:
            raise InputError("to", "must not be before --from")
        return self.scheduler.plan(start, end)

    def snapshot(self) -> ScheduleSnapshot:
        return self.scheduler.snapshot()

    async def start(self, *, owner: str = "local") -> JobInfo:
        """Run the scheduler as a job until cancelled (one at a time)."""
        async def runner(ctx: JobContext) -> dict[str, object]:
            summary = await self.scheduler.run(progress=ctx.progress, cancelled=lambda: ctx.cancelled)
            return {"counts": summary.counts, "cancelled": summary.cancelled}

        return await self._jobs.submit(COLLECT_KIND, runner, owner=owner, exclusive=True)

    async def stop(self) -> JobInfo | None:
        running = self._jobs.running(COLLECT_KIND)
        if not running:
            return None
        info = await self._jobs.cancel(running[0])
        await asyncio.sleep(0)
        return info
