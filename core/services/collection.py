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
        self._market, self._rt, self._jobs, self._store = market, runtime, jobs, store
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

    async def session_candles(self, symbol: str, session: date, interval: str = "15m", *,
                              owner: str = "local") -> JobInfo:
        """A past session's candles as a job: the chart rendered as it stood at each bar close of
        that session (only the bars known by then), stored as `session_candle` snapshots."""
        from datetime import UTC, datetime

        from core.market.calendar import calendar_for
        from core.market.intervals import parse_interval

        sym = (symbol or "").strip().upper()
        if not sym:
            raise InputError("symbol", "is required")
        iv = parse_interval(interval)
        cal = calendar_for(sym)
        if not cal.is_session(session):
            raise InputError("session_date", f"{session} is not a trading session of {sym}")
        open_ns, close_ns = cal.rth_bounds_ns(cal.index_of(session))
        history = await self._market.history(sym, iv, end_ns=close_ns)
        closes = [int(t) + iv.ns for t in history.ts if open_ns <= int(t) and int(t) + iv.ns <= close_ns]
        if not closes:
            raise InputError("session_date", f"no {iv.name} bars of {sym} on {session}")

        def run(ctx: JobContext) -> dict[str, object]:
            ids: list[int] = []
            for i, close in enumerate(closes):
                ctx.check()
                known = history.between(None, close - 1)  # bars that had closed by then
                when = datetime.fromtimestamp(close / 1e9, UTC)
                res = self.capture.chart_from_bars(sym, known, snapshot_type="session_candle", timestamp=when,
                                                   session_date=session, interval_minutes=iv.minutes,
                                                   bar_time=when)
                ids.append(res.snapshot_id)
                ctx.progress((i + 1) / len(closes), f"{sym} {session} {iv.name}: {i + 1}/{len(closes)} captures")
            return {"symbol": sym, "session_date": session.isoformat(), "interval": iv.name, "snapshots": ids}

        async def runner(ctx: JobContext) -> dict[str, object]:
            return await self._rt.run_io(run, ctx)

        return await self._jobs.submit("session_candles", runner, owner=owner,
                                       params={"symbol": sym, "session_date": session.isoformat(),
                                               "interval": iv.name})

    async def process_training_data(self, symbols: list[str] | None = None, *, owner: str = "local") -> JobInfo:
        """Captures → training samples as a job: features from what was known at each capture, labels
        from the session's minute bars after it (core/collection/labels.py)."""
        from core.collection.labels import samples_from_snapshots, save_capture_samples
        from core.store.samples import TrainingSamplesRepo

        names = [s.strip().upper() for s in (symbols or list(self.scheduler.config.symbols)) if s.strip()]
        store = self._store

        def run(ctx: JobContext) -> dict[str, object]:
            made: dict[str, int] = {}
            for i, sym in enumerate(names):
                ctx.check()
                samples = samples_from_snapshots(store, sym)
                made[sym] = save_capture_samples(TrainingSamplesRepo(store), samples)
                ctx.progress((i + 1) / len(names), f"{sym}: {made[sym]} samples")
            return {"samples": made}

        async def runner(ctx: JobContext) -> dict[str, object]:
            return await self._rt.run_io(run, ctx)

        return await self._jobs.submit("training_data", runner, owner=owner, params={"symbols": names})

    async def stop(self) -> JobInfo | None:
        running = self._jobs.running(COLLECT_KIND)
        if not running:
            return None
        info = await self._jobs.cancel(running[0])
        await asyncio.sleep(0)
        return info
